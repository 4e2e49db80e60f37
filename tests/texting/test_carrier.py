"""Accepted texts go to the carrier (the simulator, over real HTTP) through a Celery task; delivery results come
back by polling or by the signed callback; retries never send a text twice."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from carrier import SIGNATURE_HEADER, get_gateway, sign_webhook_body
from carrier.gateway import CarrierUnavailable
from portal.transitions import TransitionRefused
from tests.texting.factories import APP_VERSION, issue_token, make_texter, send
from texting import actions, tasks
from texting.models import Message

CALLBACK_URL = "/carrier/callbacks/messages"


def wait_for(predicate, timeout=15.0, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def final(message_id):
    return Message.objects.get(pk=message_id).status in ("delivered", "failed")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_texts_reach_the_carrier_through_a_real_worker(carrier_sim, celery_worker, settings, admin):
    settings.TEXTING_POLL_SECONDS = 0.2
    carrier_sim.set_faults(delay_seconds=0.5)  # the carrier answers "queued" first; the worker polls
    user, number = make_texter(admin.organisation)
    token = issue_token(admin, user)
    api = Client()
    ids = []
    for to in ("+1 415 555 0123", "+1 415 555 0000"):  # the simulator fails destinations ending 0000
        response = api.post(
            "/api/texting/messages",
            data=json.dumps({"to": to, "body": "Your order shipped."}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
        )
        assert response.status_code == 202
        ids.append(response.json()["id"])
    assert wait_for(lambda: all(final(i) for i in ids)), list(Message.objects.values_list("status", flat=True))
    delivered, failed = (Message.objects.get(pk=i) for i in ids)
    assert delivered.status == "delivered" and delivered.carrier_message_id.startswith("M")
    assert failed.status == "failed" and failed.status_detail
    stats = carrier_sim.stats()
    assert stats["writes_created"]["messages"] == 2 and stats["duplicate_submissions"] == 0
    assert stats["requests"].get("GET /v1/messages/{id}", 0) >= 1  # followed by polling


@pytest.mark.django_db
def test_a_send_that_timed_out_is_retried_with_the_same_key_and_sent_once(carrier_sim, admin):
    user, _ = make_texter(admin.organisation)
    message = send(user)  # accepted; the task is ours to run
    carrier_sim.set_faults(timeout_rate=1.0)  # the carrier takes the text, then answers too late
    with pytest.raises(CarrierUnavailable):
        actions.hand_to_carrier(message.pk, get_gateway())
    message.refresh_from_db()
    assert message.status == "accepted" and message.carrier_message_id == ""
    carrier_sim.set_faults(timeout_rate=0.0)
    assert tasks.send_message.delay(message.pk).get() == "accepted"  # queued at the carrier
    assert tasks.send_message.delay(message.pk).get() is None  # already handed over: nothing to do
    assert tasks.poll_message_status.delay(message.pk).get() == "delivered"
    stats = carrier_sim.stats()
    assert stats["writes_created"]["messages"] == 1 and stats["duplicate_submissions"] == 0
    assert stats["idempotent_replays"] == 1
    message.refresh_from_db()
    assert message.status == "delivered" and message.carrier_message_id


@pytest.mark.django_db
def test_a_text_the_carrier_refuses_ends_failed_with_its_reason(carrier_sim, admin):
    user, _ = make_texter(admin.organisation)
    message = send(user)
    Message.objects.filter(pk=message.pk).update(body="")  # the carrier refuses an empty text (HTTP 400)
    assert tasks.send_message.delay(message.pk).get() == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "refused" in message.status_detail


@pytest.mark.django_db
def test_without_a_broker_an_unreachable_carrier_fails_the_text_visibly(admin):
    user, _ = make_texter(admin.organisation)  # the carrier URL points at a closed port (tests/texting/conftest)
    message = send(user)
    assert tasks.send_message.delay(message.pk).get() == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "could not be reached" in message.status_detail


@pytest.mark.django_db
def test_stale_texts_are_resumed_by_the_periodic_task(carrier_sim, admin):
    user, _ = make_texter(admin.organisation)
    message = send(user)
    Message.objects.filter(pk=message.pk).update(status_changed=timezone.now() - timedelta(minutes=11))
    assert tasks.repoll_pending_messages.delay().get() == 1  # never handed over: send it
    message.refresh_from_db()
    assert message.carrier_message_id and message.status == "accepted"
    assert tasks.repoll_pending_messages.delay().get() == 1  # still no final status: poll it
    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_carrier_callback_delivers_the_status_and_duplicates_are_harmless(
    carrier_sim, live_server, settings, admin
):
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url
    carrier_sim.set_faults(delay_seconds=0.3, duplicate_callbacks=True)
    user, _ = make_texter(admin.organisation)
    message = send(user)  # committed: the in-process task hands it over at once (no worker, so no polling)
    assert wait_for(lambda: final(message.pk), timeout=10)
    message.refresh_from_db()
    assert message.status == "delivered"
    assert wait_for(lambda: carrier_sim.stats()["callbacks_sent"] == 2, timeout=10)
    assert carrier_sim.stats()["callbacks_failed"] == 0
    assert carrier_sim.stats()["requests"].get("GET /v1/messages/{id}", 0) == 0  # the callback did it


def post_callback(client, settings, payload, signature=None):
    raw = json.dumps({"type": "message.updated", "id": payload.get("message_id"), "payload": payload}).encode()
    signature = signature if signature is not None else sign_webhook_body(raw, settings.CARRIER_WEBHOOK_SECRET)
    return client.post(
        CALLBACK_URL,
        data=raw,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )


@pytest.mark.django_db
def test_callbacks_are_verified_and_applied_in_order_only(client, settings, admin):
    user, _ = make_texter(admin.organisation)
    message = send(user)
    payload = {"message_id": "MABC", "reference": message.reference, "status": "sent", "reason": ""}
    assert post_callback(client, settings, payload, signature="f" * 64).status_code == 401
    message.refresh_from_db()
    assert message.status == "accepted"
    assert post_callback(client, settings, payload).json() == {"applied": True}
    delivered = {**payload, "status": "delivered"}
    assert post_callback(client, settings, delivered).json() == {"applied": True}
    assert post_callback(client, settings, delivered).json() == {"applied": False}  # duplicate
    assert post_callback(client, settings, payload).json() == {"applied": False}  # late "sent"
    late_failure = {**payload, "status": "failed", "reason": "Destination unreachable"}
    assert post_callback(client, settings, late_failure).json() == {"applied": False}
    message.refresh_from_db()
    assert message.status == "delivered" and message.carrier_message_id == "MABC"
    unknown = {"message_id": "MZZZ", "reference": "texting-message-999999", "status": "delivered"}
    assert post_callback(client, settings, unknown).json() == {"applied": False}
    raw = b'{"payload": {"status": 1}}'
    assert (
        client.post(
            CALLBACK_URL,
            data=raw,
            content_type="application/json",
            **{
                f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook_body(
                    raw, settings.CARRIER_WEBHOOK_SECRET
                )
            },
        ).status_code
        == 400
    )


@pytest.mark.django_db
def test_a_blocked_text_never_goes_to_the_carrier(carrier_sim, admin):
    user, _ = make_texter(admin.organisation)
    blocked = send(user, to="+44 7911 123456")
    assert tasks.send_message.delay(blocked.pk).get() is None
    assert carrier_sim.stats()["writes_created"]["messages"] == 0
    with pytest.raises(TransitionRefused):
        actions.set_message_status(blocked.pk, Message.Status.SENT)
    assert Message.objects.get(pk=blocked.pk).status == "blocked"


@pytest.mark.django_db
def test_a_text_still_waiting_when_texting_is_switched_off_is_not_sent(carrier_sim, admin):
    from tests.texting.factories import enable_texting

    user, _ = make_texter(admin.organisation)
    message = send(user)
    enable_texting(admin.organisation, on=False)
    assert tasks.send_message.delay(message.pk).get() == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and "switched off" in message.status_detail
    assert carrier_sim.stats()["writes_created"]["messages"] == 0


@pytest.fixture
def broker_down(monkeypatch):
    """Celery publishing to a broker nobody answers (a closed port), as when the broker's Redis is down."""
    from portal.celery import app, override

    down = "redis://127.0.0.1:9/0"
    monkeypatch.setenv("CELERY_BROKER_URL", down)  # Celery reads the variable before its configuration
    previous = override(
        task_always_eager=False,
        broker_url=down,
        broker_connection_timeout=0.5,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        task_publish_retry=False,
    )
    pools = app._pool, app.amqp._producer_pool  # connections to the real broker, if any: set aside, not closed
    app._pool = app.amqp._producer_pool = None
    yield
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool, app.amqp._producer_pool = pools
    override(**previous)


@pytest.mark.django_db
def test_a_text_accepted_while_the_broker_is_down_is_answered_and_sent_later(
    client, admin, broker_down, django_capture_on_commit_callbacks, caplog
):
    """The text is stored before the hand-over to the worker is attempted: the sender gets their 202 (not a 500 for
    a text that exists) and the failed hand-over is logged. The periodic re-poll sends such a text later
    (test_stale_texts_are_resumed_by_the_periodic_task)."""
    user, _ = make_texter(admin.organisation)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/texting/messages",
            {"to": "+14165550123", "body": "On our way."},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {issue_token(admin, user)}",
            HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
        )
    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert message.status == "accepted" and not message.carrier_message_id
    assert any(
        "on_commit" in record.getMessage() and "127.0.0.1:9" in record.getMessage()
        for record in caplog.records
        if record.levelname == "ERROR"
    )
