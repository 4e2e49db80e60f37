"""One request id from the browser to the carrier: answered back, carried by every task the request enqueues, sent to
the carrier, and on every log line; logs as JSON lines with LOG_FORMAT=json."""

import json
import logging
import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from portal.observability import JsonFormatter, RequestIdFilter, TextFormatter
from provisioning.models import AuthorisationOrder
from tests.factories import make_location, make_numbers
from tests.portal.urlconf import override_urlconf

pytestmark = pytest.mark.django_db

AUTHORIZE = reverse("provisioning:authorize")
SELECT = reverse("provisioning:authorize_selection")
SUMMARY = reverse("provisioning:authorize_summary")
SUBMIT = reverse("provisioning:authorize_submit")


def test_the_callers_id_is_answered_back_and_a_bad_one_is_replaced():
    client = Client()
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a:42").headers["X-Request-ID"] == "lb-7f3a:42"
    for forged in ("two words", "x" * 65, "id\nFAKE LINE", ""):
        answered = client.get("/healthz", HTTP_X_REQUEST_ID=forged).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", answered), forged
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second  # a new one for each request without its own


def log_line(formatter, message="Order 7: poll failed", request_id="abc123", task="provisioning.tasks.poll"):
    record = logging.LogRecord("provisioning.tasks", logging.WARNING, __file__, 1, message, (), None)
    record.request_id, record.task = request_id, task
    return formatter.format(record)


def test_json_lines_carry_the_request_id_and_text_lines_too():
    entry = json.loads(log_line(JsonFormatter()))
    assert entry["request_id"] == "abc123" and entry["level"] == "WARNING" and entry["logger"] == "provisioning.tasks"
    assert entry["message"] == "Order 7: poll failed" and entry["task"] == "provisioning.tasks.poll"
    assert entry["time"].endswith("+00:00")
    # A message with a newline stays one line (log shippers split on newlines).
    assert "\n" not in log_line(JsonFormatter(), message="one\ntwo")
    text = log_line(TextFormatter())
    assert "WARNING provisioning.tasks [abc123 task:poll] Order 7: poll failed" in text


def test_log_format_is_checked_at_start(monkeypatch):
    import subprocess
    import sys

    env = {"DEBUG": "1", "LOG_FORMAT": "xml", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='portal.settings'; django.setup()",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "LOG_FORMAT must be 'text' or 'json'" in result.stderr


def place_order_through_the_wizard(client, location, numbers, request_id):
    client.get(AUTHORIZE, {"location": location.pk})
    for number in numbers:
        client.post(SELECT, {"op": "toggle", "location": location.pk, "id": number.pk, "number": number.pk})
    token = client.get(SUMMARY).content.decode().split('name="token" value="')[1].split('"')[0]
    response = client.post(SUBMIT, {"token": token}, HTTP_X_REQUEST_ID=request_id)
    assert response.status_code == 302 and response.headers["X-Request-ID"] == request_id
    return AuthorisationOrder.objects.get()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_one_id_follows_an_order_from_the_post_through_the_worker_to_the_carrier(
    admin, org, carrier_sim, settings, celery_worker, caplog
):
    settings.AUTHORISATION_POLL_SECONDS = 0.2
    carrier_sim.set_faults(delay_seconds=0.5)  # the carrier answers "pending" first, so the worker polls
    caplog.handler.addFilter(RequestIdFilter())  # what the portal's log handler puts on every line
    caplog.set_level(logging.INFO)
    location = make_location(org, "Journey Site")
    numbers = make_numbers(location, 2, start=1)
    client = Client()
    client.force_login(admin)
    journey = "journey-4f1c2a"

    order = place_order_through_the_wizard(client, location, numbers, journey)
    deadline = time.monotonic() + 30
    while AuthorisationOrder.objects.get(pk=order.pk).is_open and time.monotonic() < deadline:
        time.sleep(0.1)
    assert AuthorisationOrder.objects.get(pk=order.pk).status == AuthorisationOrder.Status.COMPLETED

    carrier_side = [r for r in caplog.records if r.name.startswith("carrier.simulator") and "answered" in r.message]
    submitted = [r for r in carrier_side if "POST /v1/number-orders " in r.getMessage()]
    polled = [r for r in carrier_side if "GET /v1/number-orders/" in r.getMessage()]
    assert submitted and polled, [r.getMessage() for r in carrier_side]
    # The carrier's log names the id of the POST for the submission and for the polls that the task enqueued later.
    assert {r.request_id for r in submitted + polled} == {journey}
    assert all(journey in r.getMessage() for r in submitted + polled)
    # The worker's own lines for this journey carry it too: Celery's task lines for both tasks.
    worker_lines = [r for r in caplog.records if r.name.startswith("celery") and journey == r.request_id]
    tasks = {getattr(r, "task", "-") for r in worker_lines}
    assert {"provisioning.tasks.submit_authorisation_order", "provisioning.tasks.poll_authorisation_order"} <= tasks


@pytest.mark.django_db
def test_a_task_run_with_no_request_behind_it_gets_an_id_of_its_own(carrier_sim, caplog, admin, org):
    """Beat's tasks: the id is made when the task starts, and every carrier call it makes carries it."""
    from provisioning.actions import place_authorisation_order
    from provisioning.tasks import submit_authorisation_order

    caplog.set_level(logging.INFO, logger="carrier.simulator")
    location = make_location(org, "Beat Site")
    numbers = make_numbers(location, 1, start=1)
    order, _ = place_authorisation_order(org, admin, location, [numbers[0].pk], "00000000-0000-0000-0000-00000000beef")
    submit_authorisation_order.delay(order.pk)
    ids = {r.request_id for r in caplog.records if r.name.startswith("carrier.simulator") and "answered" in r.message}
    assert len(ids) == 1 and re.fullmatch(r"[0-9a-f]{32}", ids.pop())


def test_the_error_page_gives_the_reference_that_finds_the_log_lines(caplog):
    from django.urls import path

    def broken(request):
        raise RuntimeError("a bug")

    client = Client(raise_request_exception=False)
    with override_urlconf([path("broken/", broken)]):
        response = client.get("/broken/", HTTP_X_REQUEST_ID="user-saw-this-1")
    assert response.status_code == 500
    assert "give support this reference: <code>user-saw-this-1</code>" in response.content.decode()
    logged = [r for r in caplog.records if r.name == "django.request" and r.levelname == "ERROR"]
    assert logged and RequestIdFilter().filter(logged[0]) and logged[0].request_id == "user-saw-this-1"
