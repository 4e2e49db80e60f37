"""Retention purge speed and memory on PostgreSQL: prints figures, exits 1 when a target is missed.

Builds 2,000,000 texts of which 1,000,000 are older than the retention period (`INSERT ... SELECT generate_series`,
in time order, as they would have been written) and keeps a copy of them. Then, `--rounds` times, on the messages
table refilled from that copy before each side (same rows, same indexes, VACUUM ANALYZE and CHECKPOINT):

- the baseline: one plain `DELETE FROM texting_message WHERE created_at < cutoff` (one statement, one transaction,
  the count from the cursor's rowcount), and
- the purge (texting.retention.purge_expired_messages: bounded batches, each its own transaction, the run's counters
  committed with each batch, the lock renewed after each),

the order of the two alternating from round to round. It prints each side's median wall time and spread (min-max)
and WAL bytes, and checks: median purge / median DELETE <= 1.3, the longest batch transaction < 1 s, this process's
peak memory (ru_maxrss; the purge runs in-process, as in a Celery worker) < 150 MB.

The *held* variant (`--variant held`, or `both`, the default) does the same with legal holds keeping 10% of the
texts (`--held-percent`): one hold on a user who sent 5% of them, one on numbers that carried another 5% (added to
each copy before its side runs). Its baseline deletes exactly the texts that may go with one plain statement,
`DELETE ... WHERE created_at < cutoff AND NOT EXISTS (custodian user) AND NOT EXISTS (custodian number)`; the purge
must delete the same rows, keep every held one and count them (`kept_by_holds`), within the same 1.3x.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/retention.py [--messages N]
[--rounds N] [--batch-size N] [--variant plain|held|both] [--held-percent N]
[--keep]`. It creates its own database (test_x_retention) and drops it at the end.
"""

import argparse
import resource
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

RATIO_TARGET = 1.3
LONGEST_BATCH_TARGET_MS = 1000
MEMORY_TARGET_MB = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--messages", type=int, default=None, help="texts to create (default 2,000,000, half expired; partitioned 10M)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each side (order alternated)")
    parser.add_argument("--batch-size", type=int, default=None, help="purge batch size (default: the setting)")
    parser.add_argument("--variant", choices=["plain", "held", "both"], default="both", help="without / with holds")
    parser.add_argument("--held-percent", type=int, default=10, help="share of texts under legal holds (held variant)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--partitioned",
        action="store_true",
        help="issue 12: 10,000,000 texts over 430 days, the first purge of the 30 expired days vs DELETE + VACUUM",
    )
    args = parser.parse_args()
    if not _texting_db.on_postgresql():
        print("benchmarks/retention.py: skipped, it needs PostgreSQL (DATABASE_URL=postgres://...).")
        return 0
    with _texting_db.database("retention", keep=args.keep) as url:
        if args.partitioned:
            return run_partitioned(args, url)
        return run(args, url)


def sql(statement, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def measured(side):
    """After a CHECKPOINT (every change starts from full-page images, on every side alike), run `side`: (what it
    returns, its wall time in seconds, the WAL bytes written meanwhile, from pg_current_wal_insert_lsn())."""
    sql("CHECKPOINT")
    lsn = sql("SELECT pg_current_wal_insert_lsn()")[0][0]
    began = time.perf_counter()
    result = side()
    elapsed = time.perf_counter() - began
    written = sql("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [lsn])[0][0]
    return result, elapsed, float(written)


def run(args, url: str) -> int:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from compliance.models import LegalHold, LegalHoldNumber, LegalHoldUser
    from portal.models import User
    from tests.factories import make_org, make_user
    from texting.models import Message
    from texting.retention import purge_expired_messages, retention_cutoff

    total = args.messages or 2_000_000
    expired = total // 2
    batch_size = args.batch_size or settings.MESSAGE_RETENTION_BATCH_SIZE
    table = Message._meta.db_table
    print(
        f"PostgreSQL {connection.pg_version // 10000}; {total:,} texts, {expired:,} older than "
        f"{settings.MESSAGE_RETENTION_DAYS} days; purge batch size {batch_size:,}; "
        f"lock in {'Redis' if settings.REDIS_URL else 'the database'}; {args.rounds} rounds"
    )
    started = time.perf_counter()
    # The secondary indexes are built after the rows rather than row by row: the same indexes, minutes sooner.
    secondary = _texting_db.drop_secondary_indexes(table)
    org = make_org("Benchmark Corp")
    _texting_db.insert_texts(org.pk, total, expired)
    # The texts go through 400 numbers in turn (+15125550000-0399). For the held variant: a texter sent those of the
    # first `share` numbers (a hold on the user keeps them), and a hold on the next `share` numbers keeps theirs.
    share = 400 * args.held_percent // 200
    texter = make_user(org, role=User.Role.END_USER, email="custodian@benchmark.test")
    officer = make_user(org, role=User.Role.READONLY_ADMIN, email="officer@benchmark.test")
    user_numbers = [f"+1512555{n:04d}" for n in range(share)]
    held_numbers = [f"+1512555{n:04d}" for n in range(share, 2 * share)]
    sql(f"UPDATE {table} SET user_id = %s WHERE business_number = ANY(%s)", [texter.pk, user_numbers])
    for definition in secondary:
        sql(definition)
    sql(f"VACUUM (ANALYZE) {table}")
    held_expired = sql(
        f"SELECT count(*) FROM {table} WHERE created_at < %s AND business_number = ANY(%s)",
        [retention_cutoff(), user_numbers + held_numbers],
    )[0][0]
    size = sql(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))")[0][0]
    print(f"set-up: {time.perf_counter() - started:.1f} s; table {size} with {len(secondary) + 1} indexes", flush=True)

    # Each side runs on its own file copy of that database (database_copy): the same rows on the same pages with the
    # same indexes, without rebuilding them.
    def place_holds():
        by_user = LegalHold.objects.create(organisation=org, name="Benchmark matter (user)", created_by=officer)
        LegalHoldUser.objects.create(hold=by_user, user=texter)
        by_number = LegalHold.objects.create(organisation=org, name="Benchmark matter (numbers)", created_by=officer)
        LegalHoldNumber.objects.bulk_create([LegalHoldNumber(hold=by_number, e164=e164) for e164 in held_numbers])
        sql("ANALYZE")  # as autovacuum would have, some time after the holds were placed

    def on_a_copy(side, held):
        with database_copy(url):
            if held:
                place_holds()
            deleted, elapsed, wal = measured(side)
            left = sql(f"SELECT count(*) FROM {table} WHERE created_at < %s", [retention_cutoff()])[0][0]
            kept = sql(f"SELECT count(*) FROM {table}")[0][0]
            stays = held_expired if held else 0
            assert (deleted, left, kept) == (expired - stays, stays, total - expired + stays), (deleted, left, kept)
            return elapsed, wal

    def plain_delete():
        # Django's autocommit: the statement is its own transaction, committed before execute() returns.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE created_at < %s", [retention_cutoff(timezone.now())])
            return cursor.rowcount

    def held_delete():
        # The plainest statement that deletes exactly what may go: the expired texts of no custodian.
        holds = [connection.ops.quote_name(m._meta.db_table) for m in (LegalHoldUser, LegalHoldNumber)]
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} m WHERE created_at < %s"
                f" AND NOT EXISTS (SELECT 1 FROM {holds[0]} hu WHERE hu.user_id = m.user_id)"
                f" AND NOT EXISTS (SELECT 1 FROM {holds[1]} hn WHERE hn.e164 = m.business_number)",
                [retention_cutoff(timezone.now())],
            )
            return cursor.rowcount

    def purge():
        run = purge_expired_messages(batch_size=batch_size)
        assert run.outcome == "completed", run.detail
        purges.append(run)
        return run.rows_deleted

    variants = {"plain": ("DELETE", "purge"), "held": ("held DELETE", "held purge")}
    chosen = ["plain", "held"] if args.variant == "both" else [args.variant]
    sides = [
        (name, side, variant == "held")
        for variant in chosen
        for name, side in zip(
            variants[variant], (held_delete if variant == "held" else plain_delete, purge), strict=True
        )
    ]
    seconds = {name: [] for name, _side, _held in sides}
    wal_bytes = {name: [] for name, _side, _held in sides}
    purges = []
    batches = {}
    for round_ in range(args.rounds):
        for name, side, held in sides if round_ % 2 == 0 else reversed(sides):
            elapsed, wal = on_a_copy(side, held)
            seconds[name].append(elapsed)
            wal_bytes[name].append(wal)
            if name.endswith("purge"):
                batches[name] = purges[-1].batches
            if held and name.endswith("purge"):
                assert purges[-1].kept_by_holds == held_expired, (purges[-1].kept_by_holds, held_expired)
            print(f"  round {round_ + 1} {name:<11} {elapsed:7.2f} s  WAL {wal / 2**20:5.0f} MB", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    if "held" in chosen:
        print(f"held variant: {held_expired:,} of the {expired:,} expired texts are under legal holds")
    for name, _side, held in sides:
        deleted = expired - (held_expired if held else 0)
        label = "one plain DELETE statement" if name.endswith("DELETE") else f"purge ({batches[name]} batches)"
        print(
            f"{name:<11} {label:<27} median {statistics.median(seconds[name]):6.2f} s  spread "
            f"{min(seconds[name]):.2f}-{max(seconds[name]):.2f} s  "
            f"WAL {statistics.median(wal_bytes[name]) / 2**20:5.0f} MB"
            f"  ({deleted:,} rows each time)"
        )
    verdicts = []
    for variant in chosen:
        delete_name, purge_name = variants[variant]
        ratio = statistics.median(seconds[purge_name]) / statistics.median(seconds[delete_name])
        pairs = [p / d for p, d in zip(seconds[purge_name], seconds[delete_name], strict=True)]
        verdicts.append(
            (
                f"{variant}: median purge / median DELETE: {ratio:5.2f} x"
                f"  (per round {min(pairs):.2f}-{max(pairs):.2f})",
                f"<= {RATIO_TARGET}",
                ratio <= RATIO_TARGET,
            )
        )
    longest = max(run.longest_batch_ms for run in purges)
    verdicts += [
        (
            f"longest batch transaction:    {longest:5d} ms",
            f"< {LONGEST_BATCH_TARGET_MS}",
            longest < LONGEST_BATCH_TARGET_MS,
        ),
        (f"peak memory of this process:  {peak_mb:5.0f} MB", f"< {MEMORY_TARGET_MB}", peak_mb < MEMORY_TARGET_MB),
    ]
    for figure, target, ok in verdicts:
        print(f"{figure:<70} (target {target})  {'OK' if ok else 'MISSED'}")
    missed = [figure.split(":")[0] for figure, _, ok in verdicts if not ok]
    if missed:
        print(f"benchmarks/retention.py: MISSED {', '.join(missed)}")
        return 1
    return 0


PARTITIONED_TARGETS = {"wall": 0.05, "wal": 0.01, "longest_ms": 1000}
FLOOR = "DROP alone"
UNHELD = "purge, no hold"
RAW = "raw DELETE + VACUUM"


def admin(url: str, *statements) -> None:
    """Run `statements` on the server's postgres database (creating and dropping databases), autocommitted."""
    import psycopg

    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin_connection:
        for statement in statements:
            try:
                admin_connection.execute(statement)
            except BaseException:
                # Stopped (SIGTERM) mid-statement: cancel it on the server too, so a CREATE DATABASE cannot finish
                # after the cleanup has dropped what it makes.
                admin_connection.cancel_safe()
                raise


@contextmanager
def database_from(url: str, name: str, template: str):
    """Database `name`, a file copy of `template` (CREATE DATABASE ... TEMPLATE: no session may be connected to the
    template, so this process's connections are closed first), dropped when the block ends."""
    from django.db import connections

    connections.close_all()
    try:
        admin(
            url,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY',
        )
        yield name
    finally:
        connections.close_all()
        admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def connected_to(name: str):
    """This process's Django connection on database `name` until the block ends, then on its own again."""
    from django.db import connection, connections

    own = connection.settings_dict["NAME"]
    connections.close_all()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connections.close_all()
        connection.settings_dict["NAME"] = own


@contextmanager
def database_copy(url: str, source: str | None = None):
    """A file copy of the benchmark database (or of `source`, another database of this run) that this process uses
    until the block ends: the same rows on the same pages for each side of a comparison, without building them
    again."""
    from django.db import connection

    own = connection.settings_dict["NAME"]
    with database_from(url, f"{own}_copy", source or own) as copy, connected_to(copy):
        yield


@contextmanager
def unpartitioned_database(url: str, table: str, secondary: list[str]):
    """A second database for the store without partitions (the raw baseline): a file copy of the benchmark database
    whose texts table is made one plain table, with the same rows in the same order (body_vector copied as values, not
    computed again) and the partitioned table's primary key (id, created_at; before partitioning it was id alone) and
    indexes, vacuumed and analyzed. Yields its name; dropped at the end."""
    from django.db import connection

    own = connection.settings_dict["NAME"]
    with database_from(url, f"{own}_unpartitioned", own) as name:
        with connected_to(name):
            plain = f"{table}_plain"
            sql(f"CREATE TABLE {plain} (LIKE {table} INCLUDING DEFAULTS)")
            sql(f"INSERT INTO {plain} SELECT * FROM {table}")  # the partitions in turn, each in time order
            sql(f"DROP TABLE {table} CASCADE")
            sql(f"ALTER TABLE {plain} RENAME TO {table}")
            sql(f"ALTER TABLE {table} ADD PRIMARY KEY (id, created_at)")
            for definition in secondary:
                sql(definition)
            sql("VACUUM (ANALYZE)")
        yield name


def run_partitioned(args, url: str) -> int:
    """Issue 12: 10,000,000 texts spread evenly over 430 days (one day partition each), the purge as beat runs it at
    00:10 UTC, whose first run finds 30 days expired, against the issue's baseline, raw DELETE + VACUUM of the same
    rows on a store without partitions (the same rows, primary key and indexes in one plain table, in a database of
    its own: `unpartitioned_database`): one DELETE of the expired texts that no hold keeps, then VACUUM of the
    table. A legal hold keeps the texts of one of the 400 numbers (1/400). Three more sides, for reference: DELETE +
    VACUUM on the partitioned table itself, vacuuming only the partitions the rows were in (the cheapest cleanup
    of the dead rows, which partitioning itself makes possible: sessions 6-8 measured against it alone); DROP
    alone (DROP TABLE of the same partitions, held texts lost: not a purge), the floor of removing these days by
    partition here; and the purge with the hold released first (nothing to keep), what the purge's own counting
    and bookkeeping add to that floor."""
    from django.conf import settings
    from django.db import connection, transaction

    from compliance.actions.holds import release_hold
    from compliance.models import LegalHold, LegalHoldNumber
    from portal.models import User
    from tests.factories import make_compliance_officer, make_org
    from texting import partitions
    from texting.models import Message
    from texting.retention import purge_expired_messages, retention_cutoff

    total = args.messages or 10_000_000
    span_days = 430
    table = Message._meta.db_table
    # The nightly purge's moment: today's (or, before it, yesterday's) 00:10 UTC.
    now = datetime.now(UTC)
    at = now.replace(hour=0, minute=10, second=0, microsecond=0)
    if at > now:
        at -= timedelta(days=1)
    cutoff = retention_cutoff(at)
    first = at - timedelta(days=span_days)
    print(
        f"PostgreSQL {connection.pg_version // 10000}; {total:,} texts over {span_days} days up to {at:%Y-%m-%d %H:%M}"
        f" UTC; cutoff {cutoff:%Y-%m-%d %H:%M}; {args.rounds} rounds",
        flush=True,
    )
    started = time.perf_counter()
    secondary = _texting_db.drop_secondary_indexes(table)
    partitions.ensure_partitions(first.date(), at.date() + timedelta(days=settings.TEXTS_PARTITIONS_AHEAD_DAYS))
    org = make_org("Benchmark Corp")
    step = span_days * 86400 / total
    chunk = 1_000_000
    for low in range(1, total + 1, chunk):
        high = min(low + chunk - 1, total)
        _texting_db.insert_numbered_texts(
            org.pk,
            "SELECT g, %(first)s::timestamptz + (g - 1) * %(step)s * interval '1 second' AS ts"
            " FROM generate_series(%(low)s, %(high)s) AS g",
            {"first": first, "step": step, "low": low, "high": high},
        )
        print(f"  {high:,} texts written ({time.perf_counter() - started:.0f} s)", flush=True)
    for definition in secondary:
        sql(definition)
    # The whole database, catalogs included, as autovacuum would have long before the night these days expire (making
    # 446 partitions and their indexes left dead catalog rows, which the first statements to read those pages would
    # otherwise prune, with full-page images, on either side).
    sql("VACUUM (ANALYZE)")
    officer = make_compliance_officer(org, role=User.Role.READONLY_ADMIN, email="officer@benchmark.test")
    hold = LegalHold.objects.create(organisation=org, name="Benchmark matter", created_by=officer)
    held_number = "+15125550007"
    LegalHoldNumber.objects.create(hold=hold, e164=held_number)
    count = lambda where, *params: sql(f"SELECT count(*) FROM {table} WHERE {where}", list(params))[0][0]  # noqa: E731
    held = count("created_at < %s AND business_number = %s", cutoff, held_number)
    expired = count("created_at < %s", cutoff)
    unexpired = total - expired
    # The partitions wholly older than the cutoff (what the purge drops).
    expired_partitions = [p.name for p in partitions.partitions() if not p.is_default and p.upper <= cutoff]
    doomed_partitions = [
        p.name for p in partitions.partitions() if p.is_default or (p.lower is not None and p.lower < cutoff)
    ]
    size = sql(
        "SELECT pg_size_pretty(sum(pg_total_relation_size(c))) FROM unnest(%s::regclass[]) c",
        [[p.name for p in partitions.partitions()]],
    )[0][0]
    print(
        f"set-up: {time.perf_counter() - started:.0f} s; {len(partitions.partitions())} partitions, {size};"
        f" {expired:,} texts expired ({(cutoff - first).days} days), {held:,} of them held",
        flush=True,
    )

    def delete_and_vacuum(*vacuumed):
        def side():
            with connection.cursor() as cursor:
                began = time.perf_counter()
                cursor.execute(
                    f"DELETE FROM {table} m WHERE created_at < %s AND NOT EXISTS (SELECT 1 FROM"
                    f" {LegalHoldNumber._meta.db_table} hn WHERE hn.e164 = m.business_number)",
                    [cutoff],
                )
                deleted = cursor.rowcount
                longest = time.perf_counter() - began
                for name in vacuumed:
                    cursor.execute(f'VACUUM "{name}"')
            return deleted, int(longest * 1000)

        return side

    def purge(keeps):
        # The purge, which must keep `keeps` expired texts: the held ones, or none once run_side has released the hold
        # (before the CHECKPOINT: what the purge costs with nothing to keep, its exact count and bookkeeping included).
        def side():
            run = purge_expired_messages(now=at)
            assert run.outcome == "completed", run.detail
            assert run.kept_by_holds == keeps, (run.kept_by_holds, keeps)
            runs.append(run)
            return run.rows_deleted, run.longest_batch_ms

        return side

    def drop_alone():
        # Not a purge (the held texts go with their partitions, and nothing is counted): the least that removing
        # these days by partition can cost here, DROP TABLE of the same partitions in one transaction. Where it
        # is dearer than the target, the target is below what dropping the files costs on this machine.
        with transaction.atomic(), connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(f"DROP TABLE {', '.join(connection.ops.quote_name(name) for name in expired_partitions)}")
        return expired - held, int((time.perf_counter() - began) * 1000)

    runs = []
    base, ours, partitioned_base = RAW, "purge", "DELETE + VACUUM p."
    sides = [
        (base, delete_and_vacuum(table)),
        (ours, purge(held)),
        (partitioned_base, delete_and_vacuum(*doomed_partitions)),
        (FLOOR, drop_alone),
        (UNHELD, purge(0)),
    ]
    seconds = {name: [] for name, _ in sides}
    wal = {name: [] for name, _ in sides}
    longest = {name: [] for name, _ in sides}

    def run_side(round_, name, side, source):
        # One side on a file copy of its database (the unpartitioned one for the raw baseline).
        with database_copy(url, source):
            kept = 0 if name == UNHELD else held
            if name == UNHELD:
                release_hold(LegalHold.objects.get(pk=hold.pk), officer)
            (deleted, longest_ms), elapsed, written = measured(side)
            if name != FLOOR:
                left_unexpired = count("created_at >= %s", cutoff)
                left_held = count("created_at < %s AND business_number = %s", cutoff, held_number)
                left_expired = count("created_at < %s", cutoff)
                assert deleted == expired - kept, (name, deleted, expired - kept)
                assert (left_unexpired, left_held, left_expired) == (unexpired, kept, kept), name
        seconds[name].append(elapsed)
        wal[name].append(written)
        longest[name].append(longest_ms)
        print(
            f"  round {round_ + 1} {name:<20} {elapsed:8.2f} s  WAL {written / 2**20:8.1f} MB"
            f"  longest transaction {longest_ms} ms",
            flush=True,
        )

    copying = time.perf_counter()
    with unpartitioned_database(url, table, secondary) as unpartitioned:
        print(f"unpartitioned copy for the {RAW} side: {time.perf_counter() - copying:.0f} s", flush=True)
        # The sides in turn, starting one further each round (with as many rounds as sides, each side runs first once).
        for round_ in range(args.rounds):
            for name, side in sides[round_ % len(sides) :] + sides[: round_ % len(sides)]:
                run_side(round_, name, side, unpartitioned if name == RAW else None)
    print()
    for name, _ in sides:
        print(
            f"{name:<20} median {statistics.median(seconds[name]):7.2f} s (spread {min(seconds[name]):.2f}-"
            f"{max(seconds[name]):.2f})  WAL {statistics.median(wal[name]) / 2**20:8.1f} MB"
            f"  longest transaction {max(longest[name])} ms"
            f"  ({expired - (0 if name == UNHELD else held):,} rows each time)"
        )

    def ratios(side, against):
        return (
            statistics.median(seconds[side]) / statistics.median(seconds[against]),
            statistics.median(wal[side]) / statistics.median(wal[against]),
        )

    wall_ratio, wal_ratio = ratios(ours, base)
    dropped = runs[-1].partitions_dropped
    verdicts = [
        (
            f"wall: purge / ({base}): {wall_ratio:.4f} x ({dropped} partitions dropped)",
            "<= 0.05",
            wall_ratio <= PARTITIONED_TARGETS["wall"],
        ),
        (
            f"WAL written: purge / ({base}): {wal_ratio:.4f} x",
            "<= 0.01",
            wal_ratio <= PARTITIONED_TARGETS["wal"],
        ),
        (
            f"longest purge transaction: {max(longest[ours])} ms",
            "< 1000",
            max(longest[ours]) < PARTITIONED_TARGETS["longest_ms"],
        ),
        (f"held texts kept: {held:,} of {held:,}; unexpired lost: 0 of {unexpired:,}", "all kept, none lost", True),
    ]
    for figure, target, ok in verdicts:
        print(f"{figure:<78} (target {target})  {'OK' if ok else 'MISSED'}")
    for side, against, what in (
        (ours, partitioned_base, "the purge"),
        (UNHELD, base, f"{UNHELD} (nothing to keep; counted and recorded)"),
        (FLOOR, base, f"{FLOOR} (held texts lost, nothing counted; not a purge)"),
        (FLOOR, partitioned_base, FLOOR),
    ):
        wall_of, wal_of = ratios(side, against)
        print(f"for reference, {what}: wall {wall_of:.4f} x, WAL {wal_of:.4f} x of {against}")
    if not all(ok for _, _, ok in verdicts):
        print("benchmarks/retention.py --partitioned: MISSED")
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
