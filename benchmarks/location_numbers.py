"""Location page speed with campaign memberships: prints figures, exits 1 when a target is missed.

A location of 10,000 numbers, 6,000 of them in campaigns (assigned, failed with a reason, pending, removed), against
one of 100: the page and its htmx rows, unfiltered and filtered by campaign status, texting state and campaign, the
configurations taking turns. Targets: the same SQL query count for every configuration, and the worst 10,000-number
median within RATIO_TARGET of the 100-number page's (the count and the filters look at every number of the
location; the page's rows are fetched once).

Run: `.venv/bin/python benchmarks/location_numbers.py` (SQLite) or with DATABASE_URL=postgres://... for PostgreSQL.
BENCH_RUNS=N: runs per figure (default 30).
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

from portal.env import env_int  # noqa: E402

RUNS = env_int("BENCH_RUNS", 30)
RATIO_TARGET = 3.0


def main() -> int:
    with _texting_db.database("location_numbers"):
        from django.conf import settings
        from django.test.utils import setup_test_environment

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["testserver"]
        return run()


def run() -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from compliance.models import Brand, Campaign, CampaignNumber
    from portal.models import User
    from provisioning.models import PhoneNumber
    from tests.factories import make_location, make_numbers, make_org, make_user

    org = make_org("Benchmark Corp")
    small, large = make_location(org, "Small Site"), make_location(org, "Large Site")
    make_numbers(small, 100, texting_state=PhoneNumber.TextingState.AUTHORISED)
    numbers = make_numbers(large, 10_000, texting_state=PhoneNumber.TextingState.AUTHORISED)
    brand = Brand.objects.create(
        organisation=org, legal_name="Benchmark Corp", registry_id="BBENCH1", status="approved"
    )
    campaigns = [
        Campaign.objects.create(
            organisation=org, brand=brand, use_case="CUSTOMER_CARE", registry_id=f"CBENCH{i}", status="active"
        )
        for i in range(2)
    ]
    S = CampaignNumber.Status
    plan = [(0, 4000, S.ASSIGNED), (4000, 4500, S.FAILED_ASSIGNMENT), (4500, 5000, S.PENDING_ASSIGNMENT)]
    rows = []
    for start, end, status in plan:
        rows += [
            CampaignNumber(
                campaign=campaigns[i % 2], number=n, status=status, reason="Refused" if "failed" in status else ""
            )
            for i, n in enumerate(numbers[start:end])
        ]
    rows += [CampaignNumber(campaign=campaigns[0], number=n, status=S.REMOVED) for n in numbers[5000:6000]]
    CampaignNumber.objects.bulk_create(rows, batch_size=2000)
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers[:4000]]).update(texting_state="registered")

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the statistics a live database has (autovacuum has not run yet)
            cursor.execute("ANALYZE")

    client = Client()
    client.force_login(make_user(org, role=User.Role.FULL_ADMIN, email="bench@example.com"))

    def get(location, params):
        response = client.get(f"/locations/{location.pk}/", params, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        return response

    configs = [
        ("100 numbers, unfiltered", small, {}),
        ("10,000 numbers, unfiltered, page 1", large, {}),
        ("10,000 numbers, unfiltered, page 200", large, {"page": 200}),
        ("10,000 numbers, failed assignments", large, {"status": "failed_assignment"}),
        ("10,000 numbers, never in a campaign", large, {"status": "none"}),
        ("10,000 numbers, registered, one campaign", large, {"texting": "registered", "campaign": campaigns[1].pk}),
    ]
    timings = {label: [] for label, _, _ in configs}
    for _, location, params in configs:
        get(location, params)
    for i in range(RUNS):
        for label, location, params in configs[i % len(configs) :] + configs[: i % len(configs)]:
            start = time.perf_counter()
            get(location, params)
            timings[label].append((time.perf_counter() - start) * 1000)
    figures = []
    for label, location, params in configs:
        with CaptureQueriesContext(connection) as ctx:
            get(location, params)
        figures.append((label, statistics.median(timings[label]), statistics.quantiles(timings[label], n=4), len(ctx)))

    print(f"database: {connection.vendor}; runs per figure: {RUNS}, configurations taking turns")
    print("location rows (htmx, 50 a page)                 median ms (25th-75th pct)   SQL queries")
    for label, median, (low, _, high), queries in figures:
        print(f"  {label:<46} {median:8.2f} ({low:7.2f}-{high:7.2f})   {queries:5d}")
    ratio = max(median for label, median, *_ in figures[1:]) / figures[0][1]
    counts = sorted({queries for *_, queries in figures})
    verdicts = [
        ("time", f"{ratio:.2f}x worst 10,000 / 100 numbers median", f"<= {RATIO_TARGET:g}x", ratio <= RATIO_TARGET),
        ("queries", f"{' / '.join(map(str, counts))} SQL queries per request", "the same", len(counts) == 1),
    ]
    print()
    for name, figure, target, ok in verdicts:
        print(f"{name + ':':<9} {figure:<44} (target {target})  {'OK' if ok else 'MISSED'}")
    missed = [name for name, *_, ok in verdicts if not ok]
    if missed:
        print(f"benchmarks/location_numbers.py: MISSED {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    run_main(main)
