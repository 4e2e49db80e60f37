"""The case's state machine: every allowed transition (from the table) happens with an audit event and a timeline
entry; every other one is refused with a clear message and changes nothing."""

import itertools

import pytest

from compliance.actions import CaseRefused, allowed_transitions, cancel_case, open_case, transition
from compliance.models import CaseEvent, CaseNumber, RegistrationCase
from portal.models import AuditEvent

from .factories import make_authorised_numbers, make_brand, make_campaign, make_case

pytestmark = pytest.mark.django_db

State = RegistrationCase.State
Kind = RegistrationCase.Kind
ALL_PAIRS = list(itertools.product(State.values, State.values))
ALLOWED = [
    (a, b)
    for a, b in ALL_PAIRS
    if b in RegistrationCase.TRANSITIONS[a] and (a, b) != (State.FORM_SUBMITTED, State.CAMPAIGN_SUBMITTED)
]  # guarded: tested on its own below
REFUSED = [(a, b) for a, b in ALL_PAIRS if b not in RegistrationCase.TRANSITIONS[a]]


def test_the_table_is_the_issue_s_life_of_a_case():
    happy = [
        State.OPENED,
        State.FORM_SENT,
        State.FORM_SUBMITTED,
        State.BRAND_SUBMITTED,
        State.BRAND_APPROVED,
        State.CAMPAIGN_SUBMITTED,
        State.CAMPAIGN_APPROVED,
        State.NUMBERS_ASSIGNED,
        State.COMPLETED,
    ]
    for a, b in itertools.pairwise(happy):
        assert b in RegistrationCase.TRANSITIONS[a]
    assert State.BRAND_REJECTED in RegistrationCase.TRANSITIONS[State.BRAND_SUBMITTED]
    assert State.CAMPAIGN_REJECTED in RegistrationCase.TRANSITIONS[State.CAMPAIGN_SUBMITTED]
    assert RegistrationCase.TRANSITIONS[State.BRAND_REJECTED] == {State.FORM_SUBMITTED, State.CANCELLED}
    assert RegistrationCase.TRANSITIONS[State.CAMPAIGN_REJECTED] == {State.FORM_SUBMITTED, State.CANCELLED}
    for state in RegistrationCase.OPEN_STATES:
        assert State.CANCELLED in RegistrationCase.TRANSITIONS[state]
    assert RegistrationCase.TRANSITIONS[State.COMPLETED] == RegistrationCase.TRANSITIONS[State.CANCELLED] == set()


def case_for(org, from_state, to_state):
    """A case in `from_state` of the kind that may move to `to_state`: numbers go straight into an active campaign
    only in a case that adds them, leave it only in one that removes them, and a case without numbers (a resubmitted
    campaign) completes at the campaign's approval."""
    if (from_state, to_state) in ((State.OPENED, State.NUMBERS_ASSIGNED), (State.OPENED, State.REMOVING_NUMBERS)):
        campaign = make_campaign(make_brand(org, registry_id="BKIND01"), registry_id="CKIND01")
        kind = Kind.ADD_NUMBERS if to_state == State.NUMBERS_ASSIGNED else Kind.REMOVE_NUMBERS
        return make_case(org, from_state, kind=kind, brand=campaign.brand, campaign=campaign)
    if (from_state, to_state) == (State.CAMPAIGN_APPROVED, State.COMPLETED):
        return make_case(org, from_state, kind=Kind.RESUBMIT, numbers=[])
    return make_case(org, from_state)


@pytest.mark.parametrize(("from_state", "to_state"), ALLOWED)
def test_allowed_transition_changes_state_with_audit_and_timeline(
    org, support, from_state, to_state, mailoutbox, django_capture_on_commit_callbacks
):
    case = case_for(org, from_state, to_state)
    audits, events = AuditEvent.objects.count(), case.events.count()

    with django_capture_on_commit_callbacks(execute=True):
        moved = transition(case, to_state, support, text="because")

    assert moved.state == to_state and case.state == to_state
    case.refresh_from_db()
    assert case.state == to_state
    assert AuditEvent.objects.count() == audits + 1
    audit = AuditEvent.objects.first()
    assert audit.action == f"registration_case.{to_state}" and audit.organisation == org
    assert audit.details["from_state"] == from_state and audit.details["to_state"] == to_state
    # Who did it and to which case: the activity log names both.
    assert audit.actor == support and (audit.target_type, audit.target_id) == (
        "compliance.RegistrationCase",
        str(case.pk),
    )
    entry = case.events.get(kind=CaseEvent.Kind.TRANSITION, to_state=to_state)
    assert case.events.count() == events + 1 and entry.from_state == from_state and entry.text == "because"
    # The timeline shows who moved the case (support, as such) at the time the case shows as "in this state since".
    assert (entry.actor, entry.by_support, entry.created) == (support, True, case.state_changed)
    # The contact is emailed exactly when the new state needs them to act, about this case.
    if to_state in RegistrationCase.CUSTOMER_ACTION_STATES:
        assert len(mailoutbox) == 1 and mailoutbox[0].to == [case.contact_email]
        assert f"#{case.pk}" in mailoutbox[0].subject
    else:
        assert mailoutbox == []
    closed = to_state in RegistrationCase.CLOSED_STATES
    assert (case.closed_at is not None) == closed
    assert CaseNumber.objects.filter(case=case, is_open=True).exists() == (not closed)


def test_a_move_without_words_shows_none_on_the_timeline(org, support):
    case = make_case(org, State.OPENED)
    transition(case, State.FORM_SENT, support)
    assert case.events.get(kind=CaseEvent.Kind.TRANSITION, to_state=State.FORM_SENT).text == ""


def test_closing_a_case_frees_its_own_numbers_only(org, admin, support):
    kept, freed = make_authorised_numbers(org, 1), make_authorised_numbers(org, 1)
    other, closed = make_case(org, State.FORM_SENT, numbers=kept), make_case(org, State.FORM_SENT, numbers=freed)

    cancel_case(closed, support, reason="Opened by mistake")

    assert CaseNumber.objects.get(case=other).is_open
    with pytest.raises(CaseRefused, match=f"is already in case #{other.pk}"):
        open_case(org, admin, [kept[0].pk], contact_name="Casey", contact_email="casey@acme.example")
    assert open_case(org, admin, [freed[0].pk], contact_name="Casey", contact_email="casey@acme.example").pk


def test_the_reason_for_cancelling_is_in_the_activity_log(org, support):
    case = make_case(org, State.FORM_SENT)
    cancel_case(case, support, reason="Opened by mistake")
    audit = AuditEvent.objects.get(action="registration_case.cancelled")
    assert audit.details["reason"] == "Opened by mistake"


@pytest.mark.parametrize(("from_state", "to_state"), REFUSED)
def test_refused_transition_says_why_and_changes_nothing(org, support, from_state, to_state):
    case = make_case(org, from_state)
    before = RegistrationCase.objects.filter(pk=case.pk).values().get()
    audits, events = AuditEvent.objects.count(), CaseEvent.objects.count()

    with pytest.raises(CaseRefused) as refused:
        transition(case, to_state, support)

    label = State(from_state).label
    message = str(refused.value)
    if from_state == to_state:
        assert message == f"This case is already in '{label}': someone else just did this."
    else:
        assert message == f"This case is in '{label}': {RegistrationCase.REFUSALS[to_state]}."
    assert RegistrationCase.objects.filter(pk=case.pk).values().get() == before
    assert AuditEvent.objects.count() == audits and CaseEvent.objects.count() == events


def test_example_message_approving_a_brand_never_submitted(org, support):
    case = make_case(org, State.FORM_SENT)
    with pytest.raises(
        CaseRefused,
        match=r"^This case is in 'Form sent': a brand cannot be approved before it "
        r"was submitted\.$",
    ):
        transition(case, State.BRAND_APPROVED, support)


def test_campaign_straight_from_a_resubmitted_form_only_when_the_brand_was_approved(org, support):
    fresh = make_case(org, State.FORM_SUBMITTED)
    with pytest.raises(CaseRefused, match="submit the brand first"):
        transition(fresh, State.CAMPAIGN_SUBMITTED, support)
    assert State.CAMPAIGN_SUBMITTED not in allowed_transitions(fresh)

    returned = make_case(org, State.FORM_SUBMITTED, brand_registry_id="BTEST02", brand_approved_at=fresh.opened_at)
    assert State.CAMPAIGN_SUBMITTED in allowed_transitions(returned)
    assert transition(returned, State.CAMPAIGN_SUBMITTED, support).state == State.CAMPAIGN_SUBMITTED


def test_a_page_out_of_date_is_refused_with_the_current_state(org, support):
    case = make_case(org, State.BRAND_SUBMITTED)
    with pytest.raises(CaseRefused, match="changed while you were looking at it: it is now in 'Brand submitted'"):
        transition(case, State.CANCELLED, support, expected=State.FORM_SUBMITTED)
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED


# What a first registration with numbers may not do of what the table allows: the moves of other kinds of case, and
# submitting the campaign before the brand is approved.
NOT_FOR_A_FIRST_REGISTRATION = {
    State.OPENED: {State.NUMBERS_ASSIGNED, State.REMOVING_NUMBERS},
    State.FORM_SUBMITTED: {State.CAMPAIGN_SUBMITTED},
    State.CAMPAIGN_APPROVED: {State.COMPLETED},
}


def test_allowed_transitions_match_the_table(org):
    for state in State.values:
        case = make_case(org, state)
        expected = set(RegistrationCase.TRANSITIONS[state]) - NOT_FOR_A_FIRST_REGISTRATION.get(state, set())
        assert allowed_transitions(case) == expected, state


@pytest.mark.parametrize(
    ("kind", "offered"),
    [
        (Kind.ADD_NUMBERS, {State.NUMBERS_ASSIGNED, State.CANCELLED}),
        (Kind.REMOVE_NUMBERS, {State.REMOVING_NUMBERS, State.CANCELLED}),
        (Kind.NEW_CAMPAIGN, {State.FORM_SENT, State.CANCELLED}),
        (Kind.RESUBMIT, {State.FORM_SENT, State.CANCELLED}),
    ],
)
def test_an_opened_case_goes_the_way_of_its_kind(org, kind, offered):
    campaign = make_campaign(make_brand(org, registry_id="BKIND01"), registry_id="CKIND01")
    case = make_case(org, State.OPENED, kind=kind, brand=campaign.brand, campaign=campaign)
    assert allowed_transitions(case) == offered


def test_a_brand_is_submitted_only_by_a_first_registration_and_never_twice(org, support):
    brand = make_brand(org, registry_id="BKIND01")
    new_campaign = make_case(org, State.FORM_SUBMITTED, kind=Kind.NEW_CAMPAIGN, brand=brand)
    with pytest.raises(CaseRefused, match="the brand is registered once"):
        transition(new_campaign, State.BRAND_SUBMITTED, support)
    assert transition(new_campaign, State.CAMPAIGN_SUBMITTED, support).state == State.CAMPAIGN_SUBMITTED
