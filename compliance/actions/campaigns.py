"""A campaign's life after registration (SPEC.md 8): each operator's decision, and the events that stop and restart
its numbers — an operator suspends it (spam complaints, dormancy), the registry suspends or expires it, a suspension
is lifted.

The carrier tells the portal by callback and by poll; both call `apply_campaign_answer`, which compares the answer
with what is stored and applies only the differences, under the campaign's row lock. A duplicate callback, or a
callback racing a poll, therefore changes nothing twice, writes one audit event per change, opens one support to-do
and sends one e-mail. Stopping the numbers needs no change to them: the sending policy asks `Campaign.is_usable` for
every text (texting.policy), so a suspended campaign's numbers are refused with `campaign_suspended` at once and send
again as soon as it is lifted.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from carrier import RegistrationStatus
from portal import audit
from portal.models import User
from portal.transitions import ActionRefused, transition

from .. import stored_texts
from ..models import Campaign, CampaignCarrierStatus, Carrier, RegistrationCase, SupportTodo

log = logging.getLogger(__name__)

CarrierState = CampaignCarrierStatus.Status

# The carrier's operator codes and statuses, in ours. MNO_ prefixes (TCR's own words) are accepted too.
CARRIERS = {
    "ATT": Carrier.ATT,
    "TMOBILE": Carrier.TMOBILE,
    "VERIZON": Carrier.VERIZON,
    "USCELLULAR": Carrier.US_CELLULAR,
}
CARRIER_STATES = {
    "PENDING": CarrierState.PENDING,
    "ACCEPTED": CarrierState.ACCEPTED,
    "PROVISIONED": CarrierState.ACCEPTED,
    "REJECTED": CarrierState.REJECTED,
    "SUSPENDED": CarrierState.SUSPENDED,
}
# The registry's lifecycle statuses of an accepted campaign (its first decision is the case flow's).
REGISTRY_EVENTS = {
    "ACTIVE": Campaign.Status.ACTIVE,
    "SUSPENDED": Campaign.Status.SUSPENDED,
    "EXPIRED": Campaign.Status.EXPIRED,
}
REGISTRY = ""  # the `carrier` of an event that the registry itself raised


class TodoRefused(ActionRefused):
    """A support to-do cannot be changed as asked."""


def apply_campaign_answer(status: RegistrationStatus) -> bool:
    """Apply what the carrier says about a campaign the portal knows (by registry id): the operators' statuses, and a
    suspension, its lifting or an expiry at the registry. True if anything changed.

    Idempotent and safe to call with any answer: an unknown campaign, an operator or status the portal does not know,
    or a registry status that is not a lifecycle event of an accepted campaign (pending, rejected: the case flow's)
    changes nothing. Each change is audited; a suspension or expiry opens a support to-do; every suspension, expiry
    or resumption e-mails the organisation's contacts once, after commit.
    """
    if not status.registry_id:
        return False
    events = []  # (kind, carrier or REGISTRY, reason): what the organisation's contacts are told
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(of=("self",))
            .select_related("organisation", "brand")
            .filter(registry_id=status.registry_id)
            .first()
        )
        if campaign is None:
            return False
        events += _apply_registry_status(campaign, status)
        events += _apply_carrier_statuses(campaign, status)
        if not events:
            return False
        for kind, carrier, reason in events:
            if kind in ("suspended", "expired"):
                _open_todo(campaign, kind, carrier, reason)
            elif kind == "resumed":
                _note_resumed(campaign, carrier)
        notifiable = [event for event in events if event[0] in ("suspended", "expired", "resumed")]
        if notifiable:
            campaign_id = campaign.pk
            transaction.on_commit(lambda: notify_campaign_contacts(campaign_id, notifiable), robust=True)
    return True


def _apply_registry_status(campaign: Campaign, status: RegistrationStatus) -> list:
    target = REGISTRY_EVENTS.get(status.status.upper())
    if target is None or campaign.status not in Campaign.EVENT_TRANSITIONS or target == campaign.status:
        return []
    if target not in Campaign.EVENT_TRANSITIONS[campaign.status]:
        return []
    now = timezone.now()
    reason = status.reason[:500] if target != Campaign.Status.ACTIVE else ""
    _, left = transition(
        Campaign.objects,
        campaign.pk,
        target,
        table=Campaign.EVENT_TRANSITIONS,
        changes={"reason": reason, "status_changed": now},
    )
    campaign.status, campaign.reason, campaign.status_changed = target, reason, now
    kind = {Campaign.Status.SUSPENDED: "suspended", Campaign.Status.EXPIRED: "expired"}.get(target, "resumed")
    audit.record(
        f"campaign.{kind}",
        actor=None,
        organisation=campaign.organisation,
        target=campaign,
        by="registry",
        previous=left,
        status=target,
        reason=reason,
    )
    return [(kind, REGISTRY, reason)]


def _apply_carrier_statuses(campaign: Campaign, status: RegistrationStatus) -> list:
    """Each operator's status, as the carrier reports it; returns the suspensions and resumptions among them."""
    if campaign.status not in (Campaign.Status.ACTIVE, Campaign.Status.SUSPENDED):
        return []  # before acceptance the operators have not seen it; after expiry nothing more happens
    stored = {row.carrier: row for row in CampaignCarrierStatus.objects.filter(campaign=campaign)}
    events, now = [], timezone.now()
    for decision in status.carriers:
        carrier = CARRIERS.get(decision.carrier.upper())
        state = CARRIER_STATES.get(decision.status.upper().removeprefix("MNO_"))
        if carrier is None or state is None:
            log.info("Campaign %s: ignoring operator status %r of %r", campaign.registry_id, decision.status, carrier)
            continue
        reason = decision.reason[:500] if state in (CarrierState.REJECTED, CarrierState.SUSPENDED) else ""
        row = stored.get(carrier)
        if row is not None and row.status == state and row.reason == reason:
            continue
        previous = row.status if row is not None else ""
        if row is None:
            row = CampaignCarrierStatus(campaign=campaign, carrier=carrier)
        row.status, row.reason, row.changed_at = state, reason, now
        row.save()
        if state == CarrierState.SUSPENDED:
            kind = "suspended"
        elif previous == CarrierState.SUSPENDED and state == CarrierState.ACCEPTED:
            kind = "resumed"
        else:
            kind = "operator_status"
        audit.record(
            f"campaign.{kind}",
            actor=None,
            organisation=campaign.organisation,
            target=campaign,
            by=carrier,
            carrier=Carrier(carrier).label,
            previous=previous,
            status=state,
            reason=reason,
        )
        events.append((kind, carrier, reason))
    return events


def _who(carrier: str) -> str:
    return Carrier(carrier).label if carrier else str(_("The Campaign Registry"))


def _open_todo(campaign: Campaign, kind: str, carrier: str, reason: str) -> None:
    """One open to-do per campaign, event kind and operator: a second event of the same kind adds nothing."""
    todo_kind = SupportTodo.Kind.CAMPAIGN_EXPIRED if kind == "expired" else SupportTodo.Kind.CAMPAIGN_SUSPENDED
    if SupportTodo.objects.filter(campaign=campaign, kind=todo_kind, carrier=carrier, done_at__isnull=True).exists():
        return
    if kind == "expired":
        template = stored_texts.TODO_EXPIRED_REASON if reason else stored_texts.TODO_EXPIRED
    else:
        template = stored_texts.TODO_SUSPENDED_REASON if reason else stored_texts.TODO_SUSPENDED
    # Stored in English and translated when shown (compliance.stored_texts).
    text = stored_texts.store(
        template,
        who=Carrier(carrier).label if carrier else stored_texts.store(stored_texts.REGISTRY),
        campaign=campaign.registry_id,
        organisation=campaign.organisation.name,
        reason=reason,
    )
    SupportTodo.objects.create(
        organisation=campaign.organisation, campaign=campaign, kind=todo_kind, carrier=carrier, text=text[:500]
    )


def _note_resumed(campaign: Campaign, carrier: str) -> None:
    """The suspension is lifted: say so on the open to-do it opened (support still closes it)."""
    SupportTodo.objects.filter(
        campaign=campaign,
        kind=SupportTodo.Kind.CAMPAIGN_SUSPENDED,
        carrier=carrier,
        done_at__isnull=True,
        resumed_at__isnull=True,
    ).update(resumed_at=timezone.now())


def mark_todo_done(todo: SupportTodo, by: User) -> SupportTodo:
    """Support closes a to-do (audited). Refused for anyone but support, and for a to-do already done."""
    if by is None or not by.is_support:
        raise TodoRefused(_("Only Cisco PSTN support staff can do this."))
    with transaction.atomic():
        locked = SupportTodo.objects.select_for_update().get(pk=todo.pk)
        if locked.done_at is not None:
            raise TodoRefused(_("This to-do was already marked done."))
        locked.done_at, locked.done_by = timezone.now(), by
        locked.save(update_fields=["done_at", "done_by"])
        audit.record(
            "support_todo.done",
            actor=by,
            organisation=locked.organisation,
            target=locked,
            kind=locked.kind,
            campaign=locked.campaign.registry_id if locked.campaign else "",
        )
    return locked


# --- e-mail -------------------------------------------------------------------------------------------------------


def campaign_contacts(campaign: Campaign) -> list[str]:
    """Who hears about a campaign event: the organisation's active full administrators, and the contact of each of
    its open cases; each address once."""
    admins = User.objects.filter(
        organisation=campaign.organisation, role=User.Role.FULL_ADMIN, is_active=True
    ).values_list("email", flat=True)
    contacts = RegistrationCase.objects.filter(
        organisation=campaign.organisation, state__in=RegistrationCase.OPEN_STATES
    ).values_list("contact_email", flat=True)
    return sorted({address.strip().lower() for address in [*admins, *contacts] if address and address.strip()})


def notify_campaign_contacts(campaign_id: int, events: list) -> bool:
    """E-mail the organisation's contacts what happened to the campaign (after commit: a mail failure is logged and
    never undoes the change). True if a mail was handed over."""
    campaign = Campaign.objects.select_related("organisation").filter(pk=campaign_id).first()
    if campaign is None:
        return False
    recipients = campaign_contacts(campaign)
    if not recipients:
        return False
    usable = Campaign.objects.prefetch_related("carrier_statuses").get(pk=campaign_id).is_usable
    lines = [
        {
            "suspended": _("%(who)s suspended the campaign: %(reason)s"),
            "expired": _("%(who)s expired the campaign: %(reason)s"),
            "resumed": _("%(who)s lifted its suspension."),
        }[kind]
        % {"who": _who(carrier), "reason": reason or _("no reason given")}
        for kind, carrier, reason in events
    ]
    if usable:
        subject = _("Your 10DLC campaign %(campaign)s can send again") % {"campaign": campaign.registry_id}
    else:
        subject = _("Action needed: your 10DLC campaign %(campaign)s cannot send") % {"campaign": campaign.registry_id}
    context = {
        "campaign": campaign,
        "lines": lines,
        "usable": usable,
        "url": settings.PORTAL_BASE_URL.rstrip("/") + reverse("compliance:cases"),
    }
    try:
        send_mail(
            subject,
            render_to_string("compliance/email/campaign_event.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    except Exception:  # noqa: BLE001 — any mail transport error; the campaign itself is already consistent
        log.exception("Could not email %s about campaign %s", recipients, campaign.registry_id)
        return False
    return True
