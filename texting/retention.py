"""The 400-day retention (SPEC.md 5): every business text is deleted once it is older than MESSAGE_RETENTION_DAYS.

`purge_expired_messages` is what the nightly beat task and `manage.py purge_expired_messages` both run:

- Exact and time-zone safe: the cutoff is `now - timedelta(days=N)` on aware UTC datetimes, i.e. exactly N × 24 h of
  elapsed time whatever the server's or the users' time zone and daylight-saving changes. A text is deleted when
  `created_at < cutoff` (so 400 days and a second goes, 399 days 23 hours stays).
- In batches of bounded size, each its own short transaction, so the table stays usable while it runs; rows never
  travel to Python: the database deletes them and answers a count.
- One at a time: a lease (Redis, or a database row without Redis; texting.locks) renewed after every batch.
- Resumable: every batch commits with the run's counters, so a purge killed halfway leaves a consistent table and
  an honest PurgeRun; the next run computes its own cutoff and simply continues. Nothing younger than the cutoff
  is ever touched (the DELETE itself re-checks `created_at < cutoff`). The batches commit without waiting for the
  disk (`_commit_without_waiting`): a crash of the database server loses the last batches and their counters
  together, and the next run redoes them.
- Legal holds (compliance.models.LegalHold, SPEC.md 9): a text an active hold matches is never deleted, however old.
  Every statement that picks texts to delete carries one more condition, `_not_held` (NOT EXISTS against the holds'
  custodian tables, which PostgreSQL runs as a hash anti-join), only while an active hold exists (checked in each
  batch's transaction); the run records how many expired texts it kept (`PurgeRun.kept_by_holds`). A hold protects
  from the moment it is committed: a batch statement already running does not see it.
"""

import bisect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from . import locks, partitions
from .models import Message, PurgeRun

log = logging.getLogger(__name__)

LOCK_NAME = "retention-purge"


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Texts created before this instant have expired."""
    return (now or timezone.now()) - timedelta(days=settings.MESSAGE_RETENTION_DAYS)


def purge_expired_messages(
    *,
    batch_size: int | None = None,
    max_batches: int | None = None,
    dry_run: bool = False,
    progress: Callable[[PurgeRun], None] | None = None,
    now: datetime | None = None,
) -> PurgeRun:
    """Delete every text older than the retention period; returns the PurgeRun that records it.

    `max_batches` stops after that many batches (outcome *stopped*; the next run continues). `dry_run` counts the
    expired texts and deletes nothing. `progress` is called with the run after each batch. When another purge holds
    the lock, nothing is deleted and the run is recorded as *skipped*. `now` (never later than the clock) runs the
    purge as it would have run at that instant: the cutoff is 400 days before it (benchmarks run the nightly purge of
    00:10 UTC with it).

    On PostgreSQL the texts table is partitioned by day (texting.partitions): every partition wholly older than the
    cutoff is dropped (its held texts moved to the default partition first), and only what is left (the part of the
    day straddling the cutoff, the default partition) goes row by row.
    """
    batch_size = batch_size or settings.MESSAGE_RETENTION_BATCH_SIZE
    if batch_size < 1:
        raise ValueError("The batch size must be at least 1.")
    started = timezone.now()
    if now is not None and now > started:
        raise ValueError("A purge cannot run as of a time still to come.")
    cutoff = retention_cutoff(now or started)
    common = dict(
        cutoff=cutoff,
        retention_days=settings.MESSAGE_RETENTION_DAYS,
        started=started,
        batch_size=batch_size,
        dry_run=dry_run,
    )
    if dry_run:
        return PurgeRun.objects.create(
            **common,
            rows_matched=_count_deletable(cutoff),
            kept_by_holds=count_held_expired(cutoff),
            outcome=PurgeRun.Outcome.COMPLETED,
            finished=timezone.now(),
        )

    # Renewed after every batch (a batch takes well under a second); a purge killed with kill -9 blocks the next one
    # for at most RETENTION_LOCK_TTL_SECONDS.
    lease = locks.lease(LOCK_NAME, settings.RETENTION_LOCK_TTL_SECONDS)
    if not lease.acquire():
        log.info("Retention purge skipped: another purge holds the lock.")
        return PurgeRun.objects.create(
            **common, outcome=PurgeRun.Outcome.SKIPPED, finished=timezone.now(), detail="Another purge was running."
        )
    with lease:
        # We hold the lock, so a run still marked running died (killed worker, lost machine).
        PurgeRun.objects.filter(outcome=PurgeRun.Outcome.RUNNING, dry_run=False).update(
            outcome=PurgeRun.Outcome.INTERRUPTED, detail="Stopped before it finished; a later run continued."
        )
        run = PurgeRun.objects.create(**common)
        try:
            partitions.ensure_partitions_ahead()
            longest_drop, days_left = _drop_expired_partitions(run, cutoff)
            outcome, detail, longest = _delete_in_batches(
                run, lease, cutoff, batch_size, max_batches, progress, _Position(days=days_left)
            )
            longest = max(longest, longest_drop)
        except Exception as exc:
            PurgeRun.objects.filter(pk=run.pk).update(
                outcome=PurgeRun.Outcome.FAILED, finished=timezone.now(), detail=str(exc)[:300]
            )
            raise
        ended = dict(outcome=outcome, detail=detail, finished=timezone.now(), longest_batch_ms=longest)
        if connection.vendor != "postgresql":
            # SQLite's batches pick texts by id, so they cannot count what they passed over: count it here.
            ended["kept_by_holds"] = count_held_expired(cutoff)
        PurgeRun.objects.filter(pk=run.pk).update(**ended)
    run.refresh_from_db()
    log.info(
        "Retention purge: %s rows deleted in %s batches (cutoff %s): %s; %s expired kept by legal holds;"
        " %s day partitions dropped",
        run.rows_deleted,
        run.batches,
        cutoff.isoformat(),
        run.outcome,
        run.kept_by_holds,
        run.partitions_dropped,
    )
    return run


# Expired day partitions dropped per transaction. From its DROP to its COMMIT a transaction holds the whole texts
# table's lock (sending and reading texts wait), and every change of the partitions makes each process read the
# partition bounds again on its next write, so the days of a night go together: a first purge finding a month
# expired drops it in one transaction of ~0.3 s (benchmarks/retention.py --partitioned). A purge after a longer
# pause (or the migration's first) takes its days a month at a time.
PARTITIONS_PER_TRANSACTION = 31


def _drop_expired_partitions(run: PurgeRun, cutoff: datetime) -> tuple[int, list[partitions.Partition]]:
    """PostgreSQL: drop every day partition whose whole range is older than the cutoff; returns the longest of their
    transactions in ms, and the day partitions left that begin before the cutoff, oldest first (where the row-by-row
    batches go: the first begins them, unless the default partition holds older texts).

    Which partitions are worth dropping is decided first, outside any transaction (`_worth_dropping`). Then up to
    PARTITIONS_PER_TRANSACTION partitions per transaction: copy the texts an active hold keeps into ASIDE_TABLE (one
    statement for the whole group, found from the custodians' side through the partitions' number and user indexes,
    so it costs what the held texts cost, not what the partitions hold), count each partition's texts, drop the
    partitions, and put the held texts back into the table, where they land in the default partition (no partition
    covers their day any more). The held texts keep their ids and timestamps; releasing the hold leaves them to the
    row-by-row batches of a later purge. A partition whose held texts would cost more to move than the rest of it to
    delete is left to the row-by-row batches; so are partitions whose lock does not come within
    TEXTS_PARTITION_LOCK_TIMEOUT_MS (a long read of the texts holds it).

    Emptying a partition with held texts (TRUNCATE, then the held texts back into it) instead of dropping it was
    measured too: a third of the WAL for its catalog rows (2.9 MB against 4.2 MB for the benchmark's month), but
    100 ms slower (TRUNCATE makes every file of the partition and its indexes anew), and under holds that last
    years one partition a day would stay for good; the default partition keeps their texts in one place instead."""
    longest = 0
    custodians = _custodians()
    days = [p for p in partitions.partitions() if not p.is_default and p.lower < cutoff]
    expired = [p.name for p in days if p.upper <= cutoff]
    dropped = set()
    quote = connection.ops.quote_name
    if custodians is not None:
        # Decided before any transaction, from the statistics: only the partitions worth dropping take one.
        with connection.cursor() as cursor:
            expired = _worth_dropping(cursor, expired, custodians)
    for first in range(0, len(expired), PARTITIONS_PER_TRANSACTION):
        names = expired[first : first + PARTITIONS_PER_TRANSACTION]
        began = time.perf_counter()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(settings.TEXTS_PARTITION_LOCK_TIMEOUT_MS)}")
                # Deferred foreign-key checks of rows written earlier in this transaction (none in the nightly task;
                # some where a caller's transaction wrote texts) would forbid the DROP: check them now.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                held_by = _lock_holds(cursor)
                kept = _set_held_texts_aside(cursor, names, held_by) if held_by is not None else 0
                present = _count_rows(cursor, names)
                cursor.execute(f"DROP TABLE {', '.join(quote(name) for name in names)}")
                if kept:
                    _restore_held_texts(cursor)
                so_far_ms = int((time.perf_counter() - began) * 1000)
                PurgeRun.objects.filter(pk=run.pk).update(
                    # The held texts moved are counted in kept_by_holds once, by the row-by-row batches that follow
                    # (they pass over every expired text left, wherever it is).
                    rows_deleted=F("rows_deleted") + sum(present.values()) - kept,
                    partitions_dropped=F("partitions_dropped") + len(names),
                    longest_batch_ms=Greatest(F("longest_batch_ms"), so_far_ms),
                )
        except OperationalError as exc:
            if not partitions.is_lock_timeout(exc):
                raise
            log.warning(
                "Retention purge: the texts table or the legal holds are busy; %s are deleted row by row tonight.",
                names,
            )
            continue
        dropped.update(names)
        longest = max(longest, int((time.perf_counter() - began) * 1000))
    return longest, [p for p in days if p.name not in dropped]


# Moving a held text out of a partition (copied aside, then inserted into the default partition with its eight
# indexes) costs about 25 times what deleting a text row by row costs: measured on the held variant of
# benchmarks/retention.py (100,000 held texts in 359 days), moving them all and dropping the days took 4.7 s, 33 µs a
# held text, where the batches deleted the other 900,000 in 1.35 s, 1.4 µs a text (session 6 measured 55 µs against
# 5.5 µs with a temporary table, before the batches named their days).
HELD_TEXT_MOVE_COST = 25


def _worth_dropping(cursor, names: list[str], custodians: list) -> list[str]:
    """The partitions (names) among `names` worth dropping, their held texts moved out first: those where that costs
    less than deleting their other texts row by row, i.e. not where holds keep more than about one text in 25 of
    the partition. Such a partition stays, its texts that may go are deleted by the batches, and it is dropped on
    the first night after its holds are released.

    Decided on the planner's statistics of each partition (kept by autovacuum), without reading a text or an index:
    the custodians' share of its texts as PostgreSQL estimates `business_number = ANY(...)` and `user_id = ANY(...)`
    (`_custodian_shares`), against its row count. One catalog query for a year of days: 45 ms for the 359 days of
    benchmarks/retention.py --variant held, where counting the custodians' texts through every partition's indexes
    took 140 ms (the purge went from 1.61 s to 1.55 s, median of 6 alternated rounds). A partition never analyzed is
    counted through its indexes instead. A wrong estimate costs time, never a text: the
    held texts of every partition dropped are found exactly, through the custodians' indexes, and set aside
    (`_set_held_texts_aside`)."""
    shares = _custodian_shares(cursor, names, custodians)
    counted = [name for name in names if name not in shares]
    for first in range(0, len(counted), PARTITIONS_PER_TRANSACTION):
        shares.update(_counted_shares(cursor, counted[first : first + PARTITIONS_PER_TRANSACTION], custodians))
    return [name for name in names if shares[name] * HELD_TEXT_MOVE_COST <= 1 - shares[name]]


def _custodian_shares(cursor, names: list[str], custodians: list) -> dict[str, float]:
    """{partition: the estimated share of its texts that custodians sent or received} for the partitions of `names`
    that have statistics, from pg_stats: a custodian among a column's most common values counts its frequency, any
    other an equal part of what the most common values leave to the column's other distinct values (the planner's
    estimate for a value it keeps no frequency of); the numbers' and the users' shares are added (the holds keep no
    more than that, as far as the estimates go)."""
    numbers, users = custodians
    asked = {"business_number": numbers, "user_id": [str(user) for user in users]}
    # A column's most common values are cast to text once (anyarray), for both columns (the numbers and the user ids
    # asked for as text).
    cursor.execute(
        "SELECT s.tablename, s.attname, c.reltuples, s.null_frac, s.n_distinct, m.common, m.common_share,"
        " m.asked_common, m.asked_share"
        " FROM pg_stats s"
        " JOIN (VALUES ('business_number', %s::text[]), ('user_id', %s::text[])) AS a(attname, asked)"
        " ON a.attname = s.attname"
        " JOIN pg_class c ON c.oid = to_regclass(quote_ident(s.tablename))"
        " CROSS JOIN LATERAL (SELECT count(*) AS common, coalesce(sum(f), 0) AS common_share,"
        "   count(*) FILTER (WHERE v = ANY(a.asked)) AS asked_common,"
        "   coalesce(sum(f) FILTER (WHERE v = ANY(a.asked)), 0) AS asked_share"
        "   FROM unnest(s.most_common_vals::text::text[], s.most_common_freqs) AS m(v, f)) m"
        " WHERE s.schemaname = current_schema() AND s.tablename = ANY(%s) AND NOT s.inherited"
        # Named again as literals, so PostgreSQL reads only these two columns' statistics.
        " AND s.attname IN ('business_number', 'user_id')",
        [asked["business_number"], asked["user_id"], names],
    )
    shares = {}
    columns = {}
    for name, column, reltuples, null_frac, n_distinct, n_common, common, asked_common, asked_share in cursor:
        if reltuples < 0:
            continue  # analyzed, but its row count lost since (a TRUNCATE): counted instead
        distinct = n_distinct if n_distinct >= 0 else -n_distinct * reltuples
        per_other = max(1 - null_frac - common, 0) / max(distinct - n_common, 1)
        share = asked_share + (len(asked[column]) - asked_common) * per_other
        shares[name] = min(shares.get(name, 0) + min(share, 1 - null_frac), 1)
        columns.setdefault(name, set()).add(column)
    return {name: share for name, share in shares.items() if len(columns[name]) == len(asked)}


def _counted_shares(cursor, names: list[str], custodians: list) -> dict[str, float]:
    """{partition: the share of its texts that custodians sent or received} for partitions without statistics,
    counted through their number and user indexes (one statement), against their rows (counted too)."""
    if not names:
        return {}
    quote = connection.ops.quote_name
    numbers, users = custodians
    cursor.execute(
        "SELECT "
        + ", ".join(
            f"(SELECT count(*) FROM {quote(name)} WHERE business_number = ANY(%s))"
            f" + (SELECT count(*) FROM {quote(name)} WHERE user_id = ANY(%s))"
            for name in names
        ),
        [numbers, users] * len(names),
    )
    bound = dict(zip(names, cursor.fetchone(), strict=True))
    rows = _count_rows(cursor, [name for name, most in bound.items() if most])
    return {name: min(most / rows[name], 1) if most else 0.0 for name, most in bound.items()}


def _count_rows(cursor, names: list[str]) -> dict[str, int]:
    """{partition name: its rows} for the partitions `names`, in one statement (answered from an index)."""
    if not names:
        return {}
    quote = connection.ops.quote_name
    cursor.execute("SELECT " + ", ".join(f"(SELECT count(*) FROM {quote(name)})" for name in names))
    return dict(zip(names, cursor.fetchone(), strict=True))


# An UNLOGGED table of the texts table's columns where the purge keeps held texts while their partitions are
# dropped. Unlogged, its rows cost no WAL; permanent, it costs no catalog writes
# either (a temporary table made and dropped every night wrote ~120 kB of WAL for its catalog rows, 3% of the
# purge's). Empty outside the purge's transaction. Made by migration texting 0011, and made again by the purge when
# the texts table's columns have changed since (`_aside_table`).
ASIDE_TABLE = "texting_message_aside"


def _aside_table(cursor) -> None:
    """Make ASIDE_TABLE, or make it again when its columns are no longer the texts table's: one missing, or of
    another type (a column widened since would not take a held text's value). Their order does not matter (every
    statement names them): migration 0011 made it in the historical model's order, foreign keys last, and comparing
    orders made every database's first purge write its catalog rows again."""
    cols = partitions.columns()
    cursor.execute(
        "SELECT attrelid = to_regclass(%s), attname::text, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid IN (to_regclass(%s), to_regclass(%s)) AND attnum > 0 AND NOT attisdropped"
        " AND attname = ANY(%s)",
        [ASIDE_TABLE, ASIDE_TABLE, partitions.TABLE, cols],
    )
    aside, texts = set(), set()
    for in_aside, name, kind in cursor.fetchall():
        (aside if in_aside else texts).add((name, kind))
    if aside == texts:
        return
    cursor.execute(f"DROP TABLE IF EXISTS {ASIDE_TABLE}")
    cursor.execute(
        f'CREATE UNLOGGED TABLE {ASIDE_TABLE} AS SELECT {", ".join(cols)} FROM "{partitions.TABLE}" WITH NO DATA'
    )


def _set_held_texts_aside(cursor, names: list[str], custodians: list) -> int:
    """Copy the texts an active hold keeps out of the partitions `names` (all of them dropped in this transaction)
    into ASIDE_TABLE, in one statement; returns how many. `_restore_held_texts` puts them back once the partitions
    are gone."""
    if not names:
        return 0
    _aside_table(cursor)
    cols = ", ".join(partitions.columns())
    quote = connection.ops.quote_name
    cursor.execute(
        f"INSERT INTO {ASIDE_TABLE} ({cols}) "
        + " UNION ALL ".join(
            f"SELECT {cols} FROM {quote(name)} p WHERE {_custodian_rows('p')} AND {_held('p')}" for name in names
        ),
        custodians * len(names),
    )
    return cursor.rowcount


def _restore_held_texts(cursor) -> None:
    """Put the held texts set aside back into the table, where the default partition takes them (no partition covers
    their days any more), and empty ASIDE_TABLE."""
    cols = ", ".join(partitions.columns())
    cursor.execute(f'INSERT INTO "{partitions.TABLE}" ({cols}) SELECT {cols} FROM {ASIDE_TABLE}')
    cursor.execute(f"DELETE FROM {ASIDE_TABLE}")


def _lock_holds(cursor) -> list | None:
    """Within a transaction that drops partitions: lock the legal holds and their custodians against change until
    it commits (SHARE: reading them goes on; placing, changing or releasing a hold waits, at most a drop
    transaction's fraction of a second), then read the custodians (`_custodians`). What the purge read before this
    transaction (to decide which days to drop) may be out of date by now: a hold committed since would otherwise
    lose the texts of the days dropped here; one committed from now on sees them gone only once this commits, and
    then its texts are in the default partition. Waits at most TEXTS_PARTITION_LOCK_TIMEOUT_MS, like the DROP."""
    quote = connection.ops.quote_name
    cursor.execute(
        f"LOCK TABLE {', '.join(quote(model._meta.db_table) for model in _holds())} IN SHARE MODE",
    )
    return _custodians()


def _custodians() -> list | None:
    """[the numbers, the user ids] some active hold names (any organisation), or None when no hold is active."""
    LegalHold, LegalHoldUser, LegalHoldNumber = _holds()
    if not LegalHold.objects.active().exists():
        return None
    active = {"hold__status": LegalHold.Status.ACTIVE}
    numbers = list(LegalHoldNumber.objects.filter(**active).values_list("e164", flat=True).distinct())
    users = list(LegalHoldUser.objects.filter(**active).values_list("user_id", flat=True).distinct())
    return [numbers, users]


def _custodian_rows(table: str) -> str:
    """SQL (two array parameters: numbers, user ids): the rows of `table` a custodian sent or received, found through
    the (business_number, created_at) and user indexes; `_held` then checks each against its hold exactly."""
    return f"({table}.business_number = ANY(%s) OR {table}.user_id = ANY(%s))"


def _delete_in_batches(run, lease, cutoff, batch_size, max_batches, progress, position) -> tuple[str, str, int]:
    longest_ms = 0
    batches = 0
    renew = False
    while max_batches is None or batches < max_batches:
        began = time.perf_counter()
        with transaction.atomic():
            _commit_without_waiting()
            # Renewed in the batch's own transaction, before it deletes (a database lease's UPDATE then commits with
            # the batch, one COMMIT a batch rather than two).
            if renew and not lease.renew():
                return PurgeRun.Outcome.FAILED, "Lost the purge lock; the next run continues.", longest_ms
            renew = True
            deleted, kept, more = _delete_batch(cutoff, batch_size, position)
            if deleted or kept:
                so_far_ms = int((time.perf_counter() - began) * 1000)
                PurgeRun.objects.filter(pk=run.pk).update(
                    rows_deleted=F("rows_deleted") + deleted,
                    kept_by_holds=F("kept_by_holds") + kept,
                    batches=F("batches") + (1 if deleted else 0),
                    longest_batch_ms=Greatest(F("longest_batch_ms"), so_far_ms),
                )
        # Measured after COMMIT: the whole time the batch's transaction was open.
        longest_ms = max(longest_ms, int((time.perf_counter() - began) * 1000))
        if deleted:
            batches += 1
            if progress is not None:
                run.refresh_from_db()
                progress(run)
        if not more:
            # The last statement reached the cutoff: nothing expired is left.
            return PurgeRun.Outcome.COMPLETED, "", longest_ms
        # No guard against statements that delete nothing is needed: every statement either deletes rows or moves
        # the position strictly forward (only a delete racing ours empties one).
    # Everything older went in earlier batches: look only past where they ended. Unbounded, this check read past
    # every row just deleted (not yet vacuumed; measured 1.8-2.7 s after 1,000,000 deletions, a whole-table scan
    # chosen on the statistics from before them), and it ran even when the last batch had reached the cutoff.
    if _deletable_exists(cutoff, position.start):
        return PurgeRun.Outcome.STOPPED, f"Stopped after {batches} batches; the next run continues.", longest_ms
    return PurgeRun.Outcome.COMPLETED, "", longest_ms


def _commit_without_waiting() -> None:
    """PostgreSQL: this transaction's COMMIT does not wait for its WAL to reach the disk (`synchronous_commit = off`
    for it alone). A batch's deletions and the run's counters commit together, so a crash of the database server
    within the next moments (up to three times wal_writer_delay) loses the last batches and their counters
    consistently, and the next purge deletes those texts again: nothing a purge does needs its batches durable
    one by one, and the run's last update (its outcome, an ordinary commit) flushes every batch before it. Waiting for
    the disk at each of a night's COMMITs cost 6-8 ms each, 0.13-0.19 s of the held variant's 22 batches
    (benchmarks/retention.py --variant held). The transactions that drop partitions are left as they are: PostgreSQL
    flushes a transaction that deletes files at its COMMIT whatever this setting says. Only a batch that is its own
    transaction: inside a caller's transaction (the batch a savepoint) `SET LOCAL` would outlive the batch and spare
    the caller's COMMIT the wait too."""
    if connection.vendor == "postgresql" and not connection.savepoint_ids and connection.commit_on_exit:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _holds():
    # Imported here: compliance's models import provisioning and portal, and texting's models load before them.
    from compliance.models import LegalHold, LegalHoldNumber, LegalHoldUser

    return LegalHold, LegalHoldUser, LegalHoldNumber


def any_active_hold() -> bool:
    LegalHold, _, _ = _holds()
    return LegalHold.objects.active().exists()


def _hold_matches(table: str) -> tuple[str, str]:
    """SQL: (held by a custodian user, held through a custodian number) of a row of `table` by an active hold."""
    LegalHold, LegalHoldUser, LegalHoldNumber = _holds()
    quote = connection.ops.quote_name
    hold, users, numbers = (quote(m._meta.db_table) for m in (LegalHold, LegalHoldUser, LegalHoldNumber))
    matches = (
        f"h.status = 'active' AND h.organisation_id = {table}.organisation_id"
        f" AND (h.held_from IS NULL OR {table}.created_at >= h.held_from)"
        f" AND (h.held_until IS NULL OR {table}.created_at < h.held_until)"
    )
    return (
        f"EXISTS (SELECT 1 FROM {users} hu JOIN {hold} h ON h.id = hu.hold_id"
        f" WHERE hu.user_id = {table}.user_id AND {matches})",
        f"EXISTS (SELECT 1 FROM {numbers} hn JOIN {hold} h ON h.id = hn.hold_id"
        f" WHERE hn.e164 = {table}.business_number AND {matches})",
    )


def _held(table: str) -> str:
    """SQL: the text (a row of `table`) is matched by an active legal hold of its organisation."""
    by_user, by_number = _hold_matches(table)
    return f"({by_user} OR {by_number})"


def _not_held(table: str) -> str:
    """SQL: the text (a row of `table`, the quoted message table) is matched by no active legal hold of its
    organisation: not sent by a custodian user and not through a custodian number within the hold's range. Two
    NOT EXISTS, each a join of the custodians to their hold, so PostgreSQL hashes the (few) custodians once and
    anti-joins every text against them."""
    by_user, by_number = _hold_matches(table)
    return f" AND NOT {by_user} AND NOT {by_number}"


def _keep_clause(table: str) -> str:
    """`_not_held` while an active hold exists, else nothing (the plain statements of a purge without holds)."""
    return _not_held(table) if any_active_hold() else ""


def _count_deletable(cutoff: datetime) -> int:
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE created_at < %s{_keep_clause(table)}",
            [connection.ops.adapt_datetimefield_value(cutoff)],
        )
        return cursor.fetchone()[0]


def _deletable_exists(cutoff: datetime, since: datetime | None) -> bool:
    table = connection.ops.quote_name(Message._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    lower = " AND created_at >= %s" if since is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {table} WHERE created_at < %s{lower}{_keep_clause(table)} LIMIT 1",
            [adapt(cutoff), *([adapt(since)] if since is not None else [])],
        )
        return cursor.fetchone() is not None


def count_held_expired(cutoff: datetime) -> int:
    """How many texts older than `cutoff` an active legal hold keeps. Read from the holds' side (the custodians'
    texts through the user and number indexes), so it costs what the held texts cost, not the expired ones."""
    if not any_active_hold():
        return 0
    LegalHold, LegalHoldUser, LegalHoldNumber = _holds()
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    hold, users, numbers = (quote(m._meta.db_table) for m in (LegalHold, LegalHoldUser, LegalHoldNumber))
    matches = (
        "h.status = 'active' AND h.organisation_id = m.organisation_id AND m.created_at < %s"
        " AND (h.held_from IS NULL OR m.created_at >= h.held_from)"
        " AND (h.held_until IS NULL OR m.created_at < h.held_until)"
    )
    cutoff_value = connection.ops.adapt_datetimefield_value(cutoff)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM ("
            f"SELECT m.id FROM {users} hu JOIN {hold} h ON h.id = hu.hold_id"
            f" JOIN {table} m ON m.user_id = hu.user_id WHERE {matches}"
            f" UNION SELECT m.id FROM {numbers} hn JOIN {hold} h ON h.id = hn.hold_id"
            f" JOIN {table} m ON m.business_number = hn.e164 WHERE {matches}) held",
            [cutoff_value, cutoff_value],
        )
        return cursor.fetchone()[0]


@dataclass
class _Position:
    """Where the next row-by-row batch starts (None: at the oldest expired text), and, on PostgreSQL, how far past
    that it looks for the batch's end: the statement then names a short time range, so PostgreSQL plans only the
    day partitions in it (23 ms a statement over the ~300 partitions of a whole year of expired days, 1 ms over
    the twenty of a batch)."""

    start: datetime | None = None
    window: timedelta = timedelta(days=1)
    # The day partitions that begin before the cutoff, oldest first (none where the table is not partitioned).
    days: list[partitions.Partition] = field(default_factory=list)
    # Their rows, counted exactly once each (`_whole_days`), and the planner's row counts (`row_estimates`).
    counts: dict[str, int] = field(default_factory=dict)
    estimates: dict[str, float] | None = None

    def row_estimates(self, cursor) -> dict[str, float]:
        """{day partition: the planner's row count (reltuples; -1: none yet)}, read once, in one query."""
        if self.estimates is None:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE oid = ANY(%s::regclass[])",
                [[day.name for day in self.days]],
            )
            self.estimates = dict(cursor.fetchall())
        return self.estimates

    @property
    def first_day(self) -> datetime | None:
        """The start of the oldest day partition older than the cutoff (None: none, or not partitioned)."""
        return self.days[0].lower if self.days else None

    def day_at(self, moment: datetime) -> tuple[partitions.Partition | None, datetime | None]:
        """(the day partition holding `moment`, or None), and where that stretch of time ends: that day's end, or
        the start of the next day partition (None: no day partition follows)."""
        lowers = [day.lower for day in self.days]
        at = bisect.bisect_right(lowers, moment) - 1
        if at >= 0 and moment < self.days[at].upper:
            return self.days[at], self.days[at].upper
        return None, lowers[at + 1] if at + 1 < len(lowers) else None


def _delete_batch(cutoff: datetime, batch_size: int, position: _Position) -> tuple[int, int, bool]:
    """Delete at most `batch_size` of the oldest expired texts from `position` (moved past them); returns (rows
    deleted, held texts passed over (on PostgreSQL; 0 on SQLite), whether expired texts may remain). Only counts and
    one timestamp come back to Python."""
    table = connection.ops.quote_name(Message._meta.db_table)
    cutoff_value = connection.ops.adapt_datetimefield_value(cutoff)
    keep = _keep_clause(table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _delete_range_postgresql(cursor, table, cutoff_value, batch_size, position, keep)
        # SQLite (development): the same batches, by primary key.
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN "
            f"(SELECT id FROM {table} WHERE created_at < %s{keep} ORDER BY created_at LIMIT %s)",
            [cutoff_value, batch_size],
        )
        return cursor.rowcount, 0, cursor.rowcount == batch_size


def _delete_range_postgresql(cursor, table, cutoff, batch_size, position: _Position, keep=""):
    """One batch as a time range [start, end): `end` is the (batch_size + 1)-th expired timestamp from `start` (within
    the position's window), read from the created_at index alone, so the range holds at most `batch_size` texts and
    each is visited once; no batch walks the index entries its predecessors left behind (they stay until VACUUM).
    The range is then deleted by one plain statement naming it in values, with legal holds one more condition on
    it (`keep`): a range may delete fewer than `batch_size` (or none, when all of it is held) and the next starts at
    its end all the same; what the holds kept is the range's texts less those deleted (figures: README, Benchmarks,
    benchmarks/retention.py --variant held). On the same texts `id IN (SELECT id ... LIMIT n)` took 68-78 s and
    `ctid = ANY(ARRAY(SELECT ctid ...))` 24-26 s, each batch re-reading the dead entries of all before it.

    Whole day partitions older than the cutoff (the days holds kept from being dropped) go instead a batch of whole
    days at a time, counted rather than read for a boundary (`_whole_days`); a range read for its boundary ends no
    later than its day partition, or than the next day partition's start, so that the batches after it can."""
    start = position.start
    if start is None:
        start = position.start = _oldest_expired(cursor, cutoff, position.first_day)
        if start is None:
            return 0, 0, False
        position.window = _first_window(cursor, position, batch_size)
    day, stretch_end = position.day_at(start)
    if day is not None and day.lower == start and day.upper <= cutoff:
        taken = _whole_days(cursor, position, day, cutoff, batch_size)
        if taken is not None:
            end, present = taken
            cursor.execute(f"DELETE FROM {table} WHERE created_at >= %s AND created_at < %s{keep}", [start, end])
            deleted = cursor.rowcount
            position.start = end
            return deleted, max(present - deleted, 0), end < cutoff
    # Within a day partition, or between them (texts in the default partition): no further than where that ends,
    # so that batches reach the next day partition at its start (and take it whole when it fits).
    limit = min(cutoff, start + position.window, *([stretch_end] if stretch_end is not None else []))
    # The batch_size-th and the next texts' timestamps in the window.
    cursor.execute(
        f"SELECT created_at FROM {table} WHERE created_at >= %s AND created_at < %s"
        " ORDER BY created_at OFFSET %s LIMIT 2",
        [start, limit, batch_size - 1],
    )
    rows = [row[0] for row in cursor.fetchall()]
    end = rows[1] if len(rows) == 2 else limit
    if end == start:
        # More than a batch of texts share one timestamp: take a batch of those by physical address instead.
        deleted, present = _delete_counting(
            cursor,
            table,
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
            f"SELECT ctid FROM {table} WHERE created_at = %s{keep} LIMIT %s)) AND created_at = %s",
            [start, batch_size, start],
            "created_at = %s",
            [start],
            counting=bool(keep),
        )
        if deleted < batch_size:
            # Every text of this instant that may go has gone (the rest are held, counted now, once): continue just
            # past it (timestamps are whole microseconds, so this is `created_at > start`).
            position.start = start + timedelta(microseconds=1)
            return deleted, present - deleted, True
        return deleted, 0, True
    # How many texts the range holds, held ones too: exactly batch_size when the batch_size-th text is older than
    # the range's end (or is the window's last), else counted.
    if rows and (len(rows) == 1 or rows[0] < end):
        present = batch_size
    else:
        cursor.execute(f"SELECT count(*) FROM {table} WHERE created_at >= %s AND created_at < %s", [start, end])
        present = cursor.fetchone()[0]
    # Values again, so PostgreSQL plans the DELETE on the partitions' row counts (a sequential scan of a day wholly
    # in the range, as one plain DELETE would, rather than an index scan of it).
    cursor.execute(f"DELETE FROM {table} WHERE created_at >= %s AND created_at < %s{keep}", [start, end])
    deleted = cursor.rowcount
    # A full batch ended before the window did: look twice as far next time. A window with fewer texts than a batch
    # is taken whole, and the next looks four times as far (the first reaches a batch's worth in a few steps); but
    # only where the window itself was the limit: a range cut short by its day's end (or the next day's start, or
    # the cutoff) says nothing of how far a batch reaches, and growing on it at every gap between kept days would
    # grow the window past the year 9999 (OverflowError) after a dozen gaps.
    if end < limit:
        position.window = max((end - start) * 2, timedelta(seconds=1))
    elif limit == start + position.window:
        position.window = min(position.window * 4, MAX_WINDOW)
    position.start = end
    # The count and the DELETE are two statements, each with its own snapshot: only a text written into this expired
    # range between them (none is: texts are stamped when they are written) could make the difference not the held
    # texts passed over.
    return deleted, max(present - deleted, 0), end < cutoff


# The most day partitions one batch counts at once (about a month).
WHOLE_DAYS_MAX = 31
# The furthest a boundary read looks past its start (ten years: texts older than that are strays, and a longer
# window only costs its planning).
MAX_WINDOW = timedelta(days=3653)


def _whole_days(cursor, position: _Position, first: partitions.Partition, cutoff: datetime, batch_size: int):
    """A batch of whole day partitions from `first` (every one of them older than the cutoff, one after the other):
    (where it ends, its texts), or None when `first` alone holds more than a batch. Each day is counted exactly, once
    (`SELECT count(*)` of the partition: an index-only scan of its smallest index), the days to count chosen on the
    planner's row counts; the batch is the most days whose counts add up to no more than `batch_size`. The texts of
    these days are all in their partitions (the default partition cannot hold a text of a day that has one), so the
    count is exactly what the range [start, end) holds, held texts too: a batch needs no boundary read. Counting
    the 359 days of benchmarks/retention.py --variant held so takes 0.12-0.14 s, where reading each batch's boundary
    took 0.15-0.39 s; the held purge went from 1.57 s to 1.51 s (median of 6 alternated rounds)."""
    estimates = position.row_estimates(cursor)
    at = position.days.index(first)
    run = []
    expected = 0.0
    for day in position.days[at : at + WHOLE_DAYS_MAX]:
        if day.upper > cutoff or (run and day.lower != run[-1].upper):
            break  # the day straddling the cutoff, or a gap (days dropped, whose held texts the default has)
        run.append(day)
        expected += position.counts.get(day.name, max(estimates.get(day.name, 0), 0))
        if expected > batch_size:
            break
    position.counts.update(_count_rows(cursor, [day.name for day in run if day.name not in position.counts]))
    taken = []
    present = 0
    for day in run:
        if present + position.counts[day.name] > batch_size:
            break
        taken.append(day)
        present += position.counts[day.name]
    if not taken:
        return None
    return taken[-1].upper, present


def _first_window(cursor, position: _Position, batch_size: int) -> timedelta:
    """A first window of about a batch of texts, from the planner's row count of the oldest day partition (a day
    where there is none or it has no count), so the first batches need not widen their way to a batch's worth."""
    if not position.days:
        return timedelta(days=1)
    rows = position.row_estimates(cursor).get(position.days[0].name, -1)
    if rows <= 0:
        return timedelta(days=1)
    return min(max(timedelta(days=batch_size / rows), timedelta(seconds=1)), timedelta(days=31))


def _oldest_expired(cursor, cutoff, first_day: datetime | None) -> datetime | None:
    """No later than the oldest expired text: the start of the oldest day partition (`first_day`), or the oldest text
    of the default partition (held texts from dropped days, strays) if older. (`min(created_at)` over the whole table
    costs ~25 ms of planning over every partition, for a value the partitions' bounds give.)"""
    cursor.execute(f'SELECT min(created_at) FROM "{partitions.DEFAULT_PARTITION}" WHERE created_at < %s', [cutoff])
    return min((moment for moment in (first_day, cursor.fetchone()[0]) if moment is not None), default=None)


def _delete_counting(cursor, table, delete, params, where, where_params, *, counting):
    """Run `delete`; returns (rows it deleted, rows matching `where` just before it). With holds, one statement does
    both: the DELETE as a data-modifying CTE and a count of its range, which sees the snapshot from before the
    DELETE (an index-only count of at most a batch), so what the holds kept is the difference, at no extra scan of
    the table. Without holds nothing is kept and only the DELETE runs."""
    if not counting:
        cursor.execute(delete, params)
        return cursor.rowcount, cursor.rowcount
    cursor.execute(
        f"WITH doomed AS ({delete} RETURNING 1) "
        f"SELECT (SELECT COUNT(*) FROM doomed), (SELECT COUNT(*) FROM {table} WHERE {where})",
        [*params, *where_params],
    )
    return cursor.fetchone()
