"""Brands, campaigns and number assignment against the carrier simulator over real HTTP: approvals and rejections
by rule, refusals, transient failures retried without duplicates, polling, signed callbacks (duplicates harmless),
and the whole round trip through a real Celery worker."""

import json
import time

import pytest
from django.urls import reverse

from carrier import SIGNATURE_HEADER, get_gateway, sign_webhook_body
from carrier.gateway import CarrierUnavailable
from carrier.simulator.rules import BRAND_IDENTITY_MISMATCH, CAMPAIGN_SAMPLES_MISMATCH
from compliance import actions, tasks
from compliance.models import CaseEvent, RegistrationCase
from provisioning.models import PhoneNumber

from .factories import make_case

State = RegistrationCase.State


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks actions enqueue after commit (in-process: Celery is eager by default in tests)."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def submitted_case(org, **form):
    return make_case(org, State.FORM_SUBMITTED, brand_registry_id="", form=form)


def poll_until(case, state, attempts=20):
    """Run the periodic poll (as beat would, every 10 minutes) until the case reaches `state`."""
    for _ in range(attempts):
        case.refresh_from_db()
        if case.state == state:
            return
        tasks.poll_open_registrations.delay()
    case.refresh_from_db()
    assert case.state == state, case.carrier_problem


def registered(case):
    return set(PhoneNumber.objects.filter(registration_case_lines__case=case).values_list("texting_state", flat=True))


@pytest.mark.django_db
def test_happy_path_brand_campaign_numbers(carrier_sim, org, support, run_on_commit, mailoutbox):
    case = submitted_case(org)
    run_on_commit(actions.submit_brand, case, support)
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED and case.brand.identity_status == "VERIFIED"
    assert case.brand.registry_id.startswith("B") and len(case.brand.registry_id) == 7

    run_on_commit(actions.submit_campaign, case, support)
    case.refresh_from_db()
    assert case.state == State.CAMPAIGN_APPROVED and case.campaign_registry_id.startswith("C")

    run_on_commit(actions.assign_numbers, case, support)
    case.refresh_from_db()
    assert case.state == State.COMPLETED and registered(case) == {PhoneNumber.TextingState.REGISTERED}
    assert [m.subject for m in mailoutbox] == [f"Your numbers are registered for business texting (case #{case.pk})"]
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds.count("carrier") == 2  # the registry received the brand, then the campaign
    stats = carrier_sim.stats()
    assert stats["writes_created"]["brands"] == 1 and stats["writes_created"]["campaigns"] == 1
    assert stats["duplicate_submissions"] == 0


@pytest.mark.django_db
def test_brand_rejected_by_rule_goes_back_to_the_customer(carrier_sim, org, support, run_on_commit, mailoutbox):
    case = submitted_case(org, legal_name="Rejected Widgets LLC")
    run_on_commit(actions.submit_brand, case, support)
    case.refresh_from_db()
    assert case.state == State.BRAND_REJECTED and case.brand.reason == BRAND_IDENTITY_MISMATCH
    assert case.customer_may_edit_form
    assert BRAND_IDENTITY_MISMATCH in mailoutbox[0].body


@pytest.mark.django_db
def test_campaign_under_an_unverified_brand_is_refused_and_recorded_as_rejected(
    carrier_sim, org, support, run_on_commit
):
    case = submitted_case(org, legal_name="Unverified Gadgets Inc.")
    run_on_commit(actions.submit_brand, case, support)
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED and case.brand.identity_status == "UNVERIFIED"
    run_on_commit(actions.submit_campaign, case, support)
    case.refresh_from_db()
    assert case.state == State.CAMPAIGN_REJECTED
    assert "The registry refused the campaign" in case.campaign.reason and "UNVERIFIED" in case.campaign.reason
    assert carrier_sim.stats()["writes_created"]["campaigns"] == 0


@pytest.mark.django_db
def test_campaign_rejected_by_rule(carrier_sim, org, support, run_on_commit):
    case = submitted_case(org, description="Rejected: customer care conversations for Acme customers who asked.")
    run_on_commit(actions.submit_brand, case, support)
    run_on_commit(actions.submit_campaign, case, support)
    case.refresh_from_db()
    assert case.state == State.CAMPAIGN_REJECTED and case.campaign.reason == CAMPAIGN_SAMPLES_MISMATCH


@pytest.mark.django_db
def test_transient_errors_are_retried_with_the_same_key_and_never_duplicate(carrier_sim, org, support, run_on_commit):
    carrier_sim.set_faults(error_rate=0.5, seed=7)
    case = submitted_case(org)
    run_on_commit(actions.submit_brand, case, support)
    poll_until(case, State.BRAND_APPROVED)
    run_on_commit(actions.submit_campaign, case, support)
    poll_until(case, State.CAMPAIGN_APPROVED)
    run_on_commit(actions.assign_numbers, case, support)
    poll_until(case, State.COMPLETED)
    stats = carrier_sim.stats()
    assert case.state == State.COMPLETED, case.carrier_problem
    assert stats["injected_errors"] > 0 and stats["duplicate_submissions"] == 0
    assert stats["writes_created"]["brands"] == 1 and stats["writes_created"]["campaigns"] == 1


@pytest.mark.django_db
def test_a_timed_out_submission_is_reconciled_not_repeated(carrier_sim, org, support):
    case = submitted_case(org)
    actions.submit_brand(case, support)  # state only: no on_commit tasks run here
    carrier_sim.set_faults(timeout_rate=1.0)
    with pytest.raises(CarrierUnavailable):
        actions.send_brand_to_carrier(case.pk, get_gateway())  # the registry got it; the answer came too late
    carrier_sim.set_faults(timeout_rate=0.0)
    actions.send_brand_to_carrier(case.pk, get_gateway())
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED
    stats = carrier_sim.stats()
    assert stats["writes_created"]["brands"] == 1 and stats["duplicate_submissions"] == 0
    assert stats["requests"]["GET /v1/brands"] == 1  # looked up by reference before trying again


@pytest.mark.django_db
def test_carrier_down_for_good_leaves_the_case_waiting_and_tells_support(carrier_sim, org, support, run_on_commit):
    carrier_sim.set_faults(error_rate=1.0)
    case = submitted_case(org)
    run_on_commit(actions.submit_brand, case, support)
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED
    assert "could not be reached" in case.carrier_problem
    # The periodic poll resumes it once the carrier is back.
    carrier_sim.set_faults(error_rate=0.0)
    assert tasks.poll_open_registrations.delay().get() == 1  # registers the brand (reconciling first)...
    poll_until(case, State.BRAND_APPROVED)  # ... and a later poll reads the registry's decision
    assert case.carrier_problem == ""
    assert carrier_sim.stats()["duplicate_submissions"] == 0


@pytest.mark.django_db
def test_polling_applies_a_decision_made_later(carrier_sim, org, support, run_on_commit):
    carrier_sim.set_faults(delay_seconds=0.3)
    case = submitted_case(org)
    run_on_commit(actions.submit_brand, case, support)
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED and case.brand.registry_id  # pending at the registry
    time.sleep(0.35)
    tasks.poll_open_registrations.delay()
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED


def signed_post(client, body: dict, settings):
    raw = json.dumps(body).encode()
    return client.post(
        reverse("compliance:registration_callback"),
        data=raw,
        content_type="application/json",
        **{
            f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook_body(
                raw, settings.CARRIER_WEBHOOK_SECRET
            )
        },
    )


@pytest.mark.django_db
def test_signed_callback_applies_once_and_duplicates_are_harmless(
    client, settings, org, mailoutbox, django_capture_on_commit_callbacks
):
    settings.CARRIER_WEBHOOK_SECRET = "test-secret"
    case = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="BQ1W2E3")
    event = {
        "type": "brand.updated",
        "id": "BQ1W2E3",
        "reference": case.brand_reference,
        "payload": {
            "brand_id": "BQ1W2E3",
            "reference": case.brand_reference,
            "status": "REJECTED",
            "identity_status": "UNVERIFIED",
            "reason": "Tax number mismatch",
        },
    }
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_post(client, event, settings)
        second = signed_post(client, event, settings)
    assert first.json() == {"applied": True, "known": True} and second.json() == {"applied": False, "known": True}
    case.refresh_from_db()
    assert case.state == State.BRAND_REJECTED and case.brand.reason == "Tax number mismatch"
    assert case.events.filter(kind=CaseEvent.Kind.TRANSITION, to_state=State.BRAND_REJECTED).count() == 1
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_callback_for_a_brand_not_recorded_yet_is_matched_by_reference(client, settings, org):
    settings.CARRIER_WEBHOOK_SECRET = "test-secret"
    case = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="")
    event = {
        "type": "brand.updated",
        "id": "BZZZ111",
        "reference": case.brand_reference,
        "payload": {
            "brand_id": "BZZZ111",
            "reference": case.brand_reference,
            "status": "APPROVED",
            "identity_status": "VERIFIED",
            "reason": "",
        },
    }
    assert signed_post(client, event, settings).json()["applied"] is True
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED and case.brand.registry_id == "BZZZ111"
    stale = {**event, "payload": {**event["payload"], "reference": "case-999999-brand-1", "brand_id": "BOTHER1"}}
    assert signed_post(client, stale, settings).status_code == 202


@pytest.mark.django_db
def test_malformed_or_forged_callbacks_are_refused(client, settings, org):
    settings.CARRIER_WEBHOOK_SECRET = "test-secret"
    case = make_case(org, State.CAMPAIGN_SUBMITTED)
    url = reverse("compliance:registration_callback")
    body = json.dumps(
        {"type": "campaign.updated", "payload": {"campaign_id": "CTEST01", "reference": "x", "status": "ACTIVE"}}
    ).encode()
    forged = client.post(
        url,
        data=body,
        content_type="application/json",
        **{"HTTP_X_CARRIER_SIGNATURE": sign_webhook_body(body, "wrong-secret")},
    )
    assert forged.status_code == 403
    junk = b'{"type": "campaign.updated"}'
    assert (
        client.post(
            url,
            data=junk,
            content_type="application/json",
            HTTP_X_CARRIER_SIGNATURE=sign_webhook_body(junk, "test-secret"),
        ).status_code
        == 400
    )
    case.refresh_from_db()
    assert case.state == State.CAMPAIGN_SUBMITTED


@pytest.mark.django_db(transaction=True)
def test_the_simulator_calls_back_and_duplicate_callbacks_are_harmless(
    carrier_sim, live_server, settings, org, support
):
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url
    carrier_sim.set_faults(delay_seconds=0.3, duplicate_callbacks=True)
    case = submitted_case(org)
    actions.submit_brand(case, support)  # transactional: on_commit runs the (eager) task at once
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED
    deadline = time.monotonic() + 10
    while case.state == State.BRAND_SUBMITTED and time.monotonic() < deadline:
        time.sleep(0.1)
        case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED
    deadline = time.monotonic() + 5
    while carrier_sim.stats()["callbacks_sent"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert carrier_sim.stats()["callbacks_sent"] == 2
    assert case.events.filter(to_state=State.BRAND_APPROVED).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_round_trip_through_a_real_worker(celery_worker, carrier_sim, settings, org, support):
    settings.REGISTRATION_POLL_SECONDS = 0.2
    carrier_sim.set_faults(delay_seconds=0.3, error_rate=0.2, seed=3)
    case = submitted_case(org)

    def wait_for(state, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            case.refresh_from_db()
            if case.state == state:
                return
            time.sleep(0.1)
        pytest.fail(f"case stayed {case.state} (expected {state}); carrier: {case.carrier_problem}")

    actions.submit_brand(case, support)
    wait_for(State.BRAND_APPROVED)
    actions.submit_campaign(case, support)
    wait_for(State.CAMPAIGN_APPROVED)
    actions.assign_numbers(case, support)
    wait_for(State.COMPLETED)
    assert registered(case) == {PhoneNumber.TextingState.REGISTERED}
    stats = carrier_sim.stats()
    assert stats["duplicate_submissions"] == 0
    assert stats["writes_created"]["brands"] == 1 and stats["writes_created"]["campaigns"] == 1


@pytest.mark.django_db
def test_a_callback_goes_to_the_case_waiting_for_it_not_a_later_case_of_the_same_brand(client, settings, org):
    """A later case about the same brand (another campaign, numbers added) must not catch the brand's answer."""
    settings.CARRIER_WEBHOOK_SECRET = "test-secret"
    waiting = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="BQ9W8E7")
    later = make_case(org, State.OPENED, kind=RegistrationCase.Kind.NEW_CAMPAIGN, brand=waiting.brand)
    assert later.pk > waiting.pk
    payload = {"brand_id": "BQ9W8E7", "reference": waiting.brand_reference, "status": "APPROVED"}
    answer = signed_post(client, {"type": "brand.updated", "id": "BQ9W8E7", "payload": payload}, settings)
    assert answer.json() == {"applied": True, "known": True}
    waiting.refresh_from_db()
    assert waiting.state == State.BRAND_APPROVED and waiting.brand.status == "approved"
