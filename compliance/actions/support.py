"""Support's own bookkeeping of a case: who owns it (`assign_case_owner`). The unread mark is in `unread`."""

from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.models import User

from .. import stored_texts
from ..models import CaseEvent, RegistrationCase
from .cases import CaseRefused, _require_support, _timeline


def assign_case_owner(case: RegistrationCase, by: User, owner: User | None) -> RegistrationCase:
    """Make `owner` (a Cisco PSTN support user) the owner of `case`, or unassign it when `owner` is None.

    Only support staff may do it, and only a support user may own a case: anything else is refused and nothing
    changes. Assigning the owner the case already has changes nothing and records nothing. The change, its audit
    event and an internal note (never shown to the customer) land in one transaction. Reading the case is acting on
    it: the unread mark is cleared too."""
    _require_support(by)
    if owner is not None and (not owner.is_support or not owner.is_active):
        raise CaseRefused(
            _("%(name)s is not Cisco PSTN support staff: only support staff can own a case.") % {"name": _name(owner)}
        )
    with transaction.atomic():
        locked = RegistrationCase.objects.select_for_update(of=("self",)).select_related("owner").get(pk=case.pk)
        previous = locked.owner
        if (previous.pk if previous else None) == (owner.pk if owner else None):
            return locked
        locked.owner = owner
        locked.unread_by_support = False
        locked.save(update_fields=["owner", "unread_by_support"])
        if owner is None:
            text = stored_texts.store(stored_texts.UNASSIGNED, previous=_stored_name(previous))
        elif owner.pk == by.pk:
            text = stored_texts.store(stored_texts.TOOK_CASE, owner=_stored_name(owner))
        else:
            text = stored_texts.store(stored_texts.ASSIGNED_TO, owner=_stored_name(owner))
        _timeline(locked, CaseEvent.Kind.INTERNAL_NOTE, by, text)
        audit.record(
            "registration_case.owner_changed",
            actor=by,
            organisation=locked.organisation,
            target=locked,
            owner=owner.email if owner else "",
            previous_owner=previous.email if previous else "",
        )
    case.owner, case.unread_by_support = locked.owner, False
    return locked


def _stored_name(user: User | None) -> str:
    """A name for a stored timeline text: nobody is said in English there (translated when shown)."""
    return _name(user) if user is not None else stored_texts.store(stored_texts.NOBODY)


def _name(user: User | None) -> str:
    return (user.full_name or user.email) if user is not None else _("nobody")
