"""Authorize wizard speed: prints figures, asserts nothing about time.

- The numbers partial with 10,000 numbers in the location vs 100: SQL query count (must be equal, whatever the
  page or the selection size) and median server time (target: within 2x).
- Placing an order of 5,000 numbers: SQL statements issued, per chunk of AUTHORISATION_CHUNK_SIZE (target: O(1)
  per chunk, not per number).

Run: `.venv/bin/python benchmarks/authorize.py` (SQLite) or with DATABASE_URL=postgres://... for PostgreSQL.
It builds a throw-away test database (test_<name>) and drops it at the end.
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from portal.env import env_int  # noqa: E402

RUNS = env_int("BENCH_RUNS", 40)


def main():
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run():
    from portal.models import User
    from provisioning.actions import place_authorisation_order
    from tests.factories import make_location, make_numbers, make_org, make_user

    org = make_org("Benchmark Corp")
    small = make_location(org, "Small Site")
    large = make_location(org, "Large Site")
    make_numbers(small, 100)
    large_numbers = make_numbers(large, 10_000)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="bench@example.com")
    client = Client()
    client.force_login(admin)
    url = "/calling/business-texting/authorize/"

    def partial(location, page):
        return client.get(
            url, {"location": location.pk, "page": page}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="wizard-numbers"
        )

    def measure(location, page):
        partial(location, page)  # warm up
        timings = []
        for _ in range(RUNS):
            start = time.perf_counter()
            response = partial(location, page)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as ctx:
            partial(location, page)
        return statistics.median(timings) * 1000, len(ctx.captured_queries)

    print(f"database: {connection.vendor}; runs per figure: {RUNS}")
    print("numbers partial (50 rows)            median ms   SQL queries")
    rows = [("100 numbers, page 1, none selected", measure(small, 1))]
    client.get(url, {"location": large.pk})
    rows.append(("10,000 numbers, page 1, none selected", measure(large, 1)))
    rows.append(("10,000 numbers, page 150, none selected", measure(large, 150)))
    client.post(
        "/calling/business-texting/authorize/selection/",
        {"op": "select_matching", "location": large.pk},
        HTTP_HX_REQUEST="true",
    )
    rows.append(("10,000 numbers, page 150, 10,000 selected", measure(large, 150)))
    for label, (ms, queries) in rows:
        print(f"  {label:<42} {ms:8.2f}   {queries:5d}")
    base = rows[0][1][0]
    worst = max(ms for _, (ms, _) in rows[1:])
    print(f"  ratio worst 10,000 / 100: {worst / base:.2f}x (target <= 2x)")
    print(f"  query counts equal: {len({q for _, (_, q) in rows}) == 1}")

    # Count only what placing the order issues: the carrier submission goes to a broker nobody consumes here.
    from portal.celery import override

    override(task_always_eager=False, broker_url="memory://")
    ids = [n.pk for n in large_numbers[:5000]]
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        order, _ = place_authorisation_order(org, admin, large, ids, str(uuid.uuid4()))
        elapsed = time.perf_counter() - start
    chunks = order.chunks.count()
    statements = len(ctx.captured_queries)
    print(
        f"place order of 5,000 numbers: {statements} SQL statements for {chunks} chunks of "
        f"{settings.AUTHORISATION_CHUNK_SIZE} ({statements / chunks:.1f} per chunk, "
        f"{statements / 5000:.4f} per number), {elapsed * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
