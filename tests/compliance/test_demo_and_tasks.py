"""The demo data (one Acme case per state, one overdue, idempotent) and the periodic task beat runs by name."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command

from compliance import actions, tasks
from compliance.actions import CaseRefused
from compliance.demo import OVERDUE
from compliance.models import Brand, Campaign, CampaignNumber, RegistrationCase
from compliance.queries import help_reply_for_number
from portal.models import Organisation
from provisioning.models import PhoneNumber

from .factories import make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


def test_demo_tells_acme_s_registration_story_and_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    acme = Organisation.objects.get(name="Acme Corp")
    # One approved brand for Acme Corp itself (a subsidiary's is at the registry), registered once.
    assert [(b.legal_name, b.status) for b in acme.brands.order_by("legal_name")] == [
        ("Acme Corp", Brand.Status.APPROVED),
        ("Acme Labs LLC", Brand.Status.PENDING),
    ]
    # An active campaign with numbers, and a second one rejected and awaiting correction.
    active = Campaign.objects.get(organisation=acme, status=Campaign.Status.ACTIVE)
    assert active.campaign_numbers.filter(status=CampaignNumber.Status.ASSIGNED).count() == 6
    assert set(active.carrier_statuses.values_list("status", flat=True)) == {"accepted"}
    rejected = Campaign.objects.get(organisation=acme, status=Campaign.Status.REJECTED)
    waiting = rejected.cases.get()
    assert waiting.kind == RegistrationCase.Kind.NEW_CAMPAIGN and waiting.customer_may_edit_form
    # Cases of several kinds and states, one of them overdue.
    cases = RegistrationCase.objects.filter(organisation=acme)
    assert set(cases.values_list("kind", flat=True)) == set(RegistrationCase.Kind.values) - {"resubmit"}
    assert len(set(cases.values_list("state", flat=True))) >= 6
    assert [case.note for case in cases if case.is_overdue] == [f"Demo: {OVERDUE}."]
    # No case registers the approved brand again.
    assert cases.filter(kind="first_registration", brand__status="approved").count() == 1
    # The completed first registration's numbers can text (users' primary numbers).
    completed = cases.get(kind="first_registration", state=State.COMPLETED)
    numbers = PhoneNumber.objects.filter(registration_case_lines__case=completed)
    assert set(numbers.values_list("texting_state", flat=True)) == {PhoneNumber.TextingState.REGISTERED}
    assert numbers.filter(is_primary=True).count() == 4
    assert help_reply_for_number(numbers.first()).startswith("Acme Support:")
    # New numbers wait to join: one case for support to assign, one at the carrier, and more in no case.
    joining = cases.filter(kind="add_numbers")
    assert sorted(joining.values_list("state", flat=True)) == ["numbers_assigned", "opened"]
    # The Authorize wizard's demo location is untouched, and authorised numbers are left to open a new case.
    sf = PhoneNumber.objects.filter(location__name="San Francisco HQ")
    assert set(sf.values_list("texting_state", flat=True)) == {PhoneNumber.TextingState.NOT_AUTHORISED}
    from compliance.queries import numbers_available_for_case

    assert numbers_available_for_case(acme).count() >= 20
    # Every case has a timeline ending in its state.
    for case in cases:
        assert case.events.filter(kind="transition").last().to_state == case.state


def test_periodic_task_is_registered_under_the_name_beat_uses():
    from portal.celery import app

    name = settings.CELERY_BEAT_SCHEDULE["poll-open-registrations"]["task"]
    assert name == "compliance.tasks.poll_open_registrations" and name in app.tasks
    assert app.tasks[name].name == tasks.poll_open_registrations.name


def test_periodic_poll_picks_only_cases_waiting_on_the_carrier(org, carrier_sim):
    waiting = [
        make_case(org, state) for state in (State.BRAND_SUBMITTED, State.CAMPAIGN_SUBMITTED, State.NUMBERS_ASSIGNED)
    ]
    for state in (State.FORM_SENT, State.BRAND_APPROVED, State.COMPLETED):
        make_case(org, state)
    assert tasks.poll_open_registrations.delay().get() == 3
    for case in waiting:  # the simulator does not know these made-up registry ids: support is told
        case.refresh_from_db()
        assert case.last_polled_at is not None and "carrier refused" in case.carrier_problem


def test_no_messages_on_a_closed_case(org, admin):
    case = make_case(org, State.COMPLETED)
    with pytest.raises(CaseRefused, match="This case is completed"):
        actions.post_message(case, admin, "Thanks!")


def test_check_with_the_carrier_only_while_waiting(org, support):
    with pytest.raises(CaseRefused, match="not waiting for the carrier"):
        actions.check_with_carrier(make_case(org, State.FORM_SENT), support)
