"""Indexes for the support console's search box and filters (compliance.queries.search_cases; README: the support
console). Only indexes: no row changes, so nothing can be lost.

PostgreSQL: the last digits of a phone number ("555-0100") from a b-tree on the reversed number (text_pattern_ops,
so `LIKE '0010555%'` is a range scan); part of an organisation or brand name from trigram GIN indexes (pg_trgm) on
UPPER(name), which is what `icontains` compares. (A trigram index on the numbers was measured and dropped: ten digits
make too few distinct trigrams, and its scan cost as much as reading every number.) Both backends: a partial index
on the unread cases (the "Unread" filter). The first digits of a number, a whole number, a registry id and a case
number already have their indexes (e164's unique and pattern indexes, the registry ids' partial unique indexes, the
primary key, the foreign keys).

The indexes are created by SQL, not declared in the models: Django's model indexes cannot say text_pattern_ops or
gin_trgm_ops on an expression portably, and SQLite has neither.
"""

from django.db import migrations

POSTGRESQL = [
    # (name, table, method and expression)
    ("phone_number_e164_reversed", "provisioning_phonenumber", "btree (REVERSE(e164::text) text_pattern_ops)"),
    ("organisation_name_upper_trgm", "portal_organisation", "gin (UPPER(name::text) gin_trgm_ops)"),
    ("brand_legal_name_upper_trgm", "compliance_brand", "gin (UPPER(legal_name::text) gin_trgm_ops)"),
    ("brand_dba_name_upper_trgm", "compliance_brand", "gin (UPPER(dba_name::text) gin_trgm_ops)"),
]
UNREAD = (
    "CREATE INDEX IF NOT EXISTS case_unread_idx ON compliance_registrationcase (state_changed) WHERE unread_by_support"
)


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, expression in POSTGRESQL:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING {expression}")
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
        ("compliance", "0005_exports"),
        ("portal", "0001_initial"),
        ("provisioning", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
