"""What full administrators do to their organisation's users. Each action checks who may do it, changes state in one
transaction and writes its audit event."""

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
