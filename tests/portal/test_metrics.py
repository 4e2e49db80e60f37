"""`/metrics`: answered to the configured scraper only, and every metric moves when the work it counts is done."""

import os
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from portal.observability import exposition
from provisioning.actions import place_authorisation_order
from provisioning.models import AuthorisationOrder
from provisioning.tasks import submit_authorisation_order
from tests.compliance.factories import make_case
from tests.conftest import service_missing
from tests.factories import make_location, make_numbers
from tests.portal.metrics_helpers import SCRAPER_TOKEN, scrape, total, value
from tests.texting.factories import bulk_texts, make_texter, send
from texting import actions as texting_actions
from texting import tasks as texting_tasks
from texting.retention import purge_expired_messages

pytestmark = pytest.mark.django_db


# --- who may read it ----------------------------------------------------------------------------------------------


def test_the_scraper_with_the_token_gets_the_metrics_and_anyone_else_is_refused(settings, admin):
    settings.METRICS_TOKEN = SCRAPER_TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    client = Client()
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    assert b"# TYPE texting_hub_http_request_duration_seconds histogram" in answer.content

    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": SCRAPER_TOKEN}):
        refused = client.get("/metrics", **headers)
        assert refused.status_code == 403 and b"texting_hub" not in refused.content
        assert b"configured scraper only" in refused.content
    # Being signed in, even as a full administrator, is not being the scraper.
    client.force_login(admin)
    assert client.get("/metrics").status_code == 403


def test_an_allowed_address_is_let_in_and_a_forwarded_header_does_not_count(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.20.0.0/16", "192.0.2.7"]
    client = Client()
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.21.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 403


def test_with_nothing_configured_nobody_is_let_in(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = []
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_switched_off_there_are_no_metrics(settings):
    settings.METRICS_ENABLED = False
    settings.METRICS_TOKEN = SCRAPER_TOKEN
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {SCRAPER_TOKEN}").status_code == 404


# --- events -------------------------------------------------------------------------------------------------------


def test_request_latency_is_counted_by_view_method_and_status(settings, admin_client):
    labels = {"view": "portal:overview", "method": "GET", "status": "2xx"}
    before = scrape(settings)
    assert admin_client.get("/overview/").status_code == 200
    assert admin_client.get("/users/999999/").status_code == 404
    after = scrape(settings)
    name = "texting_hub_http_request_duration_seconds_count"
    assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert value(after, "texting_hub_http_request_duration_seconds_bucket", le="+Inf", **labels) == value(
        after, name, **labels
    )
    missing = {"view": "portal:user", "method": "GET", "status": "4xx"}
    assert value(after, name, **missing) == value(before, name, **missing) + 1
    # An unknown URL is one series, not one per URL.
    admin_client.get(f"/no-such-page-{uuid.uuid4().hex}/")
    assert value(scrape(settings), name, view="<unmatched>", method="GET", status="4xx") >= 1


def test_orders_lines_and_carrier_calls_move_when_an_order_is_authorised(settings, admin, org, carrier_sim):
    location = make_location(org, "Metrics Site")
    numbers = make_numbers(location, 3, start=0)  # ...0000 (the simulator refuses it), ...0001, ...0002
    numbers = [numbers[1], numbers[0], numbers[2]]
    before = scrape(settings)
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=2), tick=True):
        place_authorisation_order(org, admin, location, [numbers[0].pk], str(uuid.uuid4()))  # never sent: overdue
    order, _ = place_authorisation_order(org, admin, location, [n.pk for n in numbers[1:]], str(uuid.uuid4()))
    submit_authorisation_order.delay(order.pk)  # in-process, as the worker does after the commit
    assert AuthorisationOrder.objects.get(pk=order.pk).status == AuthorisationOrder.Status.COMPLETED
    after = scrape(settings)

    assert value(after, "texting_hub_authorisation_orders", status="completed") == 1
    assert value(after, "texting_hub_authorisation_orders", status="placed") == 1
    assert value(after, "texting_hub_authorisation_orders_overdue") == 1
    assert value(after, "texting_hub_authorisation_order_oldest_open_age_seconds") >= 7000
    assert value(after, "texting_hub_authorisation_order_lines", state="authorised") == 1
    assert value(after, "texting_hub_authorisation_order_lines", state="failed") == 1
    assert value(after, "texting_hub_authorisation_order_lines", state="pending") == 1
    post = {"endpoint": "POST /v1/number-orders", "outcome": "ok"}
    assert (
        value(after, "texting_hub_carrier_requests_total", **post)
        == value(before, "texting_hub_carrier_requests_total", **post) + 1
    )
    duration = "texting_hub_carrier_request_duration_seconds_count"
    assert total(after, duration) > total(before, duration)


def test_carrier_errors_and_a_task_that_gives_up_are_counted(settings, admin, org, carrier_sim):
    carrier_sim.set_faults(error_rate=1.0)
    location = make_location(org, "Down Site")
    numbers = make_numbers(location, 2, start=1)
    before = scrape(settings)
    order, _ = place_authorisation_order(org, admin, location, [n.pk for n in numbers], str(uuid.uuid4()))
    settings.AUTHORISATION_MAX_RETRIES = 2
    submit_authorisation_order.delay(order.pk)  # in-process: retries inline, then gives up
    after = scrape(settings)
    name = "texting_hub_carrier_requests_total"
    assert total(after, name, outcome="unavailable") - total(before, name, outcome="unavailable") >= 3
    gave_up = {"task": "provisioning.tasks.submit_authorisation_order", "kind": "gave_up"}
    assert (
        value(after, "texting_hub_task_failures_total", **gave_up)
        == value(before, "texting_hub_task_failures_total", **gave_up) + 1
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_counts_each_retry_and_the_give_up(settings, admin, org, carrier_sim, celery_worker):
    """Retries happen only in a worker (in-process runs retry inline): a carrier answering 503 to everything."""
    import time

    settings.AUTHORISATION_RETRY_BASE_SECONDS = 0.05
    settings.AUTHORISATION_MAX_RETRIES = 2
    carrier_sim.set_faults(error_rate=1.0)
    task = "provisioning.tasks.submit_authorisation_order"
    before = scrape(settings)
    numbers = make_numbers(make_location(org, "Retry Site"), 2, start=1)
    order, _ = place_authorisation_order(org, admin, numbers[0].location, [n.pk for n in numbers], str(uuid.uuid4()))
    deadline = time.monotonic() + 30
    while AuthorisationOrder.objects.get(pk=order.pk).is_open and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # the run's end is counted just after its last write
    after = scrape(settings)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("texting_hub_task_retries_total", task=task) == 2
    assert moved("texting_hub_task_runs_total", task=task, state="RETRY") == 2
    assert moved("texting_hub_task_failures_total", task=task, kind="gave_up") == 1
    assert moved("texting_hub_carrier_requests_total", endpoint="POST /v1/number-orders", outcome="unavailable") >= 1


def test_a_task_that_raises_is_counted_as_failed(settings):
    from portal.celery import override

    failed = {"task": "texting.tasks.send_message", "kind": "error"}
    before = scrape(settings)
    previous = override(task_eager_propagates=False)  # as in a worker: the error ends the task, not the caller
    try:
        result = texting_tasks.send_message.delay("not-an-id")  # a malformed message on the queue
    finally:
        override(**previous)
    assert result.failed() and isinstance(result.result, ValueError)
    after = scrape(settings)
    assert (
        value(after, "texting_hub_task_failures_total", **failed)
        == value(before, "texting_hub_task_failures_total", **failed) + 1
    )
    runs = {"task": "texting.tasks.send_message", "state": "FAILURE"}
    assert (
        value(after, "texting_hub_task_runs_total", **runs) == value(before, "texting_hub_task_runs_total", **runs) + 1
    )


def test_texts_sent_received_and_blocked_are_counted(settings, admin, carrier_sim, django_capture_on_commit_callbacks):
    user, number = make_texter(admin.organisation)
    before = scrape(settings)
    with django_capture_on_commit_callbacks(execute=True):
        sent = send(user)  # handed to the carrier in-process after the commit
    sent.refresh_from_db()
    assert sent.carrier_message_id
    assert send(user, to="+44 20 7946 0000").status == "blocked"  # international destination
    texting_actions.receive_text(carrier_message_id="IN-1", sender="+14155550199", recipient=number.e164, body="Hi")
    texting_actions.receive_text(
        carrier_message_id="IN-2", sender="+14155550198", recipient=number.e164, body="Look", media=["x.jpg"]
    )
    after = scrape(settings)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("texting_hub_texts_sent_total") == 1
    assert moved("texting_hub_texts_received_total") == 1
    assert moved("texting_hub_texts_blocked_total", direction="outbound", reason="international_destination") == 1
    assert moved("texting_hub_texts_blocked_total", direction="inbound", reason="media_not_supported") == 1


# --- state read at scrape time ----------------------------------------------------------------------------------


def test_purge_runs_are_counted_with_their_outcome_rows_and_last_success(settings, org):
    bulk_texts(org, 5, created_at=datetime.now(UTC) - timedelta(days=401))
    empty = scrape(settings)
    assert value(empty, "texting_hub_purge_last_success_timestamp_seconds") == 0
    run = purge_expired_messages(batch_size=2)
    after = scrape(settings)
    assert value(after, "texting_hub_purge_runs_total", outcome="completed") == 1
    assert value(after, "texting_hub_purge_rows_deleted_total") == 5
    assert value(after, "texting_hub_purge_rows_kept_by_holds_total") == 0  # no legal holds yet
    assert value(after, "texting_hub_purge_last_run_outcome", outcome="completed") == 1
    assert value(after, "texting_hub_purge_last_success_timestamp_seconds") == pytest.approx(
        run.finished.timestamp(), abs=1
    )
    took = (run.finished - run.started).total_seconds()
    assert value(after, "texting_hub_purge_last_run_duration_seconds") == pytest.approx(took, abs=0.001)
    assert value(after, "texting_hub_purge_duration_seconds_total") == pytest.approx(took, abs=0.001)
    assert value(after, "texting_hub_purge_running_age_seconds") == 0

    bulk_texts(org, 2, created_at=datetime.now(UTC) - timedelta(days=401))

    def fail(run):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        purge_expired_messages(batch_size=1, progress=fail)
    failed = scrape(settings)
    assert value(failed, "texting_hub_purge_runs_total", outcome="failed") == 1
    assert value(failed, "texting_hub_purge_last_run_outcome", outcome="failed") == 1
    assert value(failed, "texting_hub_purge_last_run_outcome", outcome="completed") == 0
    # The last success is still the first run's.
    assert value(failed, "texting_hub_purge_last_success_timestamp_seconds") == pytest.approx(
        run.finished.timestamp(), abs=1
    )


def test_the_days_of_text_partitions_made_ahead_are_a_gauge(settings, db):
    from django.db import connection

    from texting import partitions

    name = "texting_hub_text_partitions_days_ahead"
    day = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a day the test database has no partitions for
    if connection.vendor != "postgresql":
        assert (name, frozenset()) not in scrape(settings)  # SQLite: the table is not partitioned
        return
    with time_machine.travel(day, tick=False):
        assert value(scrape(settings), name) == -1  # not even today's
        partitions.ensure_partitions(day.date(), day.date() + timedelta(days=3))
        assert value(scrape(settings), name) == 3


def test_registration_cases_by_state_and_overdue(settings, org):
    before = scrape(settings)
    make_case(org)
    make_case(org, opened_days_ago=40)
    after = scrape(settings)
    assert (
        value(after, "texting_hub_registration_cases", state="opened")
        == value(before, "texting_hub_registration_cases", state="opened") + 2
    )
    assert value(after, "texting_hub_registration_cases_overdue") == 1


@pytest.mark.services
def test_the_queue_length_counts_messages_waiting_for_a_worker(settings, redis_url):
    from portal.celery import app, override

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        service_missing("this test needs a Celery broker on Redis (set CELERY_BROKER_URL=redis://...)")
    settings.CELERY_BROKER_URL = broker
    previous = override(task_always_eager=False, broker_url=broker)
    try:
        app.control.purge()
        before = value(scrape(settings), "texting_hub_celery_queue_length", queue="carrier")
        for _ in range(3):
            texting_tasks.repoll_pending_messages.delay()  # a carrier task: on the carrier queue
        after = scrape(settings)
        assert value(after, "texting_hub_celery_queue_length", queue="carrier") == before + 3
        assert value(after, "texting_hub_celery_queue_length", queue="purge") == 0
        assert value(after, "texting_hub_broker_up") == 1
    finally:
        app.control.purge()
        override(**previous)


# --- many processes -------------------------------------------------------------------------------------------------


def test_counts_of_several_processes_are_added_up(tmp_path):
    """gunicorn workers and Celery children each write their own files; /metrics adds them up."""
    script = textwrap.dedent(
        """
        from portal import metrics
        metrics.texts_sent.inc(2)
        metrics.carrier_requests.labels("POST /v1/messages", "ok").inc()
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=os.getcwd())
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process (host name and pid)
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition(multiprocess_dir=str(tmp_path)).decode())
        for sample in family.samples
    }
    assert samples[("texting_hub_texts_sent_total", frozenset())] == 4
    assert (
        samples[
            (
                "texting_hub_carrier_requests_total",
                frozenset({"endpoint": "POST /v1/messages", "outcome": "ok"}.items()),
            )
        ]
        == 2
    )
