"""From a placed order to the carrier's answer: Celery tasks against the carrier simulator over loopback.

Every number ends authorised or failed exactly once; no chunk is ever sent twice to the carrier, whatever faults the
carrier injects or however often a task or callback is delivered. "Sent twice" is judged by what the carrier
received for each chunk's reference, so a blind resend counts even when its idempotency key made it harmless."""

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from carrier import HttpCarrierGateway, sign_webhook_body
from portal.models import AuditEvent
from provisioning import tasks
from provisioning.actions import place_authorisation_order
from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber
from tests.factories import make_location, make_numbers


@pytest.fixture
def location(org):
    return make_location(org, "San Francisco HQ")


def place(admin, location, numbers, capture):
    with capture(execute=True):
        order, created = place_authorisation_order(
            admin.organisation, admin, location, [n.pk for n in numbers], str(uuid.uuid4())
        )
    assert created
    order.refresh_from_db()
    return order


def assert_every_number_decided_once(order):
    lines = list(order.lines.select_related("number"))
    assert lines and all(line.state != OrderLine.State.PENDING and not line.is_open for line in lines)
    for line in lines:
        expected = (
            PhoneNumber.TextingState.AUTHORISED
            if line.state == OrderLine.State.AUTHORISED
            else PhoneNumber.TextingState.FAILED
        )
        assert line.number.texting_state == expected
        if line.state == OrderLine.State.FAILED:
            assert line.reason and line.number.texting_state_reason == line.reason
    assert order.status == AuthorisationOrder.Status.COMPLETED and order.completed_at is not None


def assert_each_chunk_sent_once(carrier_sim, order):
    """Every chunk of `order` the carrier holds reached it in exactly one POST, which created it: no second order for
    its reference and no resend answered from the idempotency keys (the portal looked it up instead)."""
    stats = carrier_sim.stats()
    received = stats["by_reference"]["orders"]
    for reference in [chunk.reference for chunk in order.chunks.exclude(carrier_order_id="")]:
        counts = received.get(reference, {})
        assert (counts.get("created"), counts.get("replayed")) == (1, 0), (reference, counts)
    assert stats["resubmissions"] == 0 and stats["duplicate_submissions"] == 0


@pytest.mark.django_db
def test_order_is_submitted_and_each_number_gets_the_carriers_answer(
    admin, location, carrier_sim, django_capture_on_commit_callbacks
):
    numbers = make_numbers(location, 12)  # the first ends in 0000: the simulator rejects it
    assert numbers[0].e164.endswith("0000")
    order = place(admin, location, numbers, django_capture_on_commit_callbacks)

    assert_every_number_decided_once(order)
    failed = order.lines.get(state=OrderLine.State.FAILED)
    assert failed.number == numbers[0] and "not provisioned" in failed.reason.lower()
    assert order.lines.filter(state=OrderLine.State.AUTHORISED).count() == 11
    assert carrier_sim.stats()["writes_created"]["orders"] == 1
    assert_each_chunk_sent_once(carrier_sim, order)
    # The organisation's activity log shows the order completing once, with its outcome.
    completed = AuditEvent.objects.get(action="authorisation_order.completed")
    assert completed.organisation == admin.organisation and completed.target_id == str(order.pk)
    assert completed.details == {"pending": 0, "authorised": 11, "failed": 1}


@pytest.mark.django_db
def test_large_orders_go_in_chunks_and_a_redelivered_task_submits_nothing_twice(
    admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
):
    settings.AUTHORISATION_CHUNK_SIZE = 40
    numbers = make_numbers(location, 100, start=1)
    order = place(admin, location, numbers, django_capture_on_commit_callbacks)
    assert order.chunks.count() == 3
    tasks.submit_authorisation_order.delay(order.pk)  # delivered again after completion
    tasks.poll_authorisation_order.delay(order.pk)
    assert_every_number_decided_once(order)
    assert carrier_sim.stats()["writes_created"]["orders"] == 3
    assert_each_chunk_sent_once(carrier_sim, order)


def place_while_every_answer_times_out(admin, location, carrier_sim, settings, capture):
    """Place a 5-number order while the carrier does the work but answers every request too late, and has forgotten
    its idempotency keys (as after a restart): only a lookup by reference stands between a retry and a second carrier
    order. The submission task runs out of its 2 retries."""
    settings.AUTHORISATION_MAX_RETRIES = 2
    carrier_sim.set_faults(timeout_rate=1.0, forget_idempotency_keys=True)
    return place(admin, location, make_numbers(location, 5, start=1), capture)


def repoll_once_the_carrier_answers(carrier_sim, order, capture):
    """The carrier answers again and the periodic re-poll resumes the order."""
    carrier_sim.set_faults(timeout_rate=0.0)
    AuthorisationOrder.objects.filter(pk=order.pk).update(created=timezone.now() - timedelta(minutes=30))
    with capture(execute=True):
        assert tasks.repoll_stuck_orders() == 1
    order.refresh_from_db()


@pytest.mark.django_db
def test_after_a_timeout_the_chunk_is_reconciled_not_submitted_again(
    admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
):
    order = place_while_every_answer_times_out(
        admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
    )

    # Out of retries, but the carrier may hold the order: nothing is failed blind, the numbers stay pending.
    chunk = order.chunks.get()
    assert chunk.unconfirmed and chunk.attempts == 3
    assert set(order.lines.values_list("state", flat=True)) == {OrderLine.State.PENDING}
    assert order.is_open and carrier_sim.stats()["writes_created"]["orders"] == 1

    # The re-poll finds the order by its reference instead of sending it again.
    repoll_once_the_carrier_answers(carrier_sim, order, django_capture_on_commit_callbacks)
    assert_every_number_decided_once(order)
    assert order.lines.filter(state=OrderLine.State.AUTHORISED).count() == 5
    assert carrier_sim.stats()["writes_created"]["orders"] == 1
    assert_each_chunk_sent_once(carrier_sim, order)
    # One POST, then a lookup at each later attempt: the two retries (answered too late) and the re-poll.
    assert carrier_sim.stats()["by_reference"]["orders"][chunk.reference]["lookups"] == 3


@pytest.mark.django_db
def test_without_the_lookup_by_reference_the_carrier_gets_the_chunk_again(
    admin, location, carrier_sim, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The test above can fail: with the carrier client's lookup answering "no such order" (the client of the
    outside party is patched, the portal's own code is not), each later attempt resends the chunk blind, and the
    carrier, which forgot its keys, holds a second and a third order for it."""
    monkeypatch.setattr(HttpCarrierGateway, "find_number_order", lambda self, reference: None)
    order = place_while_every_answer_times_out(
        admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
    )
    repoll_once_the_carrier_answers(carrier_sim, order, django_capture_on_commit_callbacks)

    assert_every_number_decided_once(order)  # the administrator sees nothing wrong...
    with pytest.raises(AssertionError):
        assert_each_chunk_sent_once(carrier_sim, order)  # ...but the carrier does
    stats = carrier_sim.stats()
    assert stats["writes_created"]["orders"] == 4 and stats["duplicate_submissions"] == 3


@pytest.mark.django_db
def test_carrier_down_for_good_fails_the_lines_with_the_reason(
    admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
):
    settings.AUTHORISATION_MAX_RETRIES = 2
    carrier_sim.set_faults(error_rate=1.0)
    numbers = make_numbers(location, 4, start=1)
    order = place(admin, location, numbers, django_capture_on_commit_callbacks)
    assert_every_number_decided_once(order)
    assert set(order.lines.values_list("state", flat=True)) == {OrderLine.State.FAILED}
    assert "could not be reached" in order.lines.first().reason
    assert carrier_sim.stats()["writes_created"]["orders"] == 0
    # The numbers can be ordered again.
    assert PhoneNumber.objects.filter(texting_state=PhoneNumber.TextingState.FAILED).count() == 4


@pytest.mark.django_db
def test_carrier_callback_applies_results_once_and_refuses_forgeries(admin, location, carrier_sim, settings, client):
    settings.AUTHORISATION_POLL_SECONDS = 60
    numbers = make_numbers(location, 3, start=1)
    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [n.pk for n in numbers], str(uuid.uuid4())
    )
    from carrier import get_gateway
    from provisioning.actions import submit_chunk

    chunk = order.chunks.get()
    submit_chunk(chunk.pk, get_gateway())
    chunk.refresh_from_db()
    payload = {
        "order_id": chunk.carrier_order_id,
        "reference": chunk.reference,
        "status": "completed",
        "numbers": [{"e164": n.e164, "status": "authorised", "reason": ""} for n in numbers],
    }
    body = json.dumps(
        {
            "type": "number_order.completed",
            "id": chunk.carrier_order_id,
            "reference": chunk.reference,
            "payload": payload,
        }
    ).encode()
    url = reverse("provisioning:number_order_callback")

    forged = client.post(url, body, content_type="application/json", HTTP_X_CARRIER_SIGNATURE="0" * 64)
    assert forged.status_code == 403
    assert order.lines.filter(state=OrderLine.State.PENDING).count() == 3

    signature = sign_webhook_body(body, settings.CARRIER_WEBHOOK_SECRET)
    first = client.post(url, body, content_type="application/json", HTTP_X_CARRIER_SIGNATURE=signature)
    second = client.post(url, body, content_type="application/json", HTTP_X_CARRIER_SIGNATURE=signature)
    assert first.json() == {"applied": 3, "known": True}
    assert second.json() == {"applied": 0, "known": True}
    order.refresh_from_db()
    assert_every_number_decided_once(order)


@pytest.mark.django_db
def test_beat_resumes_orders_stuck_open(admin, location, carrier_sim, settings):
    numbers = make_numbers(location, 3, start=1)
    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [n.pk for n in numbers], str(uuid.uuid4())
    )  # on_commit never ran: the enqueue was lost
    AuthorisationOrder.objects.filter(pk=order.pk).update(created=timezone.now() - timedelta(minutes=30))
    other = make_location(admin.organisation)
    fresh, _ = place_authorisation_order(
        admin.organisation, admin, other, [make_numbers(other, 1)[0].pk], str(uuid.uuid4())
    )
    assert tasks.repoll_stuck_orders() == 1  # only the old one
    order.refresh_from_db()
    assert_every_number_decided_once(order)
    assert AuthorisationOrder.objects.get(pk=fresh.pk).status == AuthorisationOrder.Status.PLACED


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_with_carrier_faults_decides_every_number_exactly_once(
    admin, org, carrier_sim, settings, celery_worker
):
    """A real Celery worker on Redis, the simulator answering 30% 503s and 10% timeouts."""
    settings.AUTHORISATION_CHUNK_SIZE = 25
    settings.AUTHORISATION_RETRY_BASE_SECONDS = 0.05
    settings.AUTHORISATION_POLL_SECONDS = 0.2
    settings.AUTHORISATION_MAX_RETRIES = 30
    carrier_sim.set_faults(error_rate=0.3, timeout_rate=0.1, timeout_seconds=0.8, seed=7)
    location = make_location(org, "Fault Site")
    orders = []
    for batch in range(3):
        numbers = make_numbers(location, 60, start=batch * 100)
        order, _ = place_authorisation_order(org, admin, location, [n.pk for n in numbers], str(uuid.uuid4()))
        orders.append(order)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES).exists():
            break
        time.sleep(0.3)
    for order in orders:
        order.refresh_from_db()
        assert_every_number_decided_once(order)
    stats = carrier_sim.stats()
    chunks = OrderChunk.objects.count()
    for order in orders:
        assert_each_chunk_sent_once(carrier_sim, order)
    assert stats["writes_created"]["orders"] <= chunks
    assert stats["injected_errors"] > 0 and stats["injected_timeouts"] > 0
    # Numbers the carrier accepted are authorised; the one ending 0000 in each batch failed with its reason.
    assert OrderLine.objects.filter(state=OrderLine.State.FAILED, number__e164__endswith="0000").count() == 1


@pytest.mark.django_db
def test_a_chunk_the_carrier_refuses_fails_alone_and_the_rest_is_authorised(
    admin, location, carrier_sim, settings, django_capture_on_commit_callbacks
):
    """The carrier takes at most 1,000 numbers a request: a misconfigured chunk size makes it refuse the first
    chunk; only that chunk's numbers fail, with the carrier's words, and the second chunk is authorised."""
    settings.AUTHORISATION_CHUNK_SIZE = 1001
    numbers = make_numbers(location, 1003, start=1)
    order = place(admin, location, numbers, django_capture_on_commit_callbacks)
    assert order.status == AuthorisationOrder.Status.COMPLETED
    first, second = order.chunks.order_by("index")
    assert set(first.lines.values_list("state", flat=True)) == {OrderLine.State.FAILED}
    assert "refused" in first.lines.first().reason and "1000" in first.lines.first().reason.replace(",", "")
    assert set(second.lines.values_list("state", flat=True)) == {OrderLine.State.AUTHORISED}
    assert carrier_sim.stats()["writes_created"]["orders"] == 1


@pytest.mark.django_db
def test_order_page_polls_while_open_and_stops_when_done(
    admin_client, admin, location, carrier_sim, django_capture_on_commit_callbacks
):
    numbers = make_numbers(location, 2, start=1)
    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [n.pk for n in numbers], str(uuid.uuid4())
    )
    url = reverse("provisioning:order", args=[order.pk])
    open_page = admin_client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in open_page and "0 of 2 answered" in open_page
    with django_capture_on_commit_callbacks(execute=True):
        tasks.submit_authorisation_order.delay(order.pk)
    live = admin_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-live").content.decode()
    assert "<html" not in live and "hx-trigger" not in live
    assert "2 of 2 answered" in live and "Completed" in live
