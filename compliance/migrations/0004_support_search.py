"""Indexes for the support console's search box and filters (compliance.queries.search_cases; README: the support
console). Only indexes: no row changes, so nothing can be lost.

PostgreSQL (pg_trgm): "contains" searches (some digits of a phone number, part of an organisation or brand name) are
answered from trigram GIN indexes instead of reading every row. Both backends: a partial index on the unread cases
(the "Unread" filter, and the queue's badge). Exact lookups (a whole phone number, a registry id, a case number)
already have their indexes (the unique e164, the registry ids' partial unique indexes, the primary key, the foreign
keys).

The indexes are created by SQL, not declared in the models: Django's model indexes cannot say gin_trgm_ops on an
UPPER() expression portably, and SQLite has no trigram indexes.
"""

from django.db import migrations

POSTGRESQL = [
    # (name, table, expression)
    ("phone_number_e164_trgm", "provisioning_phonenumber", "e164 gin_trgm_ops"),
    ("organisation_name_upper_trgm", "portal_organisation", "UPPER(name::text) gin_trgm_ops"),
    ("brand_legal_name_upper_trgm", "compliance_brand", "UPPER(legal_name::text) gin_trgm_ops"),
    ("brand_dba_name_upper_trgm", "compliance_brand", "UPPER(dba_name::text) gin_trgm_ops"),
]
UNREAD = (
    "CREATE INDEX IF NOT EXISTS case_unread_idx ON compliance_registrationcase (state_changed) WHERE unread_by_support"
)


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, expression in POSTGRESQL:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})")
    if vendor in ("postgresql", "sqlite"):
        schema_editor.execute(UNREAD)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        schema_editor.execute("DROP INDEX IF EXISTS case_unread_idx")
    if vendor == "postgresql":
        for name, _table, _expression in POSTGRESQL:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0003_carry_cases_to_brands"),
        ("portal", "0001_initial"),
        ("provisioning", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
