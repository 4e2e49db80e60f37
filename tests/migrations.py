"""What the migration tests share: moving the test database to a migration, the historical models there, an
organisation to hang old rows on, and the way back to the latest schema (the one the other tests expect)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(target):
    """Migrate the test database to `target` ([(app, migration)]) and return the historical apps as of there. Each
    call uses a fresh executor: an executor's loader would still see a migration applied since it was made as
    unapplied."""
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def migrate_to_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_organisation(apps, name="Old Acme", partner=None):
    """An enterprise organisation (of a new partner, unless `partner` is given) made with the historical models."""
    partner = partner or apps.get_model("portal", "Partner").objects.create(name="Old Partner")
    return apps.get_model("portal", "Organisation").objects.create(
        name=name, partner=partner, customer_type="enterprise", country="US"
    )
