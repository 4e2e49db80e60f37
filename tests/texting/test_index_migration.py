"""Migrations texting.0010 and 0011: the texts table loses the organisation index that (organisation, created_at)
makes redundant, without touching a row or checking the foreign key again, and (PostgreSQL) gains the unlogged table
the purge keeps held texts in; and back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tests.migrations import migrate, migrate_to_latest, old_organisation

BEFORE = [("texting", "0009_purge_partitions_dropped")]
AFTER = [("texting", "0011_message_aside_table")]
REDUNDANT = "texting_message_organisation_id_529350e8"


def indexes() -> set[str]:
    with connection.cursor() as cursor:
        return {
            index["columns"][0] + (":" + name if name == REDUNDANT else "")
            for name, index in connection.introspection.get_constraints(cursor, "texting_message").items()
            if index["index"] and not index["primary_key"]
        }


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        return name in connection.introspection.table_names(cursor)


def rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM texting_message ORDER BY id")
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_the_redundant_organisation_index_goes_and_comes_back_with_every_text_unchanged():
    old = migrate(BEFORE)
    org = old_organisation(old)
    now = datetime.now(UTC)
    for n in range(3):
        old.get_model("texting", "Message").objects.create(
            organisation=org,
            business_number="+15125550101",
            other_party=f"+1415555010{n}",
            direction="outbound",
            body=f"text {n}",
            status="delivered",
            created_at=now - timedelta(days=n),
        )
    before = rows()
    assert f"organisation_id:{REDUNDANT}" in indexes()

    migrate(AFTER)

    assert rows() == before
    assert f"organisation_id:{REDUNDANT}" not in indexes()
    assert "organisation_id" in indexes()  # (organisation, created_at) serves every lookup by organisation
    assert table_exists("texting_message_aside") == (connection.vendor == "postgresql")

    migrate(BEFORE)
    assert rows() == before
    assert f"organisation_id:{REDUNDANT}" in indexes()
    assert not table_exists("texting_message_aside")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM texting_message")
    migrate_to_latest()  # the schema the other tests expect
