"""eDiscovery on PostgreSQL: the full-text search's rules (whole words, phrases, exclusions, alternatives), the GIN
index it runs on, and an export built by a real Celery worker. Skipped without PostgreSQL (and Redis for the worker);
failed with REQUIRE_SERVICES=1."""

import hashlib
import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from compliance.discovery import Search, _keyword_condition, capped_count, texts_matching
from compliance.models import DiscoveryExport
from portal.models import User
from tests.factories import make_compliance_officer
from tests.texting.factories import make_text
from texting.models import Message

NOW = timezone.now()


@pytest.fixture(autouse=True)
def _exports_dir(settings, tmp_path):
    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"


@pytest.fixture
def bodies(postgres, org):
    texts = {
        body: make_text(org, body=body, created_at=NOW - timedelta(hours=i + 1))
        for i, body in enumerate(
            [
                "Your order 4411 shipped today.",
                "We ship on Mondays.",
                "Order confirmed: 4411 units",
                "Meet me at the <Main St> gate",
                "Rendez-vous à l'hôtel demain",
            ]
        )
    }
    return texts


def found(org, keywords) -> set[str]:
    search = Search(start=(NOW - timedelta(days=1)).date(), end=NOW.date(), keywords=keywords)
    return set(texts_matching(org, search).values_list("body", flat=True))


def test_keywords_match_whole_words_phrases_and_alternatives(org, bodies):
    assert found(org, "ship") == {"We ship on Mondays."}  # no stemming: "shipped" is another word
    assert found(org, "SHIPPED") == {"Your order 4411 shipped today."}
    assert found(org, "order 4411") == {"Your order 4411 shipped today.", "Order confirmed: 4411 units"}
    assert found(org, '"order 4411"') == {"Your order 4411 shipped today."}
    assert found(org, "4411 -confirmed") == {"Your order 4411 shipped today."}
    assert found(org, "mondays or units") == {"We ship on Mondays.", "Order confirmed: 4411 units"}
    # Words inside what looks like markup are words too (PostgreSQL's parser alone reads "<Main St>" as a tag).
    assert found(org, "main") == {"Meet me at the <Main St> gate"}
    assert found(org, "hôtel") == {"Rendez-vous à l'hôtel demain"}


def test_the_keyword_condition_reads_the_stored_words_through_their_gin_index(org, bodies):
    """On five rows the planner rightly prefers the (organisation, created_at) index; alone, with sequential scans
    off, the keyword condition uses the GIN index on the stored body_vector column, and a phrase is checked against
    the stored words, not by parsing the body again (no to_tsvector in the plan)."""
    sql, params = Message.objects.filter(_keyword_condition('"order 4411"')).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (VERBOSE) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Each day partition has its own copy of the index (texting.partitions), named after the partition.
    assert "body_vector_idx" in plan, plan
    assert "to_tsvector" not in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'texting_message'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert "message_body_search_idx" not in indexes  # the expression index it replaces is gone (no double upkeep)


@pytest.mark.django_db(transaction=True)
def test_texts_written_before_the_stored_words_existed_are_found_after_the_migration(postgres):
    """texting 0007 adds the generated column to a table that already holds texts: built at 0006, migrated, every
    text has its words and keyword searches (phrases too) find them; the reverse migration keeps every text."""
    from django.db.migrations.executor import MigrationExecutor

    from tests.factories import make_org

    before, latest = [("texting", "0006_block_reasons_combined")], [("texting", "0007_message_body_tsvector")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        org = make_org("Old Acme")
        old_bodies = [f"Your order {n} shipped <today>" for n in range(20)] + ["Nothing to see"]
        OldMessage = executor.loader.project_state(before).apps.get_model("texting", "Message")
        for i, body in enumerate(old_bodies):
            make_text(org, body=body, created_at=NOW - timedelta(minutes=i + 1))
        assert OldMessage.objects.count() == len(old_bodies)
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM texting_message WHERE body_vector IS NULL OR body_vector = ''")
            assert cursor.fetchone()[0] == 0
        assert Message.objects.count() == len(old_bodies)
        assert found(org, '"order 7 shipped"') == {"Your order 7 shipped <today>"}
        assert len(found(org, "today -nothing")) == 20
        # A text written now gets its words too.
        make_text(org, body="New order 99 shipped", created_at=NOW - timedelta(seconds=5))
        assert found(org, '"order 99"') == {"New order 99 shipped"}

        executor = MigrationExecutor(connection)
        executor.migrate(before)
        assert set(Message.objects.values_list("body", flat=True)) == {*old_bodies, "New order 99 shipped"}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_export_while_the_page_shows_progress(celery_worker, client):
    from tests.factories import make_org

    org = make_org("Acme Worker Test")
    officer = make_compliance_officer(org, role=User.Role.END_USER, email="officer@worker.test")
    for i in range(30):
        make_text(org, body=f"Invoice number {i}", created_at=NOW - timedelta(minutes=i + 1))
    client.force_login(officer)
    response = client.post(reverse("compliance:export_create"), {"keywords": "invoice"})
    export = DiscoveryExport.objects.get()
    assert response.url == reverse("compliance:export", args=[export.pk])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        export.refresh_from_db()
        if not export.is_open:
            break
        time.sleep(0.2)
    assert export.status == DiscoveryExport.Status.READY, export.detail
    data = b"".join(client.get(reverse("compliance:export_download", args=[export.pk])).streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["counts"]["texts"] == 30
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]


def test_the_count_stops_at_its_cap_and_leaves_the_planner_as_it_was(org, bodies):
    search = Search(start=(NOW - timedelta(days=1)).date(), end=NOW.date(), keywords="4411 or mondays")
    texts = texts_matching(org, search)
    assert capped_count(texts, cap=2) == (2, True)
    assert capped_count(texts, cap=3) == (3, False)
    with connection.cursor() as cursor:
        cursor.execute("SHOW enable_indexscan")
        assert cursor.fetchone()[0] == "on"
