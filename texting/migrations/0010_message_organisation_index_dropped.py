import django.db.models.deletion
from django.db import migrations, models

# The index Django made for the organisation foreign key. message_org_created_idx (organisation, created_at) serves
# every lookup by organisation, so this one only cost every write (and every day partition made and dropped).
INDEX = "texting_message_organisation_id_529350e8"


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_user_language"),
        ("texting", "0009_purge_partitions_dropped"),
    ]

    operations = [
        # Django's own AlterField would also drop and add the foreign key again, checking every text (minutes on a
        # large table, with the table locked); the index is all that changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="organisation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="texts",
                        to="portal.organisation",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "texting_message" ("organisation_id")',
                ),
            ],
        ),
    ]
