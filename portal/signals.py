"""Sign-ins and sign-outs are admin actions too, and so is every change a portal operator makes in the Django admin:
they go in the audit log."""

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from .audit import record
from .models import Organisation

ADMIN_ACTIONS = {ADDITION: "admin.added", CHANGE: "admin.changed", DELETION: "admin.deleted"}


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record("auth.login", actor=user, organisation=user.organisation)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record("auth.logout", actor=user, organisation=user.organisation)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    record("auth.login_failed", actor=None, attempted_email=str(credentials.get("username", ""))[:254])


@receiver(post_save, sender=LogEntry)
def _django_admin_change(sender, instance: LogEntry, created: bool, **kwargs):
    """The Django admin writes a LogEntry for each addition, change and deletion; mirror it into our audit log, with
    the organisation the object belongs to where it names one, so the customer's own audit page shows it too."""
    if not created:
        return
    target = instance.get_edited_object() if instance.action_flag != DELETION else None
    organisation = target if isinstance(target, Organisation) else getattr(target, "organisation", None)
    if organisation is None and target is not None and hasattr(target, "location"):
        organisation = getattr(target.location, "organisation", None)
    record(
        ADMIN_ACTIONS.get(instance.action_flag, "admin.changed"),
        actor=instance.user,
        organisation=organisation if isinstance(organisation, Organisation) else None,
        model=instance.content_type.model_class()._meta.label if instance.content_type else "",
        object_id=str(instance.object_id or ""),
        object=instance.object_repr,
        change=instance.get_change_message(),
    )
