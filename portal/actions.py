"""What full administrators do to their organisation's users. Each action checks who may do it, changes state in one
transaction and writes its audit event."""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .models import User
from .transitions import ActionRefused


class UserChangeRefused(ActionRefused):
    """A change to a user that cannot be made as asked."""


def set_compliance_officer(admin: User, subject: User, grant: bool) -> User:
    """Grant (or revoke) the compliance officer role of `subject`, a user of `admin`'s organisation. Only a full
    administrator of that organisation may; granting a role the user already has (or revoking one they lack) is
    refused with nothing changed."""
    if not admin.can_manage or admin.organisation_id is None or subject.organisation_id != admin.organisation_id:
        raise UserChangeRefused(_("Only full administrators of this organisation can change its users' roles."))
    with transaction.atomic():
        subject = User.objects.select_for_update().get(pk=subject.pk)
        if subject.is_compliance_officer == grant:
            raise UserChangeRefused(
                _("%(user)s is already a compliance officer.") % {"user": subject.email}
                if grant
                else _("%(user)s is not a compliance officer.") % {"user": subject.email}
            )
        subject.is_compliance_officer = grant
        subject.save(update_fields=["is_compliance_officer"])
        audit.record(
            "user.compliance_officer_granted" if grant else "user.compliance_officer_revoked",
            actor=admin,
            organisation=subject.organisation,
            target=subject,
        )
    return subject


def language_codes() -> list[str]:
    """The codes a user may choose: settings.LANGUAGES (English, the source, and each complete catalogue)."""
    return [code for code, _name in settings.LANGUAGES]


def set_language(user: User, code: str) -> User:
    """Remember `code` as `user`'s language. A code that is not one of settings.LANGUAGES is refused with nothing
    saved. Any signed-in user may choose their own language; the change
    is audited with the language before and after."""
    if code not in language_codes():
        raise UserChangeRefused(_("Choose one of the languages offered."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        previous = user.language
        if previous == code:
            return user
        user.language = code
        user.save(update_fields=["language"])
        audit.record(
            "user.language_changed",
            actor=user,
            organisation=user.organisation,
            target=user,
            previous=previous,
            language=code,
        )
    return user
