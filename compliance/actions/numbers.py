"""Numbers joining and leaving 10DLC campaigns (SPEC.md 8), and administrators de-authorising numbers.

A number's membership of a campaign is a `CampaignNumber`: *pending assignment* → *assigned*, or *assignment failed*
with the carrier's reason (retried on request) ; *pending removal* → *removed*. At most one membership per number is
current (the database's partial unique index). The carrier answers per number and takes about two hours, so every
request is sent by a Celery task after commit and the pending ones are polled (`poll_campaign_numbers`).

Guarantees of the actions here: one transaction each, an audit event with it, the carrier work enqueued on commit,
and a refusal (`NumbersRefused`, a sentence the administrator can act on) changes nothing. The carrier's answers are
applied idempotently (only rows still waiting for that answer change), one UPDATE per outcome, not per number.
"""

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from carrier import CampaignNumberStatus, CarrierGateway, CarrierRejected
from portal import audit
from portal.models import Organisation, User
from portal.transitions import ActionRefused
from provisioning.models import OrderLine, PhoneNumber
from provisioning.phone import display_tn

from .. import stored_texts
from ..models import Campaign, CampaignNumber, RegistrationCase
from ..models.brands import NUMBER_POOL_THRESHOLD

log = logging.getLogger(__name__)

Status = CampaignNumber.Status
TextingState = PhoneNumber.TextingState

# The moves a membership may make; every UPDATE below names the states it moves from, so a late or repeated answer
# (a poll racing a task, a redelivered task) finds nothing to move and changes nothing.
TRANSITIONS = {
    Status.PENDING_ASSIGNMENT: {Status.ASSIGNED, Status.FAILED_ASSIGNMENT, Status.PENDING_REMOVAL},
    Status.ASSIGNED: {Status.PENDING_REMOVAL},
    Status.FAILED_ASSIGNMENT: {Status.PENDING_ASSIGNMENT, Status.REMOVED},
    Status.PENDING_REMOVAL: {Status.REMOVED},
    Status.REMOVED: set(),
}
# The carrier takes at most this many numbers per request.
CARRIER_BATCH = 1000
# Why a number is leaving its campaign when an administrator de-authorised it: once removed it is not authorised.
DEAUTHORISING = stored_texts.NUMBER_LEAVING_TO_DEAUTHORISE.singular  # also marks who leaves to be de-authorised
# Shown numbers in a refusal: a few, then "and N more".
SHOWN = 5


class NumbersRefused(ActionRefused):
    """Numbers cannot join, leave or be de-authorised as asked; the message says why. Nothing was changed."""


# --- administrators and the case flow ------------------------------------------------------------------------------


def assign_numbers_to_campaign(
    campaign: Campaign, numbers: Iterable[PhoneNumber | int], *, by: User | None = None, case=None
) -> list[CampaignNumber]:
    """Ask for `numbers` to join `campaign`: each becomes *pending assignment* and a task asks the carrier.

    Refused, nothing saved: a number of another organisation (named like an unknown one), a number that is not
    authorised (or registered in no current campaign), a number already in a campaign (this or another, or still
    leaving one), a campaign that is not usable, and a campaign that would hold more than NUMBER_POOL_THRESHOLD
    numbers without the number-pool flag. No new brand and no new campaign are registered.
    """
    ids = _ids(numbers)
    _require_actor(campaign.organisation_id, by)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)  # one assignment at a time per campaign
            rows = _lock_numbers(campaign.organisation_id, ids)
            if campaign.status != Campaign.Status.ACTIVE or not campaign.is_usable:
                raise NumbersRefused(
                    _("Campaign %(campaign)s is %(status)s: numbers can join only an active campaign.")
                    % {"campaign": campaign, "status": campaign.get_status_display().lower()}
                )
            current = _current_memberships(ids)
            in_campaign = [r for r in rows if r.pk in current]
            if in_campaign:
                raise NumbersRefused(
                    _("%(numbers)s already in a campaign (%(campaign)s). A number is in one campaign at a time.")
                    % {
                        "numbers": _listed(in_campaign),
                        "campaign": ", ".join(sorted({str(current[r.pk].campaign) for r in in_campaign})),
                    }
                )
            unauthorised = [
                r for r in rows if r.texting_state not in (TextingState.AUTHORISED, TextingState.REGISTERED)
            ]
            if unauthorised:
                raise NumbersRefused(
                    _("%(numbers)s not authorised for Business Texting: authorise numbers before they join a campaign.")
                    % {"numbers": _listed(unauthorised)}
                )
            held = campaign.campaign_numbers.filter(
                status__in=(Status.PENDING_ASSIGNMENT, Status.ASSIGNED, Status.PENDING_REMOVAL)
            ).count()
            if held + len(rows) > NUMBER_POOL_THRESHOLD and not campaign.is_number_pool:
                raise NumbersRefused(
                    _(
                        "Campaign %(campaign)s would hold %(total)s numbers: a campaign with more than %(limit)s "
                        "numbers needs the number-pool flag (T-Mobile), so a %(next)s number needs the number-pool "
                        "flag first. Ask Cisco PSTN support to flag the campaign as a number pool."
                    )
                    % {
                        "campaign": campaign,
                        "total": held + len(rows),
                        "limit": NUMBER_POOL_THRESHOLD,
                        "next": _ordinal(NUMBER_POOL_THRESHOLD + 1),
                    }
                )
            now = timezone.now()
            created = CampaignNumber.objects.bulk_create(
                [
                    CampaignNumber(
                        campaign=campaign, number=r, status=Status.PENDING_ASSIGNMENT, changed_at=now, case=case
                    )
                    for r in rows
                ],
                batch_size=CARRIER_BATCH,
            )
            audit.record(
                "campaign.numbers_assignment_requested",
                actor=by,
                organisation=campaign.organisation,
                target=campaign,
                numbers=len(rows),
                sample=[r.e164 for r in rows[:SHOWN]],
                case=case.pk if case is not None else None,
            )
            _enqueue("send_campaign_numbers", campaign.pk)
    except IntegrityError:
        # Another request put one of these numbers in a campaign between our check and our insert.
        raise NumbersRefused(
            _("Some of these numbers were just added to a campaign by someone else. Reload and try again.")
        ) from None
    return created


def retry_assignment(campaign_numbers: Iterable[CampaignNumber | int], by: User) -> int:
    """Try the failed assignments again (the customer's full administrator, or support): each goes back to *pending
    assignment* and the carrier is asked again. Refused, nothing changed: one that has not failed, or another
    organisation's. Returns how many are retried."""
    ids = sorted({getattr(item, "pk", item) for item in campaign_numbers})
    if not ids:
        raise NumbersRefused(_("Choose at least one failed assignment to retry."))
    with transaction.atomic():
        rows = list(
            CampaignNumber.objects.select_for_update(of=("self",))
            .select_related("number", "campaign")
            .filter(pk__in=ids)
            .order_by("number__e164")
        )
        organisations = {r.campaign.organisation_id for r in rows}
        if len(rows) != len(ids) or len(organisations) != 1:
            raise NumbersRefused(_("Some of these assignments are not of your organisation. Reload and try again."))
        _require_actor(organisations.pop(), by, customer_or_support=True)
        not_failed = [r.number for r in rows if r.status != Status.FAILED_ASSIGNMENT]
        if not_failed:
            raise NumbersRefused(
                _("%(numbers)s not failed: only a failed assignment can be retried.") % {"numbers": _listed(not_failed)}
            )
        unauthorised = [
            r.number for r in rows if r.number.texting_state not in (TextingState.AUTHORISED, TextingState.REGISTERED)
        ]
        if unauthorised:
            raise NumbersRefused(
                _("%(numbers)s no longer authorised for Business Texting: authorise it again first.")
                % {"numbers": _listed(unauthorised)}
            )
        now = timezone.now()
        CampaignNumber.objects.filter(pk__in=ids, status=Status.FAILED_ASSIGNMENT).update(
            status=Status.PENDING_ASSIGNMENT, reason="", changed_at=now
        )
        by_campaign = defaultdict(list)
        for r in rows:
            by_campaign[r.campaign].append(r.number.e164)
        for campaign, e164s in by_campaign.items():
            audit.record(
                "campaign.numbers_assignment_retried",
                actor=by,
                organisation=campaign.organisation,
                target=campaign,
                numbers=len(e164s),
                sample=e164s[:SHOWN],
            )
            _enqueue("send_campaign_numbers", campaign.pk)
    return len(rows)


def remove_numbers_from_campaign(
    campaign: Campaign, numbers: Iterable[PhoneNumber | int], *, by: User | None = None, case=None
) -> int:
    """Ask for `numbers` to leave `campaign`: assigned (or still pending) ones become *pending removal* and a task
    asks the carrier; a failed assignment is simply *removed* (the carrier never held it). Refused, nothing changed:
    a number of another organisation, or one not in this campaign (or already leaving it)."""
    ids = _ids(numbers)
    _require_actor(campaign.organisation_id, by)
    with transaction.atomic():
        rows = _lock_numbers(campaign.organisation_id, ids)
        current = _current_memberships(ids)
        outside = [r for r in rows if r.pk not in current or current[r.pk].campaign_id != campaign.pk]
        if outside:
            raise NumbersRefused(
                _("%(numbers)s not in campaign %(campaign)s.") % {"numbers": _listed(outside), "campaign": campaign}
            )
        leaving = [r for r in rows if current[r.pk].status == Status.PENDING_REMOVAL]
        if leaving:
            raise NumbersRefused(
                _("%(numbers)s already leaving campaign %(campaign)s.")
                % {"numbers": _listed(leaving), "campaign": campaign}
            )
        _leave(campaign, [current[r.pk] for r in rows], case=case, reason="")
        audit.record(
            "campaign.numbers_removal_requested",
            actor=by,
            organisation=campaign.organisation,
            target=campaign,
            numbers=len(rows),
            sample=[r.e164 for r in rows[:SHOWN]],
            case=case.pk if case is not None else None,
        )
    return len(rows)


def deauthorise_numbers(org: Organisation, numbers: Iterable[PhoneNumber | int], *, by: User) -> dict[str, int]:
    """An administrator de-authorises numbers for Business Texting.

    A number in a campaign leaves it through the carrier first (*pending removal*) and becomes *not authorised* once
    the carrier removed it; a number in no campaign (or whose assignment failed) becomes *not authorised* now.
    Refused, nothing changed: a number of another organisation, one that is not authorised, and one in an open
    authorisation order (the carrier has not answered it yet). Returns counts: {"now": ..., "leaving": ...}.
    """
    ids = _ids(numbers)
    _require_actor(org.pk, by, customer_or_support=True)
    with transaction.atomic():
        rows = _lock_numbers(org.pk, ids)
        open_lines = {
            number_id: order_id
            for number_id, order_id in OrderLine.objects.filter(number_id__in=ids, is_open=True).values_list(
                "number_id", "order_id"
            )
        }
        in_orders = [r for r in rows if r.pk in open_lines]
        if in_orders:
            raise NumbersRefused(
                _(
                    "%(numbers)s in an open authorisation order (%(orders)s) still waiting for the carrier: "
                    "de-authorise it once the order is complete."
                )
                % {
                    "numbers": _listed(in_orders),
                    "orders": ", ".join(f"#{o}" for o in sorted({open_lines[r.pk] for r in in_orders})),
                }
            )
        current = _current_memberships(ids)
        not_authorised = [
            r
            for r in rows
            if r.texting_state not in (TextingState.AUTHORISED, TextingState.REGISTERED) and r.pk not in current
        ]
        if not_authorised:
            raise NumbersRefused(
                _("%(numbers)s not authorised for Business Texting: there is nothing to de-authorise.")
                % {"numbers": _listed(not_authorised)}
            )
        by_campaign = defaultdict(list)
        for r in rows:
            if r.pk in current:
                by_campaign[current[r.pk].campaign].append(current[r.pk])
        leaving = 0
        for campaign, memberships in by_campaign.items():
            leaving += _leave(campaign, memberships, case=None, reason=DEAUTHORISING)
        # Numbers the carrier does not hold in a campaign (none, or a failed assignment now removed): at once.
        still_leaving = set(
            CampaignNumber.objects.filter(number_id__in=ids, status=Status.PENDING_REMOVAL).values_list(
                "number_id", flat=True
            )
        )
        now_ids = [r.pk for r in rows if r.pk not in still_leaving]
        PhoneNumber.objects.filter(pk__in=now_ids).update(
            texting_state=TextingState.NOT_AUTHORISED,
            texting_state_changed=timezone.now(),
            texting_state_reason=stored_texts.store(stored_texts.NUMBER_DEAUTHORISED_BY, who=by.email),
        )
        PhoneNumber.objects.filter(pk__in=still_leaving).update(
            texting_state_reason=stored_texts.store(stored_texts.NUMBER_LEAVING_BEFORE_DEAUTHORISATION)
        )
        audit.record(
            "numbers.deauthorised",
            actor=by,
            organisation=org,
            numbers=len(rows),
            now=len(now_ids),
            leaving_campaign=len(still_leaving),
            sample=[r.e164 for r in rows[:SHOWN]],
        )
    return {"now": len(now_ids), "leaving": len(still_leaving)}


# --- the carrier's side (tasks and polls) --------------------------------------------------------------------------


def send_assignments(campaign_id: int, gateway: CarrierGateway) -> int:
    """Ask the carrier to assign every *pending assignment* number of the campaign, CARRIER_BATCH at a time, and
    apply its per-number answers. The idempotency key names the exact rows and their last change, so a redelivered
    task replays the same request while a retry after a failure is a new one. Raises CarrierUnavailable for the task
    to retry; a refusal (the campaign is not active at the registry) fails those numbers with the carrier's words.
    Returns how many numbers were sent."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if not campaign.registry_id:
        return 0
    pending = list(
        campaign.campaign_numbers.filter(status=Status.PENDING_ASSIGNMENT)
        .order_by("number__e164")
        .values_list("pk", "changed_at", "number__e164")
    )
    for start in range(0, len(pending), CARRIER_BATCH):
        batch = pending[start : start + CARRIER_BATCH]
        e164s = [e164 for _pk, _changed, e164 in batch]
        key = _key(campaign, "assign", batch)
        try:
            results = gateway.add_campaign_numbers(campaign_id=campaign.registry_id, numbers=e164s, idempotency_key=key)
        except CarrierRejected as exc:
            results = [
                CampaignNumberStatus(
                    e164, "FAILED_ASSIGNMENT", stored_texts.store(stored_texts.ASSIGNMENT_REFUSED, error=exc)
                )
                for e164 in e164s
            ]
        apply_campaign_number_statuses(campaign.pk, results)
    return len(pending)


def send_removals(campaign_id: int, gateway: CarrierGateway) -> int:
    """Ask the carrier to remove every *pending removal* number of the campaign and apply its answers (idempotent at
    the carrier: a number it does not hold answers UNASSIGNED). Raises CarrierUnavailable for the task to retry."""
    campaign = Campaign.objects.get(pk=campaign_id)
    pending = list(
        campaign.campaign_numbers.filter(status=Status.PENDING_REMOVAL)
        .order_by("number__e164")
        .values_list("pk", "changed_at", "number__e164")
    )
    if not campaign.registry_id:
        # Never registered: the carrier holds none of its numbers.
        results = [CampaignNumberStatus(e164, "UNASSIGNED") for _pk, _c, e164 in pending]
        apply_campaign_number_statuses(campaign.pk, results)
        return len(pending)
    for start in range(0, len(pending), CARRIER_BATCH):
        batch = pending[start : start + CARRIER_BATCH]
        e164s = [e164 for _pk, _changed, e164 in batch]
        try:
            results = gateway.remove_campaign_numbers(
                campaign_id=campaign.registry_id, numbers=e164s, idempotency_key=_key(campaign, "remove", batch)
            )
        except CarrierRejected as exc:
            log.warning("Campaign %s: the carrier refused to remove %s numbers: %s", campaign.pk, len(e164s), exc)
            continue
        apply_campaign_number_statuses(campaign.pk, results)
    return len(pending)


def poll_campaign_numbers(campaign_id: int, gateway: CarrierGateway) -> None:
    """Look at the carrier once for a campaign with numbers waiting on it and apply what it says (idempotent);
    numbers it has never heard of (the request was lost) are sent again. Raises CarrierUnavailable."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.registry_id:
        known = gateway.get_campaign_numbers(campaign.registry_id)
        apply_campaign_number_statuses(campaign.pk, known)
        heard = {result.e164 for result in known}
    else:
        heard = set()
    waiting = campaign.campaign_numbers.filter(status__in=(Status.PENDING_ASSIGNMENT, Status.PENDING_REMOVAL))
    unheard = dict(waiting.exclude(number__e164__in=heard).values_list("number__e164", "status"))
    if Status.PENDING_ASSIGNMENT in unheard.values():
        send_assignments(campaign.pk, gateway)
    if Status.PENDING_REMOVAL in unheard.values():
        send_removals(campaign.pk, gateway)


def apply_campaign_number_statuses(campaign_id: int, results: Iterable[CampaignNumberStatus]) -> int:
    """Apply the carrier's per-number answers for one campaign; returns how many memberships changed.

    Idempotent: each answer moves only rows still waiting for it (ASSIGNED and FAILED_ASSIGNMENT move *pending
    assignment* rows; UNASSIGNED moves *pending removal* rows), so a duplicate answer changes nothing. Assigned numbers
    become *registered in campaign*; removed ones go back to *authorised* (or *not authorised*, when an administrator
    de-authorised them). Then every case whose numbers all settled is offered to the case flow to complete.
    """
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for result in results:
        if result.status == "ASSIGNED":
            groups[(Status.PENDING_ASSIGNMENT, Status.ASSIGNED, "")].append(result.e164)
        elif result.status == "FAILED_ASSIGNMENT":
            reason = (result.reason or stored_texts.store(stored_texts.ASSIGNMENT_FAILED))[:500]
            groups[(Status.PENDING_ASSIGNMENT, Status.FAILED_ASSIGNMENT, reason)].append(result.e164)
        elif result.status == "UNASSIGNED":
            groups[(Status.PENDING_REMOVAL, Status.REMOVED, "")].append(result.e164)
    if not groups:
        return 0
    changed = 0
    cases: set[int] = set()
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        for (source, to, reason), e164s in groups.items():
            assert to in TRANSITIONS[source]
            # Lock order as everywhere here (campaign, numbers, memberships), so de-authorising at the same moment
            # waits instead of deadlocking.
            list(
                PhoneNumber.objects.select_for_update()
                .filter(campaign_memberships__campaign=campaign, e164__in=e164s)
                .order_by("pk")
                .values_list("pk")
            )
            moving = list(
                CampaignNumber.objects.select_for_update()
                .filter(campaign=campaign, status=source, number__e164__in=e164s)
                .values_list("pk", "number_id", "case_id", "reason")
            )
            if not moving:
                continue
            changed += len(moving)
            cases.update(case_id for _pk, _n, case_id, _r in moving if case_id)
            fields = {"status": to, "changed_at": now}
            if to != Status.REMOVED:
                fields["reason"] = reason
            CampaignNumber.objects.filter(pk__in=[pk for pk, *_ in moving]).update(**fields)
            number_ids = [n for _pk, n, _c, _r in moving]
            if to == Status.ASSIGNED:
                PhoneNumber.objects.filter(pk__in=number_ids, texting_state=TextingState.AUTHORISED).update(
                    texting_state=TextingState.REGISTERED,
                    texting_state_changed=now,
                    texting_state_reason=stored_texts.store(
                        stored_texts.NUMBER_REGISTERED_IN, campaign=campaign.registry_id
                    ),
                )
            elif to == Status.REMOVED:
                deauthorised = [n for _pk, n, _c, r in moving if r == DEAUTHORISING]
                PhoneNumber.objects.filter(pk__in=deauthorised).update(
                    texting_state=TextingState.NOT_AUTHORISED,
                    texting_state_changed=now,
                    texting_state_reason=stored_texts.store(
                        stored_texts.NUMBER_DEAUTHORISED_AFTER_LEAVING, campaign=campaign.registry_id
                    ),
                )
                PhoneNumber.objects.filter(
                    pk__in=set(number_ids) - set(deauthorised), texting_state=TextingState.REGISTERED
                ).update(
                    texting_state=TextingState.AUTHORISED,
                    texting_state_changed=now,
                    texting_state_reason=stored_texts.store(
                        stored_texts.NUMBER_REMOVED_FROM, campaign=campaign.registry_id
                    ),
                )
            audit.record(
                f"campaign.numbers_{to}",
                actor=None,
                organisation=campaign.organisation,
                target=campaign,
                numbers=len(moving),
                reason=reason,
                sample=e164s[:SHOWN],
            )
    for case_id in sorted(cases):
        _offer_case(case_id)
    return changed


def numbers_settled(case: RegistrationCase) -> bool:
    """True when every number the case asked to change has the carrier's final answer: all *assigned* (a case that
    adds numbers or registers them first; numbers removed from it since do not count), or all *removed* (a case that
    removes numbers). A failed assignment is not settled: it waits for a retry or a removal."""
    statuses = set(CampaignNumber.objects.filter(case=case).values_list("status", flat=True))
    if not statuses:
        return False
    if case.kind == RegistrationCase.Kind.REMOVE_NUMBERS:
        return statuses == {Status.REMOVED}
    return Status.ASSIGNED in statuses and statuses <= {Status.ASSIGNED, Status.REMOVED}


def campaigns_waiting_on_carrier() -> list[int]:
    """Campaigns with numbers waiting for the carrier (being assigned or removed): what the periodic poll visits."""
    return list(
        CampaignNumber.objects.filter(status__in=(Status.PENDING_ASSIGNMENT, Status.PENDING_REMOVAL))
        .values_list("campaign_id", flat=True)
        .distinct()
        .order_by("campaign_id")
    )


# --- helpers -------------------------------------------------------------------------------------------------------


def _offer_case(case_id: int) -> None:
    """Let the case flow complete a case whose numbers settled. The case flow's
    `complete_case_when_numbers_settle(case_id)` decides (state, timeline, notification); until it exists, nothing."""
    from . import cases

    complete = getattr(cases, "complete_case_when_numbers_settle", None)
    case = RegistrationCase.objects.filter(pk=case_id).first()
    if complete is not None and case is not None and numbers_settled(case):
        complete(case_id)


def _leave(campaign: Campaign, memberships: list[CampaignNumber], *, case, reason: str) -> int:
    """Move current memberships out: carrier-held ones to *pending removal* (the task asks the carrier), a failed
    assignment straight to *removed*. Returns how many wait for the carrier."""
    now = timezone.now()
    held = [m.pk for m in memberships if m.status in (Status.ASSIGNED, Status.PENDING_ASSIGNMENT)]
    failed = [m.pk for m in memberships if m.status == Status.FAILED_ASSIGNMENT]
    leaving = [m.pk for m in memberships if m.status == Status.PENDING_REMOVAL]
    fields = {"changed_at": now, "reason": reason}
    if case is not None:
        fields["case"] = case
    CampaignNumber.objects.filter(pk__in=held).update(status=Status.PENDING_REMOVAL, **fields)
    CampaignNumber.objects.filter(pk__in=failed).update(status=Status.REMOVED, **fields)
    if reason:
        CampaignNumber.objects.filter(pk__in=leaving).update(reason=reason)
    if held:
        _enqueue("send_campaign_number_removals", campaign.pk)
    return len(held) + len(leaving)


def _ids(numbers: Iterable[PhoneNumber | int]) -> list[int]:
    ids = sorted({getattr(n, "pk", n) for n in numbers})
    if not ids:
        raise NumbersRefused(_("Choose at least one number."))
    return ids


def _lock_numbers(organisation_id: int, ids: list[int]) -> list[PhoneNumber]:
    """The numbers, locked, in number order; refused unless every one is the organisation's. Another organisation's
    number gets the same words as one that does not exist."""
    rows = list(
        PhoneNumber.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, location__organisation_id=organisation_id)
        .order_by("e164")
    )
    if len(rows) != len(ids):
        raise NumbersRefused(
            _("Some of these numbers are not numbers of your organisation. Reload the page and select again.")
        )
    return rows


def _current_memberships(ids: list[int]) -> dict[int, CampaignNumber]:
    return {
        m.number_id: m
        for m in CampaignNumber.objects.select_related("campaign").filter(~Q(status=Status.REMOVED), number_id__in=ids)
    }


def _require_actor(organisation_id: int, by: User | None, *, customer_or_support: bool = False) -> None:
    """Support, or a full administrator of the organisation. `by=None` (the portal itself: the case flow, a task) is
    allowed where the caller says so."""
    if by is None and not customer_or_support:
        return
    if by is not None and (by.is_support or (by.can_manage and by.organisation_id == organisation_id)):
        return
    raise NumbersRefused(_("Only full administrators of this organisation, or Cisco PSTN support, can do this."))


def _listed(numbers: list[PhoneNumber]) -> str:
    """ "+1 415 555 0100 is" / "+1 ..., +1 ... and 3 more are": the subject of a refusal sentence."""
    shown = ", ".join(display_tn(n.e164) for n in numbers[:SHOWN])
    if len(numbers) > SHOWN:
        shown = _("%(shown)s and %(more)s more") % {"shown": shown, "more": len(numbers) - SHOWN}
    return ngettext("%(numbers)s is", "%(numbers)s are", len(numbers)) % {"numbers": shown}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _key(campaign: Campaign, what: str, batch: list[tuple]) -> str:
    """The idempotency key of one request: the same rows unchanged give the same key (a redelivered task replays),
    a retried row (changed since) gives a new one."""
    digest = hashlib.sha256("|".join(f"{pk}:{changed.isoformat()}" for pk, changed, _e in batch).encode())
    return f"campaign-{campaign.registry_id}-{what}-{digest.hexdigest()[:24]}"


def _enqueue(task_name: str, campaign_id: int) -> None:
    """Run a carrier task after commit (robust: with the broker down the rows stay pending and the poll sends them)."""
    from .. import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(campaign_id), robust=True)
