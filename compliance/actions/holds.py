"""What a compliance officer does to legal holds (SPEC.md 9): place one, change it, release it. Views, tests and
anything else call these functions; each runs in one transaction with its audit event.

Who may: a compliance officer of the hold's organisation (`User.is_compliance_officer`), nobody else, whatever
their role. What a hold keeps is decided by the purge (texting.retention), which reads the holds as they are in the
database: a change or a release applies from the next purge batch.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.models import Organisation, User
from portal.transitions import ActionRefused, transition
from provisioning.models import PhoneNumber

from ..models import LegalHold, LegalHoldNumber, LegalHoldUser


class HoldRefused(ActionRefused):
    """The hold cannot be placed, changed or released as asked; the message says why. Nothing was changed."""


def day_start(day: date | None) -> datetime | None:
    """Midnight UTC at the start of `day`: where a hold's range starts."""
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def day_after(day: date | None) -> datetime | None:
    """Midnight UTC after `day`: where a range whose last day is `day` ends (exclusive)."""
    return None if day is None else day_start(day + timedelta(days=1))


def _check_officer(org: Organisation, by: User) -> None:
    if not by.is_compliance_officer or by.organisation_id != org.pk:
        raise HoldRefused(_("Only compliance officers of this organisation can place, change or release legal holds."))


def _custodians(org: Organisation, user_ids: Iterable[int], number_ids: Iterable[int]):
    """The organisation's users and numbers with these ids; refused whole if any is not the organisation's (another
    organisation's id and an id that does not exist get the same words)."""
    user_ids, number_ids = sorted(set(user_ids)), sorted(set(number_ids))
    if not user_ids and not number_ids:
        raise HoldRefused(_("Choose at least one custodian: a user or a number whose texts the hold keeps."))
    users = list(
        User.objects.filter(pk__in=user_ids, organisation=org).exclude(role__in=[User.Role.SUPPORT, User.Role.OPERATOR])
    )
    if len(users) != len(user_ids):
        raise HoldRefused(_("Some chosen users are not users of your organisation. Reload the page and choose again."))
    numbers = list(PhoneNumber.objects.filter(pk__in=number_ids, location__organisation=org))
    if len(numbers) != len(number_ids):
        raise HoldRefused(
            _("Some chosen numbers are not numbers of your organisation. Reload the page and choose again.")
        )
    return users, numbers


def _check_range(held_from: datetime | None, held_until: datetime | None) -> None:
    if held_from is not None and held_until is not None and held_from >= held_until:
        raise HoldRefused(_("The hold's last day is before its first day."))


def _describe(hold: LegalHold, users, numbers) -> dict:
    return {
        "name": hold.name,
        "reference": hold.reference,
        "held_from": hold.held_from.isoformat() if hold.held_from else None,
        "held_until": hold.held_until.isoformat() if hold.held_until else None,
        "users": sorted(u.email for u in users),
        "numbers": sorted(n.e164 for n in numbers),
    }


def _set_custodians(hold: LegalHold, users, numbers) -> None:
    hold.custodian_users.all().delete()
    hold.custodian_numbers.all().delete()
    LegalHoldUser.objects.bulk_create([LegalHoldUser(hold=hold, user=u) for u in users])
    LegalHoldNumber.objects.bulk_create([LegalHoldNumber(hold=hold, number=n, e164=n.e164) for n in numbers])


def place_hold(
    org: Organisation,
    by: User,
    *,
    name: str,
    user_ids: Iterable[int] = (),
    number_ids: Iterable[int] = (),
    reference: str = "",
    description: str = "",
    held_from: datetime | None = None,
    held_until: datetime | None = None,
) -> LegalHold:
    """Place a legal hold on the texts of some of `org`'s users and numbers, optionally within [held_from,
    held_until). Guarantees: every custodian is the organisation's, or nothing is saved; the hold and its audit event
    land together. From its commit on, the purge keeps every text it matches."""
    _check_officer(org, by)
    users, numbers = _custodians(org, user_ids, number_ids)
    _check_range(held_from, held_until)
    with transaction.atomic():
        hold = LegalHold.objects.create(
            organisation=org,
            name=name.strip(),
            reference=reference.strip(),
            description=description.strip(),
            held_from=held_from,
            held_until=held_until,
            created_by=by,
        )
        _set_custodians(hold, users, numbers)
        audit.record("legal_hold.placed", actor=by, organisation=org, target=hold, **_describe(hold, users, numbers))
    return hold


def change_hold(
    hold: LegalHold,
    by: User,
    *,
    name: str,
    user_ids: Iterable[int] = (),
    number_ids: Iterable[int] = (),
    reference: str = "",
    description: str = "",
    held_from: datetime | None = None,
    held_until: datetime | None = None,
) -> LegalHold:
    """Change an active hold's matter, custodians or range (the custodians given replace the old ones). Refused for a
    released hold. The audit event records the hold before and after."""
    org = hold.organisation
    _check_officer(org, by)
    users, numbers = _custodians(org, user_ids, number_ids)
    _check_range(held_from, held_until)
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update(of=("self",)).get(pk=hold.pk)
        if not hold.is_active:
            raise HoldRefused(_("This hold was released: it can no longer be changed. Place a new hold instead."))
        before = _describe(hold, hold.users.all(), hold.numbers.all())
        hold.name, hold.reference, hold.description = name.strip(), reference.strip(), description.strip()
        hold.held_from, hold.held_until = held_from, held_until
        hold.changed = timezone.now()
        hold.save(update_fields=["name", "reference", "description", "held_from", "held_until", "changed"])
        _set_custodians(hold, users, numbers)
        audit.record(
            "legal_hold.changed",
            actor=by,
            organisation=org,
            target=hold,
            before=before,
            after=_describe(hold, users, numbers),
        )
    return hold


def release_hold(hold: LegalHold, by: User, *, note: str = "") -> LegalHold:
    """Release an active hold: its texts are kept only by the retention period again, so the next purge deletes the
    expired ones (unless another active hold matches them). Releasing twice is refused with a clear message."""
    _check_officer(hold.organisation, by)
    with transaction.atomic():
        hold, _was = transition(
            LegalHold.objects.all(),
            hold.pk,
            LegalHold.Status.RELEASED,
            table=LegalHold.TRANSITIONS,
            changes={"released_at": timezone.now(), "released_by": by, "release_note": note.strip()[:300]},
            refusal=lambda h: None if h.is_active else _("This hold was already released."),
            refused=HoldRefused,
        )
        audit.record(
            "legal_hold.released", actor=by, organisation=hold.organisation, target=hold, note=hold.release_note
        )
    return hold
