"""Abuse controls (SPEC.md 5): Cisco PSTN support suspends texting for one number or a whole organisation, with a
reason the customer sees, and lifts the suspension again. While suspended, the sending policy refuses with
`suspended_by_cisco`, texts already accepted are not handed to the carrier, and no automatic reply goes out."""

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.models import Organisation, User
from provisioning.models import PhoneNumber
from provisioning.phone import display_tn

from ..models import Suspension
from .opt_outs import clean_reason
from .refusals import TextingError


def _check_support(by: User) -> None:
    if not by.is_support:
        raise TextingError(_("Only Cisco PSTN support staff can suspend texting or lift a suspension."))


def suspend_texting(by: User, org: Organisation, reason, *, number: PhoneNumber | None = None) -> Suspension:
    """Support suspends texting for `org` as a whole, or only for its `number`: from the next text on, the policy
    refuses with `suspended_by_cisco` and the reason. Refuses (TextingError, nothing changes) anyone but support
    staff, a missing or too long reason, a number of another organisation, and what is already suspended. Audited.
    """
    _check_support(by)
    reason = clean_reason(reason, _("Say why texting is suspended: the customer sees the reason."))
    if number is not None and number.location.organisation_id != org.pk:
        raise TextingError(_("That number is not one of %(org)s's numbers.") % {"org": org.name})
    active = Suspension.objects.filter(organisation=org, lifted_at__isnull=True)
    active = active.filter(number=number) if number is not None else active.filter(number__isnull=True)
    what = display_tn(number.e164) if number is not None else org.name
    already = _("Texting is already suspended for %(what)s.") % {"what": what}
    try:
        with transaction.atomic():
            if active.exists():
                raise TextingError(already)
            suspension = Suspension.objects.create(
                organisation=org, number=number, reason=reason, suspended_by=by, suspended_at=timezone.now()
            )
            audit.record(
                "texting.suspended",
                actor=by,
                organisation=org,
                target=suspension,
                number=number.e164 if number is not None else "",
                reason=reason,
            )
    except IntegrityError:
        raise TextingError(already) from None  # another support engineer suspended it at the same moment
    return suspension


def lift_suspension(by: User, suspension_id: int, reason) -> Suspension:
    """Support lifts a suspension, saying why: texting is allowed again from the next text on (unless another
    suspension still applies). The row is kept. Lifting one already lifted is refused (TextingError). Audited."""
    _check_support(by)
    reason = clean_reason(reason, _("Say why the suspension is lifted."))
    with transaction.atomic():
        suspension = (
            Suspension.objects.select_for_update(of=("self",))
            .select_related("organisation", "number")
            .get(pk=suspension_id)
        )
        if not suspension.is_active:
            raise TextingError(_("This suspension was already lifted."))
        suspension.lifted_at, suspension.lifted_by, suspension.lift_reason = timezone.now(), by, reason
        suspension.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
        audit.record(
            "texting.suspension_lifted",
            actor=by,
            organisation=suspension.organisation,
            target=suspension,
            number=suspension.number.e164 if suspension.number_id else "",
            reason=reason,
        )
    return suspension


def active_suspension(organisation_id: int, e164: str) -> Suspension | None:
    """The suspension that stops texts from `e164` of the organisation now (the organisation's first), or None."""
    return (
        Suspension.objects.filter(organisation_id=organisation_id, lifted_at__isnull=True)
        .filter(Q(number__isnull=True) | Q(number__e164=e164))
        .order_by(F("number_id").asc(nulls_first=True), "id")
        .first()
    )
