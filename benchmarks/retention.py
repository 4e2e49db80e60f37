"""Retention purge speed and memory on PostgreSQL: prints figures.

Builds 2,000,000 texts of which 1,000,000 are older than the retention period (`INSERT ... SELECT generate_series`,
in time order, as they would have been written), and an identical copy of the table with the same indexes. Then,
in the same run:

- one raw `DELETE FROM copy WHERE created_at < cutoff` (the floor: one statement, one transaction), and
- the purge (texting.retention.purge_expired_messages: bounded batches, each its own transaction),

and prints both wall times and their ratio (target <= 1.3x), the longest batch transaction (target < 1 s), and
this process's peak memory (ru_maxrss; target < 150 MB) — the purge runs in-process, as in a Celery worker.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/retention.py [--messages N]
[--batch-size N]`. It creates its own database (th_bench_texting) and drops it at the end (--keep to keep it).
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2_000_000, help="texts to create (half of them expired)")
    parser.add_argument("--batch-size", type=int, default=None, help="purge batch size (default: the setting)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("benchmarks/retention.py: skipped, it needs PostgreSQL (DATABASE_URL=postgres://...).")
        return
    state = _texting_db.setup(require_postgres=True)
    try:
        run(args)
    finally:
        if not args.keep:
            _texting_db.teardown(state)


def sql(statement, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def run(args):
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from texting.models import Message
    from texting.retention import purge_expired_messages, retention_cutoff

    total, expired = args.messages, args.messages // 2
    batch_size = args.batch_size or settings.MESSAGE_RETENTION_BATCH_SIZE
    org = _texting_db.make_organisation()
    table = Message._meta.db_table
    days = settings.MESSAGE_RETENTION_DAYS
    print(
        f"PostgreSQL {connection.pg_version // 10000}; {total:,} texts, {expired:,} older than {days} days; "
        f"purge batch size {batch_size:,}; lock in {'Redis' if settings.REDIS_URL else 'the database'}"
    )

    started = time.perf_counter()
    _texting_db.insert_texts(org.pk, total, expired)
    sql("DROP TABLE IF EXISTS bench_copy")
    sql(f"CREATE TABLE bench_copy (LIKE {table} INCLUDING ALL)")
    sql(f"INSERT INTO bench_copy SELECT * FROM {table}")
    for name in (table, "bench_copy"):
        sql(f"VACUUM (ANALYZE) {name}")
    size = sql(f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))")[0][0]
    indexes = sql("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])[0][0]
    cutoff = retention_cutoff(timezone.now())
    really_expired = sql(f"SELECT count(*) FROM {table} WHERE created_at < %s", [cutoff])[0][0]
    print(
        f"set-up: {time.perf_counter() - started:.1f} s; table {size} with {indexes} indexes (copy identical); "
        f"{really_expired:,} expired"
    )

    sql("CHECKPOINT")
    began = time.perf_counter()
    raw_deleted = sql(
        "WITH gone AS (DELETE FROM bench_copy WHERE created_at < %s RETURNING 1) SELECT count(*) FROM gone", [cutoff]
    )[0][0]
    raw_seconds = time.perf_counter() - began

    sql("CHECKPOINT")
    began = time.perf_counter()
    purge = purge_expired_messages(batch_size=batch_size)
    purge_seconds = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    left = sql(f"SELECT count(*) FROM {table} WHERE created_at < %s", [purge.cutoff])[0][0]
    kept = sql(f"SELECT count(*) FROM {table}")[0][0]

    ratio = purge_seconds / raw_seconds
    print()
    print(f"raw DELETE (one statement):   {raw_seconds:7.2f} s   {raw_deleted:,} rows")
    print(
        f"purge ({purge.batches} batches):          {purge_seconds:7.2f} s   {purge.rows_deleted:,} rows, "
        f"outcome {purge.outcome}, {left} expired left, {kept:,} kept"
    )
    print(f"ratio purge / raw DELETE:     {ratio:7.2f} x   (target <= 1.30)  {'OK' if ratio <= 1.3 else 'MISSED'}")
    print(
        f"longest batch transaction:    {purge.longest_batch_ms:7d} ms  (target < 1000)  "
        f"{'OK' if purge.longest_batch_ms < 1000 else 'MISSED'}"
    )
    print(f"peak memory of this process:  {peak_mb:7.1f} MB  (target < 150)   {'OK' if peak_mb < 150 else 'MISSED'}")
    assert purge.rows_deleted == raw_deleted == really_expired and left == 0


if __name__ == "__main__":
    main()
