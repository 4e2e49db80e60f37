"""Sign-ins and sign-outs are admin actions too: they go in the audit log."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import record


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
