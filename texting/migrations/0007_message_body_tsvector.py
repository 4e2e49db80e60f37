"""The texts' words stored: a generated `body_vector` tsvector column on texting_message with a GIN index on it,
replacing the expression index of 0002_message_body_search (PostgreSQL only; SQLite's eDiscovery search matches
substrings and has nothing to change).

Why: a GIN index only says which texts hold every word of a query, not where; a phrase ("your delivery") is rechecked
row by row. Over an expression index that recheck re-parses each candidate's body with to_tsvector (benchmarks/
ediscovery.py: 362 ms median for a phrase over 30 days of 2,000,000 texts); over the stored column it reads the words
already parsed.

The column is not a field of the Django model (SQLite has no tsvector; `makemigrations` never sees it): PostgreSQL
fills it on every INSERT and UPDATE, inserts that name their columns (the ORM, bulk_create, COPY with a column list)
need no change, and compliance.discovery queries it with RawSQL.

Cost on an existing table: adding a STORED generated column rewrites the table, parsing every body, under an ACCESS
EXCLUSIVE lock (no reads or writes of texts meanwhile): about a minute per 2,000,000 texts on a busy 2-core machine
(README, "Compliance: eDiscovery"); the table grows by the vectors (about a third). The indexes are then built and
dropped CONCURRENTLY (outside a transaction: the migration is not atomic). Reversing restores the expression index
first, then drops the new index and the column: no text is lost either way, the column only repeats the body.
"""

from django.db import migrations

TABLE = "texting_message"
COLUMN = "body_vector"
INDEX = "message_body_vector_idx"
OLD_INDEX = "message_body_search_idx"
# compliance.discovery's words of a body as they are when this column is added (a migration never imports changing
# code): the 'simple' configuration, with < > & made spaces first so "<b>late</b>" is not read as markup.
BODY_VECTOR = "to_tsvector('simple', translate(body, '<>&', '   '))"


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {COLUMN} tsvector GENERATED ALWAYS AS ({BODY_VECTOR}) STORED"
    )
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} USING gin ({COLUMN})")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")


def drop_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_INDEX} ON {TABLE} USING gin (({BODY_VECTOR}))")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {COLUMN}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("texting", "0006_block_reasons_combined")]

    operations = [migrations.RunPython(add_column, drop_column, elidable=False)]
