from django.db import migrations


def make_aside_table(apps, schema_editor):
    """PostgreSQL: the unlogged table where the purge keeps held texts while it drops their partitions
    (texting.retention.ASIDE_TABLE), made here so that no night's purge writes catalog rows for it. The purge makes it
    again by itself whenever the texts table's columns have changed since."""
    if schema_editor.connection.vendor != "postgresql":
        return
    Message = apps.get_model("texting", "Message")
    cols = ", ".join(field.column for field in Message._meta.concrete_fields)
    schema_editor.execute(
        f"CREATE UNLOGGED TABLE IF NOT EXISTS texting_message_aside AS SELECT {cols} FROM texting_message WITH NO DATA"
    )


def drop_aside_table(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TABLE IF EXISTS texting_message_aside")


class Migration(migrations.Migration):
    dependencies = [
        ("texting", "0010_message_organisation_index_dropped"),
    ]

    operations = [
        migrations.RunPython(make_aside_table, drop_aside_table),
    ]
