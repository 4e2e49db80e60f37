"""/healthz/retention: 200 while the nightly purge succeeds, 503 with a JSON reason when its last success is older
than 36 hours, it never ran, or its last run failed, or (PostgreSQL) fewer than two days of the texts table's day
partitions remain ahead; support staff see a banner on their pages meanwhile."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse

from portal.middleware import SUPPORT_ORG_SESSION_KEY
from texting import partitions
from texting.models import PurgeRun

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
URL = "/healthz/retention"


@pytest.fixture(autouse=True)
def partitions_made_ahead(db):
    """On PostgreSQL, the day partitions beat has made by NOW (today's and the next 14 days'); nothing on SQLite."""
    partitions.ensure_partitions_ahead(NOW.date())


def run(outcome, *, hours_ago, dry_run=False, now=NOW):
    started = now - timedelta(hours=hours_ago)
    return PurgeRun.objects.create(
        cutoff=started - timedelta(days=400),
        retention_days=400,
        started=started,
        finished=started + timedelta(minutes=2) if outcome != PurgeRun.Outcome.RUNNING else None,
        batch_size=50000,
        outcome=outcome,
        dry_run=dry_run,
    )


def health(client, at=NOW):
    with time_machine.travel(at, tick=False):
        response = client.get(URL)
    return response.status_code, response.json()


@pytest.mark.django_db
def test_the_url_is_beside_healthz():
    assert reverse("texting:retention_health") == URL


@pytest.mark.django_db
def test_healthy_after_a_recent_successful_purge(client):
    run(PurgeRun.Outcome.COMPLETED, hours_ago=30)
    run(PurgeRun.Outcome.SKIPPED, hours_ago=1)  # another purge held the lock: not a failure
    status, body = health(client)
    assert status == 200 and body["status"] == "ok" and body["reason"] == ""
    assert body["last_success"] == (NOW - timedelta(hours=30, minutes=-2)).isoformat()


@pytest.mark.django_db
def test_stale_when_the_last_success_is_older_than_36_hours(client):
    run(PurgeRun.Outcome.COMPLETED, hours_ago=36, dry_run=False)  # finished 35 h 58 min ago: still fine
    assert health(client)[0] == 200
    PurgeRun.objects.all().delete()
    run(PurgeRun.Outcome.COMPLETED, hours_ago=37)
    run(PurgeRun.Outcome.COMPLETED, hours_ago=1, dry_run=True)  # a dry run deletes nothing: does not count
    status, body = health(client)
    assert status == 503 and body["status"] == "stale" and "36 hours" in body["reason"]


@pytest.mark.django_db
def test_never_run_is_reported(client):
    status, body = health(client)
    assert status == 503 and body["status"] == "never_run" and body["last_success"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("outcome", [PurgeRun.Outcome.FAILED, PurgeRun.Outcome.INTERRUPTED])
def test_failed_when_the_last_run_failed_even_after_a_recent_success(client, outcome):
    run(PurgeRun.Outcome.COMPLETED, hours_ago=5)
    run(outcome, hours_ago=1)
    status, body = health(client)
    assert status == 503 and body["status"] == "failed" and body["reason"] == "The last retention purge failed."
    run(PurgeRun.Outcome.COMPLETED, hours_ago=0.5)  # the next run succeeded: healthy again
    assert health(client)[0] == 200


@pytest.mark.django_db
def test_a_real_purge_makes_it_healthy(client):
    from texting.retention import purge_expired_messages

    assert client.get(URL).status_code == 503
    purge_expired_messages()
    assert client.get(URL).status_code == 200


@pytest.mark.django_db
def test_support_staff_see_a_banner_while_it_is_stale_or_failed(support, org, admin):
    client, admin_client = Client(), Client()
    client.force_login(support)
    admin_client.force_login(admin)
    session = client.session
    session[SUPPORT_ORG_SESSION_KEY] = org.pk
    session.save()
    pages = [reverse("compliance:support_queue"), reverse("portal:overview")]
    run(PurgeRun.Outcome.COMPLETED, hours_ago=50)
    with time_machine.travel(NOW, tick=False):
        for page in pages:
            text = client.get(page).content.decode()
            assert 'id="retention-banner"' in text and "more than 36 hours ago" in text
        assert 'id="retention-banner"' not in admin_client.get(reverse("portal:overview")).content.decode()
    run(PurgeRun.Outcome.FAILED, hours_ago=2)
    with time_machine.travel(NOW, tick=False):
        assert "The last retention purge failed." in client.get(pages[0]).content.decode()
    run(PurgeRun.Outcome.COMPLETED, hours_ago=1)
    with time_machine.travel(NOW, tick=False):
        for page in pages:
            assert 'id="retention-banner"' not in client.get(page).content.decode()


# --- the day partitions made ahead (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_days_of_partitions_made_ahead_are_reported_or_said_to_be_unused(client):
    """PostgreSQL: how many days ahead the day partitions reach; SQLite (no partitions): that they are not used."""
    run(PurgeRun.Outcome.COMPLETED, hours_ago=1)
    status, body = health(client)
    assert status == 200 and body["status"] == "ok"
    if connection.vendor == "postgresql":
        assert body["partitions_ahead"] == 14
        assert body["partitions"] == "The texts table has day partitions for today and the next 14 days."
    else:
        assert body["partitions_ahead"] is None
        assert body["partitions"] == "Not used: the texts table is partitioned by day on PostgreSQL only."


@pytest.mark.django_db
def test_unhealthy_when_fewer_than_two_days_of_partitions_remain_ahead(client, postgres, support):
    # Beat stopped making partitions after NOW: they reach NOW + 14 days, while the purge keeps succeeding.
    for days_later, ahead in ((12, 2), (13, 1), (15, -1)):
        at = NOW + timedelta(days=days_later)
        run(PurgeRun.Outcome.COMPLETED, hours_ago=1, now=at)
        status, body = health(client, at)
        assert body["partitions_ahead"] == ahead
        if ahead >= 2:
            assert status == 200 and body["status"] == "ok"
            continue
        assert status == 503 and body["status"] == "partitions" and body["reason"] == body["partitions"]
    assert body["reason"] == (
        "The texts table has no day partition for today: today's texts go to its default partition, which the "
        "purge can only empty row by row."
    )
    at = NOW + timedelta(days=13)
    assert health(client, at)[1]["reason"] == (
        "The texts table has day partitions for today and only the next 1 day (at least 2 are needed): the texts "
        "of the days after go to its default partition, which the purge can only empty row by row."
    )
    staff = Client()
    staff.force_login(support)
    with time_machine.travel(at, tick=False):  # support staff's banner is the purge's alone: partitions are monitored
        assert 'id="retention-banner"' not in staff.get(reverse("compliance:support_queue")).content.decode()

    partitions.ensure_partitions_ahead(at.date())  # beat runs again
    status, body = health(client, at)
    assert status == 200 and body["partitions_ahead"] == 14
