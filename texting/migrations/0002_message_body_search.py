"""A full-text index over the texts' bodies for eDiscovery keyword searches (compliance.discovery), on PostgreSQL only,
on `compliance.discovery.BODY_VECTOR`, the expression the search queries with, so the planner can use it. SQLite has
no GIN indexes; the search falls back to `icontains` there.

Built CONCURRENTLY (outside a transaction: the migration is not atomic), so a deployment with millions of texts keeps
sending and receiving while it builds. Nothing is written to the table; reversing drops the index.
"""

from django.db import migrations

INDEX = "message_body_search_idx"
# compliance.discovery.BODY_VECTOR as it was when this index was built (a migration never imports changing code).
BODY_VECTOR = "to_tsvector('simple', translate(body, '<>&', '   '))"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON texting_message USING gin (({BODY_VECTOR}))"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("texting", "0001_messages")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
