"""Authorize wizard speed: prints figures, exits 1 when a target is missed.

- The numbers partial with 10,000 numbers in the location vs 100, the configurations taking turns: SQL query count
  (target: equal, whatever the page, the rows on it or the selection size; a page of 10 rows is counted too) and
  median server time with its quartiles (target: within 2x).
- Placing orders of 2,500 and 5,000 numbers: SQL statements issued; what each extra chunk of
  AUTHORISATION_CHUNK_SIZE numbers adds (target: a handful, O(1) per chunk, not per number).

Run: `.venv/bin/python benchmarks/authorize.py` (SQLite) or with DATABASE_URL=postgres://... for PostgreSQL.
It builds a throw-away database (benchmarks/_texting_db.database) and drops it at the end. BENCH_RUNS=N: runs per
figure (default 40).
"""

import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402

from portal.env import env_int  # noqa: E402

RUNS = env_int("BENCH_RUNS", 40)
RATIO_TARGET = 2.0
# Statements each further chunk of AUTHORISATION_CHUNK_SIZE numbers may add (today: its lines' one INSERT); a
# statement per number would add hundreds.
PER_CHUNK_TARGET = 5


def main() -> int:
    with _texting_db.database("authorize"):
        from django.conf import settings
        from django.test.utils import setup_test_environment

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["testserver"]
        return run()


def run() -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal.models import User
    from provisioning.actions import place_authorisation_order
    from tests.factories import make_location, make_numbers, make_org, make_user

    org = make_org("Benchmark Corp")
    small = make_location(org, "Small Site")
    large = make_location(org, "Large Site")
    make_numbers(small, 100)
    # A page of 10 rows: a query per row shown would make its count differ from the full pages'.
    tiny = make_location(org, "Tiny Site")
    make_numbers(tiny, 10)
    large_numbers = make_numbers(large, 10_000)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="bench@example.com")
    client = Client()
    client.force_login(admin)
    url = "/calling/business-texting/authorize/"

    def partial(location, page):
        response = client.get(
            url, {"location": location.pk, "page": page}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="wizard-numbers"
        )
        assert response.status_code == 200
        return response

    def measure(configs):
        """Each configuration RUNS times, taking turns in a rotating order; (label, median ms, quartiles, queries)."""
        timings = {label: [] for label, _, _ in configs}
        for _, location, page in configs:
            partial(location, page)  # warm up
        for i in range(RUNS):
            for label, location, page in configs[i % len(configs) :] + configs[: i % len(configs)]:
                start = time.perf_counter()
                partial(location, page)
                timings[label].append((time.perf_counter() - start) * 1000)
        figures = []
        for label, location, page in configs:
            # Counted in the steady state: a request right after another one for a different location also saves
            # the session, whatever the sizes.
            partial(location, page)
            with CaptureQueriesContext(connection) as ctx:
                partial(location, page)
            quartiles = statistics.quantiles(timings[label], n=4)
            figures.append((label, statistics.median(timings[label]), quartiles, len(ctx.captured_queries)))
        return figures

    print(f"database: {connection.vendor}; runs per figure: {RUNS}, configurations taking turns")
    print("numbers partial (50 rows)                   median ms (25th-75th pct)   SQL queries")
    client.get(url, {"location": large.pk})
    none_selected = measure(
        [
            ("100 numbers, page 1, none selected", small, 1),
            ("10 numbers, page 1 (10 rows), none selected", tiny, 1),
            ("10,000 numbers, page 1, none selected", large, 1),
            ("10,000 numbers, page 150, none selected", large, 150),
        ]
    )
    client.post(
        "/calling/business-texting/authorize/selection/",
        {"op": "select_matching", "location": large.pk},
        HTTP_HX_REQUEST="true",
    )
    all_selected = measure(
        [("100 numbers, page 1 (again)", small, 1), ("10,000 numbers, page 150, 10,000 selected", large, 150)]
    )
    for label, median, (low, _, high), queries in none_selected + all_selected:
        print(f"  {label:<44} {median:8.2f} ({low:6.2f}-{high:6.2f})   {queries:5d}")
    ratio = max(
        max(median for label, median, _, _ in group if label.startswith("10,000")) / group[0][1]
        for group in (none_selected, all_selected)
    )
    counts = sorted({queries for *_, queries in none_selected + all_selected})

    # Count only what placing an order issues: the carrier submission goes to a broker nobody consumes here. Two
    # orders of different sizes: what the larger one adds per extra chunk is the cost of a chunk.
    from portal.celery import override

    override(task_always_eager=False, broker_url="memory://")
    orders = []
    for numbers in (large_numbers[:2500], large_numbers[2500:7500]):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            order, _ = place_authorisation_order(org, admin, large, [n.pk for n in numbers], str(uuid.uuid4()))
            elapsed = time.perf_counter() - start
        orders.append((len(numbers), order.chunks.count(), len(ctx.captured_queries), elapsed))
    for numbers, chunks, statements, elapsed in orders:
        print(
            f"place an order of {numbers:,} numbers: {statements} SQL statements for {chunks} chunks of "
            f"{settings.AUTHORISATION_CHUNK_SIZE}, {elapsed * 1000:.0f} ms"
        )
    (_, few_chunks, few, _), (_, many_chunks, many, _) = orders
    per_chunk = (many - few) / (many_chunks - few_chunks)

    verdicts = [
        (
            "partial time",
            f"{ratio:.2f}x worst 10,000 / 100 numbers median",
            f"<= {RATIO_TARGET:g}x",
            ratio <= RATIO_TARGET,
        ),
        (
            "partial queries",
            f"{' / '.join(map(str, counts))} SQL queries per request",
            "the same for every page and selection",
            len(counts) == 1,
        ),
        (
            "order statements",
            f"{per_chunk:.1f} per extra chunk",
            f"<= {PER_CHUNK_TARGET}",
            per_chunk <= PER_CHUNK_TARGET,
        ),
    ]
    print()
    for name, figure, target, ok in verdicts:
        print(f"{name + ':':<18} {figure:<40} (target {target})  {'OK' if ok else 'MISSED'}")
    missed = [name for name, *_, ok in verdicts if not ok]
    if missed:
        print(f"benchmarks/authorize.py: MISSED {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
