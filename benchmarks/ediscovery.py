"""eDiscovery on PostgreSQL: keyword search speed and export memory. Prints figures, exits 1 when a target is missed.

Builds `--texts` (default 2,000,000) texts of one organisation over the last year (`INSERT ... SELECT
generate_series`, which also fills the stored body_vector column; secondary indexes built afterwards, its GIN index
included), bodies drawn from a vocabulary so that keywords have realistic selectivity: a reference like `ref421` is in
1 text of 997, a topic word like `invoice` in 1 of 41, a greeting in 1 of 7.

- Search: each keyword search is run as the search page runs it (compliance.discovery: the first page of 50 texts
  newest first, plus the count capped at 1,000), `--rounds` times over the default 30-day range and over the whole
  year; prints each one's median and spread (min-max). Target: every keyword search's median < 200 ms.
- Export: the outbound half of the texts (1,000,000 by default) is exported by compliance.actions.discovery
  .build_export in a child process (as a Celery worker would run it), `--export-rounds` times; the child reports its
  peak resident memory (ru_maxrss) and the parent checks the archive's manifest hashes. Target: peak < 150 MB.

Run: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python benchmarks/ediscovery.py [--texts N]
[--rounds N] [--export-rounds N] [--keep]` (`--export-rounds 0`: searches only, about 2 minutes). It creates its
own database (test_x_ediscovery) and drops it at the end.
"""

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

SEARCH_TARGET_MS = 200
MEMORY_TARGET_MB = 150

GREETINGS = ["Hi", "Hello", "Good morning", "Hey", "Dear customer", "Bonjour", "Thanks"]
TOPICS = [
    "invoice",
    "delivery",
    "appointment",
    "refund",
    "contract",
    "payment",
    "warranty",
    "booking",
    "estimate",
    "shipment",
    "renewal",
    "quote",
    "prescription",
    "inspection",
    "installation",
    "repair",
    "subscription",
    "reservation",
    "pickup",
    "order",
    "account",
    "balance",
    "claim",
    "policy",
    "ticket",
    "statement",
    "voucher",
    "deposit",
    "lease",
    "survey",
    "schedule",
    "parcel",
    "coupon",
    "upgrade",
    "tracking",
    "transfer",
    "return",
    "donation",
    "membership",
    "tuition",
    "permit",
]
CLOSINGS = ["Reply STOP to opt out.", "Call us with questions.", "See you soon!", "Text HELP for help.", "Thank you."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=2_000_000, help="texts to create (half of them outbound)")
    parser.add_argument("--rounds", type=int, default=15, help="runs of each search")
    parser.add_argument("--export-rounds", type=int, default=2, help="exports of the outbound half")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--child-export", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        return child_export(args.child_export)
    if not _texting_db.on_postgresql():
        print("benchmarks/ediscovery.py: skipped, it needs PostgreSQL (DATABASE_URL=postgres://...).")
        return 0
    with _texting_db.database("ediscovery", keep=args.keep) as url:
        return run(args, url)


def sql(statement, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _array(words) -> str:
    return "(ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "])"


def build(total: int) -> int:
    from portal.models import User
    from tests.factories import make_org, make_user
    from texting.models import Message

    org = make_org("Benchmark Corp")
    texter = make_user(org, role=User.Role.END_USER, email="texter@bench.test")
    table = Message._meta.db_table
    secondary = _texting_db.drop_secondary_indexes(table)
    sql(
        f"""
        INSERT INTO {table} (organisation_id, user_id, business_number, other_party, direction, body, encoding,
                    segments, status, blocked_reason, status_detail, is_automatic_reply, carrier_message_id,
                    created_at, status_changed)
        SELECT %(org)s, CASE WHEN g %% 2 = 0 THEN %(user)s END, '+1512555' || lpad((g %% 400)::text, 4, '0'),
               '+1737555' || lpad((g %% 9000)::text, 4, '0'),
               CASE WHEN g %% 2 = 0 THEN 'outbound' ELSE 'inbound' END,
               {_array(GREETINGS)}[1 + g %% 7] || ', your ' || {_array(TOPICS)}[1 + g %% 41] || ' ref' || (g %% 997)
                 || ' is ready: ' || {_array(TOPICS)}[1 + (g / 41) %% 41] || ' on file, amount $' || (g %% 500)
                 || '.' || (g %% 100) || '. ' || {_array(CLOSINGS)}[1 + g %% 5],
               'gsm7', 1, CASE WHEN g %% 2 = 0 THEN 'delivered' ELSE 'received' END, '', '', false, 'B' || g,
               ts, ts
        FROM (SELECT g, now() - (g * interval '365 days') / %(total)s AS ts FROM generate_series(1, %(total)s) g) s
        """,
        {"org": org.pk, "user": texter.pk, "total": total},
    )
    sql("SET maintenance_work_mem = '256MB'")
    for definition in secondary:
        sql(definition)
    sql(f"VACUUM (ANALYZE) {table}")
    return org.pk


SEARCHES = [
    ("a reference (1 in 997)", "ref421"),
    ("a topic word (1 in 41)", "invoice"),
    ("two words", "refund ref17"),
    ("a phrase", '"your delivery"'),
    ("a word, excluding one", "warranty -bonjour"),
]


def measure_searches(org_id: int, rounds: int) -> tuple[list[tuple[str, list[float], int, bool]], bool]:
    from django.utils import timezone

    from compliance.discovery import PAGE_SIZE, Search, capped_count, texts_matching
    from portal.models import Organisation

    org = Organisation.objects.get(pk=org_id)
    today = timezone.localdate()
    from datetime import timedelta

    ranges = [("last 30 days", today - timedelta(days=30)), ("the whole year", today - timedelta(days=366))]
    results = []
    for range_name, start in ranges:
        for name, keywords in SEARCHES:
            search = Search(start=start, end=today, keywords=keywords)
            times, count, more = [], 0, False
            for _ in range(rounds):
                began = time.perf_counter()
                texts = texts_matching(org, search).select_related("user")
                page = list(texts[: PAGE_SIZE + 1])
                count, more = capped_count(texts)
                times.append((time.perf_counter() - began) * 1000)
                assert page or not count
            results.append((f"{name} `{keywords}`, {range_name}", times, count, more))
    return results


def child_export(export_id: int) -> int:
    """In a fresh process (as a worker): build the export, report peak RSS before and after, as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from compliance.actions.discovery import build_export

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    began = time.perf_counter()
    export = build_export(export_id)
    elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before_mb": before, "peak_mb": peak, "seconds": elapsed, "status": export.status}))
    return 0


def verify(export) -> None:
    """The manifest's hashes and counts match the archive's files (read in blocks, never whole)."""
    with zipfile.ZipFile(export.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            digest, size = hashlib.sha256(), 0
            with archive.open(entry["name"]) as member:
                for block in iter(lambda m=member: m.read(1 << 20), b""):
                    digest.update(block)
                    size += len(block)
            assert (digest.hexdigest(), size) == (entry["sha256"], entry["bytes"]), entry["name"]
    assert manifest["counts"]["texts"] == export.total


def measure_exports(org_id: int, url: str, rounds: int, exports_dir: Path) -> list[dict]:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from compliance.discovery import Search
    from compliance.models import DiscoveryExport
    from portal.models import Organisation, User

    org = Organisation.objects.get(pk=org_id)
    officer = User.objects.get(email="texter@bench.test")
    User.objects.filter(pk=officer.pk).update(is_compliance_officer=True)
    officer.refresh_from_db()
    today = timezone.localdate()
    figures = []
    for _ in range(rounds):
        # Created directly rather than by request_export, which would queue the build: the child process builds it.
        export = DiscoveryExport.objects.create(
            organisation=org,
            requested_by=officer,
            requested_by_email=officer.email,
            criteria=Search(start=today - timedelta(days=367), end=today, direction="outbound").as_json(),
        )
        env = {**os.environ, "DATABASE_URL": url, "EDISCOVERY_EXPORT_DIR": str(exports_dir), "DEBUG": "1"}
        env.pop("CELERY_BROKER_URL", None)
        done = subprocess.run(
            [sys.executable, __file__, "--child-export", str(export.pk)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        figure = json.loads(done.stdout.strip().splitlines()[-1])
        export.refresh_from_db()
        assert export.status == DiscoveryExport.Status.READY, export.detail
        settings.EDISCOVERY_EXPORT_DIR = exports_dir
        verify(export)
        figure.update(texts=export.total, archive_mb=export.size_bytes / 2**20)
        export.path.unlink()
        figures.append(figure)
        print(
            f"  export of {export.total:,} texts: {figure['seconds']:.1f} s, peak RSS {figure['peak_mb']:.0f} MB "
            f"(after start-up {figure['before_mb']:.0f} MB), archive {figure['archive_mb']:.0f} MB, hashes match",
            flush=True,
        )
    return figures


def run(args, url: str) -> int:
    from django.db import connection

    print(f"PostgreSQL {connection.pg_version // 10000}; {args.texts:,} texts over the last year; {args.rounds} rounds")
    began = time.perf_counter()
    org_id = build(args.texts)
    size = sql("SELECT pg_size_pretty(pg_total_relation_size('texting_message'))")[0][0]
    print(f"set-up: {time.perf_counter() - began:.1f} s; table {size}", flush=True)

    search_ok = True
    print("\nKeyword search (first page of 50 + count capped at 1,000), ms:")
    for name, times, count, more in measure_searches(org_id, args.rounds):
        median = statistics.median(times)
        missed = median >= SEARCH_TARGET_MS
        search_ok &= not missed
        print(
            f"  {name:<58} median {median:7.1f}  spread {min(times):6.1f}-{max(times):7.1f}  "
            f"{'>' if more else ''}{count:,} texts{'  MISSED' if missed else ''}"
        )
    with tempfile.TemporaryDirectory(prefix="ediscovery-bench-") as exports_dir:
        print(f"\nExport of the outbound half in a child process ({args.export_rounds} rounds):", flush=True)
        figures = measure_exports(org_id, url, args.export_rounds, Path(exports_dir))
    if figures:
        peaks = [f["peak_mb"] for f in figures]
        seconds = [f["seconds"] for f in figures]
        rate = statistics.median(f["texts"] / f["seconds"] for f in figures)
        print(
            f"  peak RSS median {statistics.median(peaks):.0f} MB (spread {min(peaks):.0f}-{max(peaks):.0f}); "
            f"time median {statistics.median(seconds):.1f} s (spread {min(seconds):.1f}-{max(seconds):.1f}); "
            f"{rate:,.0f} texts/s"
        )
        memory_ok = max(peaks) < MEMORY_TARGET_MB
        memory_verdict = "met" if memory_ok else "MISSED"
    else:
        print("  (no exports: --export-rounds 0)")
        memory_ok, memory_verdict = True, "not measured (--export-rounds 0)"
    print()
    print(f"search: every keyword search's median < {SEARCH_TARGET_MS} ms: {'met' if search_ok else 'MISSED'}")
    print(f"export: the worker's peak RSS < {MEMORY_TARGET_MB} MB: {memory_verdict}")
    print("RESULT:", "all targets met" if search_ok and memory_ok else "a target was MISSED")
    return 0 if search_ok and memory_ok else 1


if __name__ == "__main__":
    run_main(main)
