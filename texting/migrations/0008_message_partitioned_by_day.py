"""The texts table becomes partitioned by day on PostgreSQL (texting.partitions says why a day, and how the purge
drops whole partitions). SQLite keeps its one plain table.

PostgreSQL: the table is renamed aside, a partitioned table of the same columns, defaults, checks, generated column
(body_vector), identity and foreign keys is created under the old name with PRIMARY KEY (id, created_at), day
partitions from the oldest text's day (at most RETENTION_DAYS + 2 days back: anything older is past retention and
goes to the default partition, as held texts do) to 14 days ahead plus the default partition, every row is copied
with its id, the identity continues from the highest id, the old table is dropped and its indexes are built again on
the new one (once per partition, after the rows are in). Every row arrives: the copy is one INSERT ... SELECT in the
migration's transaction, and tests/texting/test_partition_migration.py builds the old shape, migrates and compares
every column of every row, both ways.

The one index that cannot follow: a unique index of a partitioned table must contain the partition key, so the
carrier message id (unique per direction) gets a plain partial index, on both databases; receiving a text stops
redelivered webhooks with an advisory lock instead (texting.actions.receiving).

Cost: the copy holds an ACCESS EXCLUSIVE lock on the texts for as long as it takes to copy them and build the
indexes (README, "Time partitions": estimated from the benchmark's bulk insert at roughly half a minute per million
texts on these 2-core machines, plus the index builds; not measured as a migration), so an installation with a large
texts table runs it in a maintenance window. Reversing copies the rows back into one plain table the same way.
"""

from datetime import UTC, datetime, time, timedelta

from django.db import migrations, models
from django.db.models import Q

TABLE = "texting_message"
ASIDE = "texting_message_before_partitioning"
DEFAULT = f"{TABLE}_default"
# A migration never imports code that changes: the retention period and the days created ahead as they are today.
RETENTION_DAYS = 400
AHEAD_DAYS = 14
UNIQUE_CARRIER_ID = "message_carrier_id_unique"
CARRIER_ID_INDEX = "message_carrier_id_idx"
CARRIER_ID_INDEX_SQL = (
    f'CREATE INDEX "{CARRIER_ID_INDEX}" ON "{TABLE}" ("carrier_message_id", "direction")'
    " WHERE NOT (\"carrier_message_id\" = '')"
)
UNIQUE_CARRIER_ID_SQL = (
    f'CREATE UNIQUE INDEX "{UNIQUE_CARRIER_ID}" ON "{TABLE}" ("direction", "carrier_message_id")'
    " WHERE NOT (\"carrier_message_id\" = '')"
)


def _fetch(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _shape(cursor, table):
    """What CREATE TABLE ... LIKE does not copy: indexes (but the primary key) and foreign keys; and the columns an
    INSERT may name (not the generated one)."""
    indexes = _fetch(
        cursor,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
        " AND indexname <> %s",
        [table, f"{table}_pkey"],
    )
    foreign_keys = _fetch(
        cursor,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'f'",
        [table],
    )
    cols = [
        name
        for (name,) in _fetch(
            cursor,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
    ]
    return indexes, foreign_keys, cols


def _rebuild(cursor, *, partitioned: bool):
    """Copy the texts table into a new one of the other kind under the same name; returns nothing, loses nothing."""
    indexes, foreign_keys, cols = _shape(cursor, TABLE)
    cursor.execute(f'ALTER TABLE "{TABLE}" RENAME TO "{ASIDE}"')
    cursor.execute(f'ALTER INDEX "{TABLE}_pkey" RENAME TO "{ASIDE}_pkey"')
    sequence = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [ASIDE])[0][0]
    cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{ASIDE}_id_seq"')
    like = (
        f'LIKE "{ASIDE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED INCLUDING IDENTITY'
        " INCLUDING STORAGE INCLUDING COMMENTS"
    )
    if partitioned:
        cursor.execute(f'CREATE TABLE "{TABLE}" ({like}, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)')
        oldest, newest = _fetch(cursor, f'SELECT min(created_at), max(created_at) FROM "{ASIDE}"')[0]
        today = datetime.now(UTC).date()
        first = today if oldest is None else max(oldest.astimezone(UTC).date(), today - timedelta(RETENTION_DAYS + 2))
        first = min(first, today)
        day = first
        while day <= today + timedelta(AHEAD_DAYS):
            lower = datetime.combine(day, time.min, tzinfo=UTC)
            upper = lower + timedelta(days=1)
            cursor.execute(
                f'CREATE TABLE "{TABLE}_p{day:%Y%m%d}" PARTITION OF "{TABLE}"'
                f" FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
            )
            day += timedelta(days=1)
        cursor.execute(f'CREATE TABLE "{DEFAULT}" PARTITION OF "{TABLE}" DEFAULT')
    else:
        cursor.execute(f'CREATE TABLE "{TABLE}" ({like}, PRIMARY KEY (id))')
    names = ", ".join(f'"{c}"' for c in cols)
    cursor.execute(f'INSERT INTO "{TABLE}" ({names}) SELECT {names} FROM "{ASIDE}"')
    cursor.execute(f'DROP TABLE "{ASIDE}" CASCADE')
    new_sequence = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])[0][0]
    if new_sequence.split(".")[-1].strip('"') != f"{TABLE}_id_seq":
        cursor.execute(f'ALTER SEQUENCE {new_sequence} RENAME TO "{TABLE}_id_seq"')
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM \"{TABLE}\"), 1),"
        f' (SELECT max(id) IS NOT NULL FROM "{TABLE}"))',
        [TABLE],
    )
    for name, definition in indexes:
        if name in (UNIQUE_CARRIER_ID, CARRIER_ID_INDEX):
            continue
        cursor.execute(definition)
    cursor.execute(CARRIER_ID_INDEX_SQL if partitioned else UNIQUE_CARRIER_ID_SQL)
    for name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE "{TABLE}" ADD CONSTRAINT "{name}" {definition}')


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        _rebuild(cursor, partitioned=False)


def carrier_id_index(apps, schema_editor):
    """SQLite: the same change of the carrier id's index as PostgreSQL gets in `partition`."""
    if schema_editor.connection.vendor == "postgresql":
        return
    Message = apps.get_model("texting", "Message")
    schema_editor.execute(f'DROP INDEX IF EXISTS "{UNIQUE_CARRIER_ID}"')
    schema_editor.add_index(Message, CARRIER_ID_INDEX_MODEL)


def unique_carrier_id(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{CARRIER_ID_INDEX}"')
    schema_editor.execute(UNIQUE_CARRIER_ID_SQL)


CARRIER_ID_INDEX_MODEL = models.Index(
    fields=["carrier_message_id", "direction"], condition=~Q(carrier_message_id=""), name=CARRIER_ID_INDEX
)


class Migration(migrations.Migration):
    dependencies = [("texting", "0007_message_body_tsvector")]

    operations = [
        migrations.RunPython(partition, unpartition, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="message", name=UNIQUE_CARRIER_ID),
                migrations.AddIndex(model_name="message", index=CARRIER_ID_INDEX_MODEL),
            ],
            database_operations=[migrations.RunPython(carrier_id_index, unique_carrier_id, elidable=False)],
        ),
    ]
