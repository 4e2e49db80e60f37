"""The case itself: its state machine (`transition`), opening and cancelling it, messages and internal notes.

Every state change of a case goes through `transition`, under a row lock, with an audit event and a timeline entry.
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from portal import audit, transitions
from portal.models import Organisation, User
from provisioning.models import PhoneNumber
from provisioning.phone import display_tn

from .. import stored_texts
from ..models import NUMBER_POOL_THRESHOLD, Brand, Campaign, CampaignNumber, CaseEvent, CaseNumber, RegistrationCase
from ..models.cases import FORM_KINDS
from ..notifications import notify_case_contact
from .unread import note_customer_activity

State = RegistrationCase.State


class CaseRefused(transitions.ActionRefused):
    """The action cannot be done now; the message says why, in the user's words. Nothing was changed."""


# --- the state machine ------------------------------------------------------------------------------------------------


Kind = RegistrationCase.Kind


def _brand_approved(case: RegistrationCase) -> bool:
    return case.brand_is_approved


def _brand_to_register(case: RegistrationCase) -> bool:
    return case.kind == Kind.FIRST_REGISTRATION and not case.brand_is_approved


def _has_numbers(case: RegistrationCase) -> bool:
    return case.case_numbers.exists()


# Conditions on top of the table, checked under the lock: (from, to) -> (condition, why it is refused).
GUARDS = {
    (State.OPENED, State.FORM_SENT): (
        lambda case: case.kind in FORM_KINDS,
        gettext_lazy("a case that adds or removes numbers needs no registration form"),
    ),
    (State.OPENED, State.NUMBERS_ASSIGNED): (
        lambda case: case.kind == Kind.ADD_NUMBERS and case.campaign_id is not None and case.campaign.is_usable,
        gettext_lazy("numbers go straight into a campaign only in a case that adds them to an active campaign"),
    ),
    (State.OPENED, State.REMOVING_NUMBERS): (
        lambda case: case.kind == Kind.REMOVE_NUMBERS,
        gettext_lazy("only a case that removes numbers from a campaign removes them"),
    ),
    (State.FORM_SUBMITTED, State.BRAND_SUBMITTED): (
        _brand_to_register,
        gettext_lazy(
            "the brand is registered once, by the organisation's first registration (registering it again is billed "
            "again); submit the campaign"
        ),
    ),
    (State.FORM_SUBMITTED, State.CAMPAIGN_SUBMITTED): (
        _brand_approved,
        gettext_lazy("a campaign can be submitted only once the brand is approved; submit the brand first"),
    ),
    (State.CAMPAIGN_APPROVED, State.NUMBERS_ASSIGNED): (
        _has_numbers,
        gettext_lazy("this case has no numbers to assign"),
    ),
    (State.CAMPAIGN_APPROVED, State.COMPLETED): (
        lambda case: not _has_numbers(case),
        gettext_lazy("assign the case's numbers to the campaign first"),
    ),
}


def refusal(case: RegistrationCase, to_state: str, expected: str | None = None) -> str | None:
    """Why `case` (as it is now) cannot move to `to_state`, or None if it can. `expected` is the state the user saw
    when they asked: if the case moved since, they are told so rather than acting on a page that is out of date."""
    label = case.get_state_display()
    if expected and expected != case.state:
        return gettext(
            "This case changed while you were looking at it: it is now in '%(state)s'. "
            "Reload the page to see what happened."
        ) % {"state": label}
    if case.state == to_state:
        return gettext("This case is already in '%(state)s': someone else just did this.") % {"state": label}
    if to_state not in RegistrationCase.TRANSITIONS.get(case.state, ()):
        return gettext("This case is in '%(state)s': %(why)s.") % {
            "state": label,
            "why": RegistrationCase.REFUSALS[to_state],
        }
    guard = GUARDS.get((case.state, to_state))
    if guard is not None and not guard[0](case):
        return gettext("This case is in '%(state)s': %(why)s.") % {"state": label, "why": guard[1]}
    return None


def allowed_transitions(case: RegistrationCase) -> set[str]:
    """The states `case` may move to now (what the support console offers)."""
    return {to for to in RegistrationCase.TRANSITIONS[case.state] if refusal(case, to) is None}


def transition(
    case: RegistrationCase,
    to_state: str,
    by: User | None,
    *,
    expected: str | None = None,
    text: str = "",
    fields: dict | None = None,
    **details,
) -> RegistrationCase:
    """Move `case` to `to_state`, or raise CaseRefused and change nothing.

    Guarantees: the case row is locked (`select_for_update`) while the move is checked against
    `RegistrationCase.TRANSITIONS` and `GUARDS`, so of two people acting on the same case at once one wins and the
    other is refused with the state the case is now in. The new state, `fields` (other case fields to set in the same
    save), an audit event, a timeline entry, and for a closed case the release of its numbers, land in one
    transaction. States that need the customer to act email the case contact after commit. Returns the updated case
    (`case` itself is refreshed too).
    """
    to_state = State(to_state)
    now = timezone.now()
    changes = {"state_changed": now, **(fields or {})}
    if to_state in RegistrationCase.CLOSED_STATES:
        changes["closed_at"] = now
    with transaction.atomic():
        locked, from_state = transitions.transition(
            RegistrationCase.objects.select_related("organisation"),
            case.pk,
            to_state,
            field="state",
            table=RegistrationCase.TRANSITIONS,
            changes=changes,
            refusal=lambda locked: refusal(locked, to_state, expected),
            refused=CaseRefused,
        )
        if to_state in RegistrationCase.CLOSED_STATES:
            # The numbers are free again (cancelled) or registered (completed): either way in no open case.
            CaseNumber.objects.filter(case=locked, is_open=True).update(is_open=False)
        _timeline(locked, CaseEvent.Kind.TRANSITION, by, text, from_state=from_state, to_state=to_state, created=now)
        audit.record(
            f"registration_case.{to_state}",
            actor=by,
            organisation=locked.organisation,
            target=locked,
            from_state=from_state,
            to_state=to_state,
            **details,
        )
        if to_state in RegistrationCase.CUSTOMER_ACTION_STATES:
            case_id = locked.pk
            transaction.on_commit(lambda: _notify(case_id, to_state))
    case.refresh_from_db()
    return locked


def _timeline(case: RegistrationCase, kind: str, by: User | None, text: str = "", **fields) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        actor=by if by is not None and by.pk else None,
        actor_name=(by.full_name or by.email) if by is not None else "",
        by_support=bool(by is not None and by.is_support),
        text=text,
        **fields,
    )


def _notify(case_id: int, state: str) -> None:
    notify_case_contact(case_id, state)


# --- customer: opening a case -----------------------------------------------------------------------------------------


def case_kinds_offered(org: Organisation) -> dict[str, str | None]:
    """Each kind of case and why the organisation cannot open it now (None: it can), from what it already has."""
    from .. import queries

    has_brand = queries.approved_brands(org).exists()
    return {
        # Always possible: another legal entity of the organisation may need its own brand (registering the same
        # entity twice is refused when support submits it).
        Kind.FIRST_REGISTRATION: None,
        Kind.NEW_CAMPAIGN: None if has_brand else gettext("Your brand must be registered and approved first."),
        Kind.ADD_NUMBERS: None
        if queries.campaigns_for_case(org, Kind.ADD_NUMBERS).exists()
        else gettext("You have no active campaign to add numbers to."),
        Kind.REMOVE_NUMBERS: None
        if queries.campaigns_for_case(org, Kind.REMOVE_NUMBERS).exists()
        else gettext("You have no campaign with numbers."),
        Kind.RESUBMIT: None
        if queries.campaigns_for_case(org, Kind.RESUBMIT).exists()
        else gettext(
            "None of your campaigns needs correcting (rejected, suspended or expired), or a case is correcting it."
        ),
    }


# Cases whose numbers join the campaign (the others take numbers out).
JOINING_KINDS = frozenset({Kind.FIRST_REGISTRATION, Kind.NEW_CAMPAIGN, Kind.ADD_NUMBERS, Kind.RESUBMIT})


def open_case(
    org: Organisation,
    by: User,
    number_ids: Iterable[int],
    *,
    contact_name: str,
    contact_email: str,
    contact_phone: str = "",
    note: str = "",
    kind: str = Kind.FIRST_REGISTRATION,
    campaign: Campaign | None = None,
    brand: Brand | None = None,
) -> RegistrationCase:
    """Open a 10DLC case of one kind for some of `org`'s numbers.

    - first registration / new campaign: authorised numbers in no campaign, to register in a new campaign (under a
      new brand, or under one of the organisation's approved brands: `brand`, by default its only one);
    - add numbers: authorised numbers in no campaign, to join `campaign` (active) — no form, no brand, no campaign
      submission; past NUMBER_POOL_THRESHOLD numbers the campaign must be a number pool;
    - remove numbers: numbers of `campaign`, to leave it;
    - resubmit: correct `campaign` (rejected or suspended) and submit it again, with optional numbers to add.

    Guarantees: every number is the organisation's and fits the kind, none is in another open case (the database
    settles a race between two cases); all or nothing in one transaction with the audit event and the first timeline
    entry.
    """
    if not by.can_manage or by.organisation_id != org.pk:
        raise CaseRefused(gettext("Only full administrators of this organisation can open a registration case."))
    kind = Kind(kind)
    why_not = case_kinds_offered(org)[kind]
    if why_not and (campaign is None or kind in (Kind.FIRST_REGISTRATION, Kind.NEW_CAMPAIGN)):
        raise CaseRefused(why_not)  # (a chosen campaign gets the reason that campaign does not fit, below)
    from .. import queries

    if kind == Kind.NEW_CAMPAIGN:
        brands = list(queries.approved_brands(org))
        if brand is None and len(brands) == 1:
            brand = brands[0]
        if brand is None or brand not in brands:
            raise CaseRefused(gettext("Choose the approved brand the new campaign goes under."))
    elif kind != Kind.FIRST_REGISTRATION:
        if campaign is None or not queries.campaigns_for_case(org, kind).filter(pk=campaign.pk).exists():
            raise CaseRefused(_campaign_refusal(org, kind, campaign))
        brand = campaign.brand
    else:
        brand = None
    ids = sorted(set(number_ids))
    if not ids and kind != Kind.RESUBMIT:
        raise CaseRefused(
            gettext("Select at least one number to remove.")
            if kind == Kind.REMOVE_NUMBERS
            else gettext("Select at least one authorised number to register.")
        )
    try:
        with transaction.atomic():
            if campaign is not None:
                # The campaign as it is now, under its lock: a case opened at the same moment waits, then sees it.
                campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
                if not queries.campaigns_for_case(org, kind).filter(pk=campaign.pk).exists():
                    raise CaseRefused(_campaign_refusal(org, kind, campaign))
            numbers = list(
                PhoneNumber.objects.select_for_update(of=("self",))
                .filter(pk__in=ids)
                .values_list("pk", "e164", "texting_state", "location__organisation_id")
            )
            if len(numbers) != len(ids) or any(org_id != org.pk for *_rest, org_id in numbers):
                raise CaseRefused(
                    gettext("Some selected numbers are not numbers of your organisation. Reload the page.")
                )
            _check_numbers(kind, campaign, numbers)
            busy = CaseNumber.objects.filter(number_id__in=ids, is_open=True).select_related("number").first()
            if busy is not None:
                raise CaseRefused(
                    gettext("%(number)s is already in case #%(case)s.")
                    % {"number": busy.number.display, "case": busy.case_id}
                )
            case = RegistrationCase.objects.create(
                organisation=org,
                kind=kind,
                brand=brand,
                campaign=campaign,
                opened_by=by,
                contact_name=contact_name.strip(),
                contact_email=contact_email.strip().lower(),
                contact_phone=contact_phone.strip(),
                note=note.strip(),
                unread_by_support=True,
            )
            CaseNumber.objects.bulk_create([CaseNumber(case=case, number_id=pk) for pk in ids])
            _timeline(
                case,
                CaseEvent.Kind.TRANSITION,
                by,
                _opening_text(kind, len(ids), campaign),
                to_state=State.OPENED,
                created=case.opened_at,
            )
            audit.record(
                "registration_case.opened",
                actor=by,
                organisation=org,
                target=case,
                kind=kind.value,
                campaign=campaign.registry_id if campaign else "",
                numbers=len(ids),
                contact=case.contact_email,
            )
    except IntegrityError:
        raise CaseRefused(
            gettext("Some of these numbers were just included in another case. Review the selection.")
        ) from None
    return case


def _campaign_refusal(org: Organisation, kind: str, campaign: Campaign | None) -> str:
    """Why `campaign` cannot be the campaign of a case of `kind` (or none was chosen)."""
    if campaign is None or campaign.organisation_id != org.pk:
        return gettext("Choose one of your campaigns for this case.")
    if kind == Kind.ADD_NUMBERS:
        return gettext("Campaign %(campaign)s is not active: numbers can join it once it is approved.") % {
            "campaign": campaign
        }
    if kind == Kind.REMOVE_NUMBERS:
        return gettext("Campaign %(campaign)s has no numbers to remove.") % {"campaign": campaign}
    open_case = campaign.cases.filter(state__in=RegistrationCase.OPEN_STATES).order_by("pk").first()
    if open_case is not None:
        return gettext("Case #%(case)s is already correcting campaign %(campaign)s: continue there.") % {
            "case": open_case.pk,
            "campaign": campaign,
        }
    return gettext(
        "Campaign %(campaign)s is %(status)s: only a rejected, suspended or expired campaign is corrected and "
        "resubmitted."
    ) % {"campaign": campaign, "status": campaign.get_status_display().lower()}


def _check_numbers(kind: str, campaign: Campaign | None, numbers: list[tuple]) -> None:
    """Refuse (CaseRefused) the first number that does not fit the kind of case: joining numbers are authorised and
    in no campaign; leaving ones are in `campaign`; a campaign that is not a number pool takes at most 49."""
    ids = [pk for pk, *_rest in numbers]
    members = {
        number_id: (campaign_id, str(label))
        for number_id, campaign_id, label in CampaignNumber.objects.filter(number_id__in=ids)
        .exclude(status=CampaignNumber.Status.REMOVED)
        .values_list("number_id", "campaign_id", "campaign__registry_id")
    }
    for pk, e164, state, _org in numbers:
        if kind == Kind.REMOVE_NUMBERS:
            if pk not in members or campaign is None or members[pk][0] != campaign.pk:
                raise CaseRefused(
                    gettext("%(number)s is not in campaign %(campaign)s.")
                    % {"number": display_tn(e164), "campaign": campaign}
                )
            continue
        if pk in members:
            raise CaseRefused(
                gettext("%(number)s is already in campaign %(campaign)s.")
                % {"number": display_tn(e164), "campaign": members[pk][1] or gettext("(awaiting its registry id)")}
            )
        if state != PhoneNumber.TextingState.AUTHORISED:
            label = PhoneNumber.TextingState(state).label.lower()
            raise CaseRefused(
                gettext(
                    "%(number)s cannot be registered: it is %(state)s. Only authorised numbers can join a campaign."
                )
                % {"number": display_tn(e164), "state": label}
            )
    if kind in JOINING_KINDS and campaign is not None and not campaign.is_number_pool:
        # Numbers in the campaign, and numbers that open cases are adding to it already.
        present = (
            campaign.campaign_numbers.exclude(status=CampaignNumber.Status.REMOVED).count()
            + CaseNumber.objects.filter(
                is_open=True, case__campaign=campaign, case__kind__in=(Kind.ADD_NUMBERS, Kind.RESUBMIT)
            ).count()
        )
        if present + len(numbers) > NUMBER_POOL_THRESHOLD:
            raise CaseRefused(
                gettext(
                    "Campaign %(campaign)s has %(present)s numbers: with %(adding)s more it would pass "
                    "%(limit)s, and T-Mobile needs such a campaign flagged as a number pool. Ask Cisco PSTN support to "
                    "flag it first, or choose fewer numbers."
                )
                % {"campaign": campaign, "present": present, "adding": len(numbers), "limit": NUMBER_POOL_THRESHOLD}
            )


def _opening_text(kind: str, count: int, campaign: Campaign | None) -> str:
    """The first timeline entry, in English (translated when shown: compliance.stored_texts)."""
    texts = stored_texts
    if kind == Kind.ADD_NUMBERS:
        return texts.store(texts.OPENED_ADD, count=count, campaign=campaign)
    if kind == Kind.REMOVE_NUMBERS:
        return texts.store(texts.OPENED_REMOVE, count=count, campaign=campaign)
    if kind == Kind.RESUBMIT:
        if count:
            return texts.store(texts.OPENED_RESUBMIT_NUMBERS, count=count, campaign=campaign)
        return texts.store(texts.OPENED_RESUBMIT, campaign=campaign)
    if kind == Kind.NEW_CAMPAIGN:
        return texts.store(texts.OPENED_NEW_CAMPAIGN, count=count)
    return texts.store(texts.OPENED_REGISTER, count=count)


def complete_case_when_numbers_settle(case_id: int) -> bool:
    """Complete a case whose numbers all have the carrier's final answer: every number assigned (numbers assigned →
    completed: they are *registered in campaign*) or, for a case that removes numbers, every number removed
    (removing numbers → completed). Called when the carrier answers (`compliance.actions.numbers`) and after each
    poll; idempotent: True only for the call that completed the case. A failed assignment keeps the case open (the
    number shows the carrier's reason and can be retried or removed)."""
    from .numbers import numbers_settled

    with transaction.atomic():
        case = (
            RegistrationCase.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .filter(pk=case_id)
            .first()
        )
        if case is None or case.state not in (State.NUMBERS_ASSIGNED, State.REMOVING_NUMBERS):
            return False
        if not numbers_settled(case):
            return False
        count = case.case_numbers.count()
        campaign = case.campaign_registry_id
        done = stored_texts.NUMBERS_LEFT if case.state == State.REMOVING_NUMBERS else stored_texts.NUMBERS_REGISTERED
        text = stored_texts.store(done, count=count, campaign=campaign)
        transition(
            case, State.COMPLETED, None, expected=case.state, text=text, fields={"carrier_problem": ""}, numbers=count
        )
    return True


def cancel_case(case: RegistrationCase, by: User, *, reason: str, expected: str | None = None) -> RegistrationCase:
    """Cancel an open case (support, or the customer's full administrator): its numbers are free for another case."""
    if not by.is_support:
        _require_customer_admin(case, by)
    if not reason.strip():
        raise CaseRefused(gettext("Say why the case is cancelled."))
    with transaction.atomic():
        waiting = case.state
        case = transition(
            case,
            State.CANCELLED,
            by,
            expected=expected,
            text=stored_texts.store(stored_texts.CANCELLED, reason=reason.strip()),
            reason=reason.strip(),
        )
        # A brand or campaign the registry was still deciding is withdrawn with the case: no case polls it any more,
        # and the organisation may register or correct it again (a campaign: resubmit it).
        withdrawn = stored_texts.store(stored_texts.WITHDRAWN, case=case.pk)
        now = timezone.now()
        if waiting == State.BRAND_SUBMITTED and case.brand_id:
            Brand.objects.filter(pk=case.brand_id, status=Brand.Status.PENDING).update(
                status=Brand.Status.REJECTED, reason=withdrawn, status_changed=now
            )
        if waiting == State.CAMPAIGN_SUBMITTED and case.campaign_id:
            Campaign.objects.filter(pk=case.campaign_id, status=Campaign.Status.PENDING).update(
                status=Campaign.Status.REJECTED, reason=withdrawn, status_changed=now
            )
    return case


# --- messages and notes -------------------------------------------------------------------------------------------


def post_message(case: RegistrationCase, by: User, text: str) -> CaseEvent:
    """A message between the customer's full administrator and support, shown to both."""
    if not by.is_support:
        _require_customer_admin(case, by)
    if not case.is_open:
        raise CaseRefused(
            gettext("This case is %(state)s: open a new case to ask support something else.")
            % {"state": case.get_state_display().lower()}
        )
    text = text.strip()
    if not text:
        raise CaseRefused(gettext("Write a message first."))
    with transaction.atomic():
        event = _timeline(case, CaseEvent.Kind.MESSAGE, by, text[:4000])
        audit.record("registration_case.message", actor=by, organisation=case.organisation, target=case)
        note_customer_activity(case, by, "message")
    return event


def add_internal_note(case: RegistrationCase, by: User, text: str) -> CaseEvent:
    """A support note on the case, never shown to the customer."""
    _require_support(by)
    text = text.strip()
    if not text:
        raise CaseRefused(gettext("Write the note first."))
    with transaction.atomic():
        event = _timeline(case, CaseEvent.Kind.INTERNAL_NOTE, by, text[:4000])
        audit.record("registration_case.internal_note", actor=by, organisation=case.organisation, target=case)
    return event


# --- helpers ----------------------------------------------------------------------------------------------------------


def _require_support(by: User | None) -> None:
    if by is None or not by.is_support:
        raise CaseRefused(gettext("Only Cisco PSTN support staff can do this."))


def _require_customer_admin(case: RegistrationCase, by: User) -> None:
    if not by.can_manage or by.organisation_id != case.organisation_id:
        raise CaseRefused(gettext("Only full administrators of this organisation can do this."))


def _enqueue(task_name: str, case_id: int) -> None:
    """Run a task after the transaction that changed the case commits (the worker must see the change). Robust: if
    enqueuing fails (no broker, or an in-process task gave up), the committed case stays as it is, the failure is
    logged and the periodic poll picks the case up."""
    from .. import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(case_id), robust=True)
