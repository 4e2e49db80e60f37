"""Every query that reads texts names a time range, so that PostgreSQL reads only the day partitions of the window
asked for (issue 12, texting.partitions): the activity page (counts, busiest numbers, delivery, recent texts), the
metadata export, an eDiscovery search and the sending policy's volume count. Each page is requested as a user would;
every statement it ran against the texts is EXPLAINed, and the partitions in its plan must be those of the window."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import User
from tests.factories import make_compliance_officer
from tests.texting.factories import make_text
from texting import partitions, queries, volume


@pytest.fixture
def days(postgres):
    """A partition for each of the last 120 days and the next 14, as beat leaves them."""
    today = timezone.now().astimezone(UTC).date()
    partitions.ensure_partitions(today - timedelta(days=120), today + timedelta(days=14))
    return today


def partitions_read(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = set()

    def walk(node):
        if node.get("Relation Name", "").startswith("texting_message"):
            found.add(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def reads_of_texts(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "texting_message" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")
    ]


def window(today, first_offset: int, last_offset: int = 0) -> set[str]:
    return {partitions.partition_name(today + timedelta(days=n)) for n in range(first_offset, last_offset + 1)}


def assert_reads_only(queries, allowed: set[str]):
    statements = reads_of_texts(queries)
    assert statements, "no statement read the texts"
    for sql in statements:
        read = partitions_read(sql)
        assert read, sql
        assert read <= allowed, (sorted(read - allowed), sql)


@pytest.mark.django_db
def test_the_activity_page_reads_only_the_days_of_its_period(admin_client, org, days):
    make_text(org, created_at=timezone.now() - timedelta(days=2))
    make_text(org, created_at=timezone.now() - timedelta(days=60))
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("texting:activity"), {"days": 7})
    assert response.status_code == 200
    assert_reads_only(queries, window(days, -6))


@pytest.mark.django_db
def test_the_metadata_export_reads_only_the_days_asked_for(admin_client, org, days):
    make_text(org, created_at=timezone.now() - timedelta(days=2))
    first, last = days - timedelta(days=3), days - timedelta(days=1)
    response = admin_client.get(
        reverse("texting:export_texts"), {"first_day": first.isoformat(), "last_day": last.isoformat()}
    )
    assert response.status_code == 200
    # The rows stream from a server-side cursor, which query capture does not see: EXPLAIN the view's query itself.
    sql, params = queries.texts_for_export(org, first_day=first, last_day=last).query.sql_with_params()
    read = partitions_read(connection.ops.compose_sql(sql, params))
    assert read and read <= window(days, -3, -1), sorted(read)


@pytest.mark.django_db
def test_an_ediscovery_search_reads_only_the_days_of_its_range(client, org, days):
    officer = make_compliance_officer(org, role=User.Role.READONLY_ADMIN, email="officer@acme.test")
    client.force_login(officer)
    make_text(org, created_at=timezone.now() - timedelta(days=20), body="invoice attached")
    start, end = days - timedelta(days=30), days - timedelta(days=10)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            reverse("compliance:discovery"), {"start": start.isoformat(), "end": end.isoformat(), "keywords": "invoice"}
        )
    assert response.status_code == 200 and b"invoice" in response.content
    assert_reads_only(queries, window(days, -30, -10))


@pytest.mark.django_db
def test_the_sending_policys_volume_count_reads_only_today(org, days, settings):
    settings.REDIS_URL = ""  # the count from stored texts (no Redis), the one policy check that reads texts
    now = datetime.now(UTC)
    make_text(org, created_at=now - timedelta(minutes=5))
    with CaptureQueriesContext(connection) as queries:
        assert volume.reserve("+15125550101", now) is None
    # The UTC day, or the Pacific brand day that began on the day before.
    assert_reads_only(queries, window(days, -1))
