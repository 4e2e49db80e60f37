"""Daily time partitions of the texts table on PostgreSQL (issue 12; README, "Scaling out: time partitions").

On PostgreSQL `texting_message` is a declaratively range-partitioned table on `created_at`: one partition per UTC day
(`texting_message_pYYYYMMDD`, [midnight, next midnight)), created ahead by beat (`ensure_partitions_ahead`), and a
default partition (`texting_message_default`) that takes any row no day partition covers: texts stamped before the
first partition or after the last, and the held texts the purge keeps from a dropped partition. SQLite (the
embedded default) has one plain table and none of this: every function here is a no-op there.

Why a day: the retention rule (SPEC.md 5) is that no text is deleted before it is 400 days old and none outlives
401 days unless held. A whole partition may be dropped once its upper bound is 400 days old; with a day's partitions
its oldest text is then 401 days old at most, when the purge runs just after midnight (RETENTION_PURGE_HOUR /
MINUTE, 00:10 UTC by default); what the cutoff leaves of the day that straddles it (the minutes between midnight and
the purge) is deleted row by row. Wider partitions (weeks, months) would leave up to a week or a month of texts to
delete row by row every night, which is what partitioning is meant to end. About 415 partitions live at once;
PostgreSQL 15 prunes them at plan time for every query that names a time range (texting.queries and
compliance.discovery all do), so their number costs planning only for queries that don't.

The partition key must be part of every unique index of a partitioned table: the primary key is (id, created_at)
(ids still come from one identity sequence, so `id` alone stays unique in practice and Django keeps using it), and
a carrier's message id is no longer enforced unique by an index: receiving a text serialises redeliveries with a
transaction-scoped advisory lock instead (texting.actions.receiving).
"""

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

log = logging.getLogger(__name__)

TABLE = "texting_message"
DEFAULT_PARTITION = f"{TABLE}_default"
# pg_advisory_xact_lock key for creating partitions (beat, the purge and a migration may try at once).
_LOCK_KEY = 7_400_001

_DAY_NAME = re.compile(rf"^{TABLE}_p([0-9]{{8}})$")
_BOUND = re.compile(r"FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True)
class Partition:
    name: str
    # [lower, upper); both None for the default partition.
    lower: datetime | None
    upper: datetime | None

    @property
    def is_default(self) -> bool:
        return self.lower is None


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def is_partitioned() -> bool:
    """True on PostgreSQL once migration texting 0008 has made the texts table partitioned."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE])
        return cursor.fetchone()[0]


def partitions() -> list[Partition]:
    """The texts table's partitions, oldest first, the default partition last."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        # The bounds of our own day partitions are in their names; PostgreSQL prints the others' (reading ~415
        # bounds back costs more than the rest of this query).
        cursor.execute(
            "SELECT c.relname, CASE WHEN c.relname ~ %s THEN NULL ELSE pg_get_expr(c.relpartbound, c.oid) END"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [_DAY_NAME.pattern, TABLE],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        if bound is None:
            digits = _DAY_NAME.match(name).group(1)  # YYYYMMDD (strptime took most of this function's time)
            day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
            found.append(Partition(name, day_start(day), day_start(day + timedelta(days=1))))
            continue
        match = _BOUND.match(bound)
        if match is None:
            found.append(Partition(name, None, None))
        else:
            lower, upper = (datetime.fromisoformat(value) for value in match.groups())
            found.append(Partition(name, lower.astimezone(UTC), upper.astimezone(UTC)))
    return sorted(found, key=lambda p: (p.is_default, p.lower or datetime.max.replace(tzinfo=UTC)))


def columns() -> list[str]:
    """The columns a copied row carries: the model's (the generated body_vector is computed again on INSERT)."""
    from .models import Message

    return [field.column for field in Message._meta.concrete_fields]


def ensure_partitions(first: date, last: date) -> list[str]:
    """Create the day partitions from `first` to `last` (inclusive) that do not exist yet; returns their names.

    Texts of those days already in the default partition (stamped ahead of the partitions, or created before them
    in tests) move into their day's partition in the same transaction. Idempotent, and safe to run from several
    processes at once (an advisory lock serialises them). Creating a partition locks the whole texts table for a
    moment; a long read of the texts (an export, say) holds that lock off, and rather than queue every other query
    behind it, each creation waits at most TEXTS_PARTITION_LOCK_TIMEOUT_MS and the rest are left to the next run
    (beat makes them daily, TEXTS_PARTITIONS_AHEAD_DAYS ahead, so a missed day costs nothing)."""
    if not is_partitioned() or last < first:
        return []
    created = []
    existing = {p.name for p in partitions()}
    day = first
    while day <= last:
        name = partition_name(day)
        if name not in existing:
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {int(settings.TEXTS_PARTITION_LOCK_TIMEOUT_MS)}")
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                    if name not in {p.name for p in partitions()}:
                        _create_partition(cursor, name, day_start(day), day_start(day + timedelta(days=1)))
                        created.append(name)
            except OperationalError as exc:
                if not is_lock_timeout(exc):
                    raise
                log.warning("Texts table busy: partition %s not created; the next run makes it.", name)
                break
        day += timedelta(days=1)
    if created:
        log.info("Texts table: created %d day partitions (%s to %s)", len(created), created[0], created[-1])
    return created


def is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "55P03"  # lock_not_available


def _create_partition(cursor, name: str, lower: datetime, upper: datetime) -> None:
    bounds = f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{upper.isoformat()}')"
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE created_at >= %s AND created_at < %s)", [lower, upper]
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} {bounds}")
        return
    # PostgreSQL refuses a partition whose range has rows in the default partition: take the default partition off
    # while those rows move (pg_partman does the same). Costs what the default partition holds, which is little.
    cols = ", ".join(columns())
    cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT_PARTITION}")
    cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} {bounds}")
    cursor.execute(
        f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {DEFAULT_PARTITION}"
        " WHERE created_at >= %s AND created_at < %s",
        [lower, upper],
    )
    cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE created_at >= %s AND created_at < %s", [lower, upper])
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT")


def ensure_partitions_ahead(today: date | None = None) -> list[str]:
    """Today's partition and the next TEXTS_PARTITIONS_AHEAD_DAYS days' (beat runs this daily; the purge too)."""
    today = today or timezone.now().astimezone(UTC).date()
    return ensure_partitions(today, today + timedelta(days=settings.TEXTS_PARTITIONS_AHEAD_DAYS))


def days_ahead(now: datetime | None = None) -> int | None:
    """How many whole days past today the partitions reach (None where the table is not partitioned): the texts
    of a day with no partition land in the default partition, where only row-by-row deletes reach them."""
    if not is_partitioned():
        return None
    found = [p for p in partitions() if not p.is_default]
    today = (now or timezone.now()).astimezone(UTC).date()
    day, ahead = today, -1
    names = {p.name for p in found}
    while partition_name(day) in names:
        ahead += 1
        day += timedelta(days=1)
    return ahead
