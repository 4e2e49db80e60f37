"""Celery queues per kind of work (settings.CELERY_TASK_ROUTES, README "Scaling out"): every task goes to the queue
of its kind, a worker listening to one queue does that kind of work and nothing lands anywhere else, and the test
suite's worker (like `make worker`) consumes them all."""

import os
import time
from datetime import timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from compliance.actions.discovery import request_export
from compliance.discovery import Search
from compliance.models import DiscoveryExport
from portal.celery import app, override
from portal.models import User
from tests.factories import make_compliance_officer
from tests.texting.factories import make_text

QUEUES = {"carrier", "purge", "exports", "default"}
EXPECTED = {
    # Talking to the carrier: submissions and polling (callbacks are answered by the web processes).
    "compliance.tasks.poll_campaign": "carrier",
    "compliance.tasks.poll_campaign_assignments": "carrier",
    "compliance.tasks.poll_campaign_numbers": "carrier",
    "compliance.tasks.poll_live_campaigns": "carrier",
    "compliance.tasks.poll_open_registrations": "carrier",
    "compliance.tasks.poll_registration": "carrier",
    "compliance.tasks.poll_vetting": "carrier",
    "compliance.tasks.send_campaign_number_removals": "carrier",
    "compliance.tasks.send_campaign_numbers": "carrier",
    "compliance.tasks.submit_brand_registration": "carrier",
    "compliance.tasks.submit_campaign_registration": "carrier",
    "compliance.tasks.submit_vetting": "carrier",
    "provisioning.tasks.poll_authorisation_order": "carrier",
    "provisioning.tasks.repoll_stuck_orders": "carrier",
    "provisioning.tasks.submit_authorisation_order": "carrier",
    "texting.tasks.poll_message_status": "carrier",
    "texting.tasks.repoll_pending_messages": "carrier",
    "texting.tasks.send_message": "carrier",
    # Retention.
    "texting.tasks.purge_expired_messages": "purge",
    "texting.tasks.create_text_partitions": "purge",
    # Housekeeping of the Authorize wizard's selections (the database only).
    "provisioning.tasks.purge_expired_selections": "default",
    # Compliance archives.
    "compliance.tasks.build_discovery_export": "exports",
    "compliance.tasks.delete_expired_exports": "exports",
}


def our_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {name for name in app.tasks if not name.startswith("celery.")}


def test_the_queues_are_the_kinds_of_work():
    assert {queue.name for queue in settings.CELERY_TASK_QUEUES} == QUEUES
    # A task nobody routed goes to "default", which a worker consumes too.
    assert app.amqp.router.route({}, "some.new.task")["queue"].name == "default"


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_each_task_goes_to_the_queue_of_its_kind(task):
    assert app.amqp.router.route({}, task)["queue"].name == EXPECTED[task]


def test_every_task_has_its_queue_decided():
    assert our_tasks() == set(EXPECTED), "a new task: route it in settings.TASKS_BY_QUEUE and name it here"


def broker_or_skip(redis_url) -> str:
    from tests.conftest import service_missing

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        service_missing("this test needs a Celery broker on Redis (set CELERY_BROKER_URL=redis://...)")
    return broker


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_listening_only_to_the_exports_queue_builds_an_export(redis_url, org, settings, tmp_path):
    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"
    broker = broker_or_skip(redis_url)
    officer = make_compliance_officer(org, role=User.Role.END_USER, email="officer@acme.test")
    make_text(org, body="Quarterly invoice")
    search = Search(start=timezone.localdate() - timedelta(days=1), end=timezone.localdate(), keywords="invoice")

    previous = override(task_always_eager=False, broker_url=broker, result_backend=broker)
    client = redis.Redis.from_url(broker)
    try:
        # Every queue declared, as the other kinds' workers do when they start: a task published to them as well
        # would show in their lengths.
        with app.connection_for_write() as connection:
            for queue in app.amqp.queues.values():
                queue.bind(connection.default_channel).declare()
        app.control.purge()
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=["exports"]):
            export = request_export(org, officer, search)  # queued after its commit
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                export.refresh_from_db()
                if not export.is_open:
                    break
                time.sleep(0.2)
        assert export.status == DiscoveryExport.Status.READY and export.written == 1
        assert {name: client.llen(name) for name in QUEUES - {"exports"}} == dict.fromkeys(QUEUES - {"exports"}, 0)
    finally:
        app.amqp.queues.select(sorted(QUEUES))  # a worker's queue selection is the app's: give every queue back
        override(**previous)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_test_suites_worker_consumes_every_queue(celery_worker):
    assert set(app.amqp.queues.consume_from) == QUEUES
