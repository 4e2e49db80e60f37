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

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/retention.py [--messages N]
[--rounds N] [--batch-size N] [--keep]`. It creates its own database (test_x_retention) and drops it at the end.
"""

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402

RATIO_TARGET = 1.3
LONGEST_BATCH_TARGET_MS = 1000
MEMORY_TARGET_MB = 150


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2_000_000, help="texts to create (half of them expired)")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each side (order alternated)")
    parser.add_argument("--batch-size", type=int, default=None, help="purge batch size (default: the setting)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if not _texting_db.on_postgresql():
        print("benchmarks/retention.py: skipped, it needs PostgreSQL (DATABASE_URL=postgres://...).")
        return 0
    with _texting_db.database("retention", keep=args.keep) as url:
        return run(args, url)


def sql(statement, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def run(args, url: str) -> int:
    import psycopg
    from django.conf import settings
    from django.db import connection, connections
    from django.utils import timezone

    from tests.factories import make_org
    from texting.models import Message
    from texting.retention import purge_expired_messages, retention_cutoff

    total, expired = args.messages, args.messages // 2
    batch_size = args.batch_size or settings.MESSAGE_RETENTION_BATCH_SIZE
    table = Message._meta.db_table
    print(
        f"PostgreSQL {connection.pg_version // 10000}; {total:,} texts, {expired:,} older than "
        f"{settings.MESSAGE_RETENTION_DAYS} days; purge batch size {batch_size:,}; "
        f"lock in {'Redis' if settings.REDIS_URL else 'the database'}; {args.rounds} rounds"
    )
    started = time.perf_counter()
    # The secondary indexes are built after the rows rather than row by row: the same indexes, minutes sooner.
    secondary = sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> %s", [table, f"{table}_pkey"]
    )
    for name, _ in secondary:
        sql(f'DROP INDEX "{name}"')
    _texting_db.insert_texts(make_org("Benchmark Corp").pk, total, expired)
    for _, definition in secondary:
        sql(definition)
    sql(f"VACUUM (ANALYZE) {table}")
    size = sql(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))")[0][0]
    print(f"set-up: {time.perf_counter() - started:.1f} s; table {size} with {len(secondary) + 1} indexes", flush=True)

    # Each side runs on its own file copy of that database (CREATE DATABASE ... TEMPLATE): the same rows on the same
    # pages with the same indexes, without rebuilding them.
    source = connection.settings_dict["NAME"]
    copy = f"{source}_copy"
    admin_url = urlunsplit(urlsplit(url)._replace(path="/postgres"))

    def admin(*statements):
        with psycopg.connect(admin_url, autocommit=True) as admin_connection:
            for statement in statements:
                admin_connection.execute(statement)

    def on_a_copy(side):
        connections.close_all()
        admin(
            f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)',
            f'CREATE DATABASE "{copy}" TEMPLATE "{source}" STRATEGY FILE_COPY',
        )
        connection.settings_dict["NAME"] = copy
        try:
            sql("CHECKPOINT")
            lsn = sql("SELECT pg_current_wal_insert_lsn()")[0][0]
            began = time.perf_counter()
            deleted = side()
            elapsed = time.perf_counter() - began
            wal = sql("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [lsn])[0][0]
            left = sql(f"SELECT count(*) FROM {table} WHERE created_at < %s", [retention_cutoff()])[0][0]
            kept = sql(f"SELECT count(*) FROM {table}")[0][0]
            assert (deleted, left, kept) == (expired, 0, total - expired), (deleted, left, kept)
            return elapsed, wal
        finally:
            connections.close_all()
            connection.settings_dict["NAME"] = source
            admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')

    def plain_delete():
        # Django's autocommit: the statement is its own transaction, committed before execute() returns.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE created_at < %s", [retention_cutoff(timezone.now())])
            return cursor.rowcount

    def purge():
        run = purge_expired_messages(batch_size=batch_size)
        assert run.outcome == "completed", run.detail
        purges.append(run)
        return run.rows_deleted

    seconds = {"DELETE": [], "purge": []}
    wal_bytes = {"DELETE": [], "purge": []}
    purges = []
    for round_ in range(args.rounds):
        sides = [("DELETE", plain_delete), ("purge", purge)]
        for name, side in sides if round_ % 2 == 0 else reversed(sides):
            elapsed, wal = on_a_copy(side)
            seconds[name].append(elapsed)
            wal_bytes[name].append(wal)
            print(f"  round {round_ + 1} {name:<6} {elapsed:7.2f} s  WAL {wal / 2**20:5.0f} MB", flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print()
    for name, label in (("DELETE", "plain DELETE (one statement)"), ("purge", f"purge ({purges[0].batches} batches)")):
        print(
            f"{label:<30} median {statistics.median(seconds[name]):6.2f} s  spread "
            f"{min(seconds[name]):.2f}-{max(seconds[name]):.2f} s  "
            f"WAL {statistics.median(wal_bytes[name]) / 2**20:5.0f} MB"
            f"  ({expired:,} rows each time)"
        )
    ratio = statistics.median(seconds["purge"]) / statistics.median(seconds["DELETE"])
    pairs = [p / d for p, d in zip(seconds["purge"], seconds["DELETE"], strict=True)]
    longest = max(run.longest_batch_ms for run in purges)
    verdicts = [
        (
            f"median purge / median DELETE: {ratio:5.2f} x  (per round {min(pairs):.2f}-{max(pairs):.2f})",
            f"<= {RATIO_TARGET}",
            ratio <= RATIO_TARGET,
        ),
        (
            f"longest batch transaction:    {longest:5d} ms",
            f"< {LONGEST_BATCH_TARGET_MS}",
            longest < LONGEST_BATCH_TARGET_MS,
        ),
        (f"peak memory of this process:  {peak_mb:5.0f} MB", f"< {MEMORY_TARGET_MB}", peak_mb < MEMORY_TARGET_MB),
    ]
    for figure, target, ok in verdicts:
        print(f"{figure:<62} (target {target})  {'OK' if ok else 'MISSED'}")
    missed = [figure.split(":")[0] for figure, _, ok in verdicts if not ok]
    if missed:
        print(f"benchmarks/retention.py: MISSED {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
