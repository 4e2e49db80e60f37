"""The demo data (one Acme case per state, one overdue, idempotent) and the periodic task beat runs by name."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command

from compliance import actions, tasks
from compliance.actions import CaseRefused
from compliance.demo import OVERDUE
from compliance.models import RegistrationCase
from compliance.queries import help_reply_for_number
from provisioning.models import PhoneNumber

from .factories import make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


def test_demo_has_one_acme_case_in_each_state_one_overdue_and_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    cases = RegistrationCase.objects.filter(organisation__name="Acme Corp")
    assert sorted(cases.values_list("state", flat=True)) == sorted(State.values)
    overdue = [case for case in cases if case.is_overdue]
    assert [case.state for case in overdue] == [OVERDUE] == [State.BRAND_SUBMITTED]
    completed = cases.get(state=State.COMPLETED)
    numbers = PhoneNumber.objects.filter(registration_case_lines__case=completed)
    assert numbers.count() == 6
    assert set(numbers.values_list("texting_state", flat=True)) == {PhoneNumber.TextingState.REGISTERED}
    assert numbers.filter(is_primary=True).count() == 4  # users can text from them
    assert help_reply_for_number(numbers.first()).startswith("Acme Support:")
    # The Authorize wizard's demo location is untouched, and authorised numbers are left to open a new case.
    sf = PhoneNumber.objects.filter(location__name="San Francisco HQ")
    assert set(sf.values_list("texting_state", flat=True)) == {PhoneNumber.TextingState.NOT_AUTHORISED}
    from compliance.queries import numbers_available_for_case

    assert numbers_available_for_case(completed.organisation).count() >= 20
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
