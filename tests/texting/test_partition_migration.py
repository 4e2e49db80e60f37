"""Migration texting.0008_message_partitioned_by_day: the texts table built in the old shape, filled with texts of
every age (past retention, within it, today, ahead of the partitions), migrated: every row arrives with every column
as it was, in the partition of its day (or the default one), the ids continue, the words stay searchable; and back.
On SQLite only the carrier id index changes: the rows must arrive all the same."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.migrations import migrate, migrate_to_latest, old_organisation
from texting.models import Message

BEFORE = [("texting", "0007_message_body_tsvector")]
AFTER = [("texting", "0008_message_partitioned_by_day")]


def table_kind() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'texting_message'")
        return cursor.fetchone()[0]


def rows() -> dict[int, dict]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM texting_message ORDER BY id")
        names = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_every_text_arrives_in_the_partition_of_its_day_and_back():
    old = migrate(BEFORE)
    org = old_organisation(old)
    OldMessage = old.get_model("texting", "Message")
    now = datetime.now(UTC)
    ages = {
        "past retention": timedelta(days=500),
        "within retention": timedelta(days=300),
        "yesterday": timedelta(days=1),
        "now": timedelta(0),
        "ahead of the partitions": timedelta(days=-40),
    }
    for n, (label, age) in enumerate(ages.items()):
        OldMessage.objects.create(
            organisation=org,
            business_number="+15125550101",
            other_party=f"+1415555010{n}",
            direction="inbound" if n % 2 else "outbound",
            body=f"{label}: l'hôtel ✓ order {n}",
            encoding="ucs2",
            segments=n,
            status="blocked" if n == 1 else "delivered",
            blocked_reason="recipient_opted_out" if n == 1 else "",
            status_detail=label,
            carrier_message_id=f"CARRIER-{n}",
            created_at=now - age,
            status_changed=now - age + timedelta(minutes=1),
        )
    before = rows()
    assert len(before) == len(ages)

    migrate(AFTER)

    assert rows() == before
    if connection.vendor == "postgresql":
        assert table_kind() == "p"
        with connection.cursor() as cursor:
            cursor.execute("SELECT status_detail, tableoid::regclass::text FROM texting_message")
            where = dict(cursor.fetchall())
            cursor.execute("SELECT count(*) FROM texting_message WHERE body_vector @@ to_tsquery('simple', 'hôtel')")
            assert cursor.fetchone()[0] == len(ages)
        assert where["past retention"] == where["ahead of the partitions"] == "texting_message_default"
        for label in ("within retention", "yesterday", "now"):
            day = (now - ages[label]).date()
            assert where[label] == f"texting_message_p{day:%Y%m%d}", label
    new = Message.objects.create(
        organisation_id=org.pk, business_number="+15125550101", other_party="+14155550199", direction="outbound"
    )
    assert new.pk > max(before)

    migrate(BEFORE)
    after_reverse = rows()
    assert {pk: row for pk, row in after_reverse.items() if pk != new.pk} == before
    if connection.vendor == "postgresql":
        assert table_kind() == "r"
    with connection.cursor() as cursor:
        # Emptied first: migrating forward again makes a partition for each day since the oldest text, and the tests
        # that follow expect the few partitions of a fresh database (today and the next 14 days).
        cursor.execute("DELETE FROM texting_message")
    migrate_to_latest()  # the schema the other tests expect
