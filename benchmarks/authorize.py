"""Authorize wizard speed at enterprise scale (issue 12.3): prints figures, exits 1 when a target is missed.

- The numbers partial with 100,000 numbers in the location vs 100, the configurations taking turns: SQL query count
  (target: equal, whatever the page, the rows on it or the selection size; a page of 10 rows is counted too) and
  median server time with its quartiles (target: page 1 within 1.5x; the last page is printed too).
- Selecting all 100,000 matching and placing the order through the wizard's own requests (select all matching, the
  order summary, submit), against the same with 100 and 2,500 numbers, in rounds that alternate the sizes: the SQL
  statements of each step (target: what each extra chunk of AUTHORISATION_CHUNK_SIZE numbers adds stays constant,
  at most one statement, and select all matching issues the same statements for 100 as for 100,000) and the total
  time of the three requests for 100,000 numbers (target: < 5 s, every round).

Run: `.venv/bin/python benchmarks/authorize.py` (SQLite) or with DATABASE_URL=postgres://... for PostgreSQL.
It builds a throw-away database (benchmarks/_texting_db.database) and drops it at the end. BENCH_RUNS=N: runs per
partial figure (default 30); BENCH_ROUNDS=N: rounds of selecting and ordering (default 3); BENCH_NUMBERS=N: the
large location's numbers (default 100,000; smaller to check the script quickly).
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

from portal.env import env_int  # noqa: E402

RUNS = env_int("BENCH_RUNS", 30)
ROUNDS = env_int("BENCH_ROUNDS", 3)
LARGE = env_int("BENCH_NUMBERS", 100_000)
RATIO_TARGET = 1.5
ORDER_SECONDS_TARGET = 5.0
# Statements each further chunk may add to placing an order: today none (the chunks are one INSERT, the lines one
# INSERT ... SELECT); a statement per number would add hundreds.
PER_CHUNK_TARGET = 1.0
URL = "/calling/business-texting/authorize/"


def main() -> int:
    with _texting_db.database("authorize"):
        from django.conf import settings
        from django.test.utils import setup_test_environment

        setup_test_environment()
        settings.ALLOWED_HOSTS = ["testserver"]
        return run()


def spread(values) -> str:
    if len(values) < 2:
        return f"{values[0]:.0f}"
    low, _, high = statistics.quantiles(values, n=4) if len(values) >= 4 else (min(values), 0, max(values))
    return f"{statistics.median(values):.0f} ({low:.0f}-{high:.0f})"


def run() -> int:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from portal.celery import override
    from portal.models import User
    from tests.factories import make_location, make_numbers, make_org, make_user

    # Count only what the requests issue: the carrier submission goes to a broker nobody consumes here.
    override(task_always_eager=False, broker_url="memory://")
    org = make_org("Benchmark Corp")
    small = make_location(org, "Small Site")
    make_numbers(small, 100)
    # A page of 10 rows: a query per row shown would make its count differ from the full pages'.
    tiny = make_location(org, "Tiny Site")
    make_numbers(tiny, 10)
    medium = make_location(org, "Medium Site")
    make_numbers(medium, 2_500)
    large = make_location(org, "Large Site")
    for start in range(0, LARGE, 10_000):  # make_numbers gives each call an exchange of its own: 10,000 lines
        make_numbers(large, min(10_000, LARGE - start))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does after a bulk load: statistics, visibility map
            cursor.execute("VACUUM ANALYZE")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="bench@example.com")
    client = Client()
    client.force_login(admin)
    last_page = (LARGE + 49) // 50

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"database: {connection.vendor}; {LARGE:,} numbers in the large location; load average {load}")
    partial_verdicts = measure_partials(client, small, tiny, large, last_page)
    order_verdicts = measure_orders(client, small, medium, large, settings.AUTHORISATION_CHUNK_SIZE)

    print()
    missed = []
    for name, figure, target, ok in partial_verdicts + order_verdicts:
        print(f"{name + ':':<22} {figure:<52} (target {target})  {'OK' if ok else 'MISSED'}")
        if not ok:
            missed.append(name)
    if missed:
        print(f"benchmarks/authorize.py: MISSED {', '.join(missed)}")
        return 1
    return 0


def measure_partials(client, small, tiny, large, last_page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Each location's own wizard, named in every request as its pages do (a page of another location in between
    # must not start a new selection).
    tokens = {}
    for location in (small, tiny, large):
        client.get(URL, {"location": location.pk})
        tokens[location.pk] = client.session["authorize_wizard"]

    def partial(location, page):
        response = client.get(
            URL,
            {"location": location.pk, "page": page, "wizard": tokens[location.pk]},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="wizard-numbers",
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
            partial(location, page)
            with CaptureQueriesContext(connection) as ctx:
                partial(location, page)
            quartiles = statistics.quantiles(timings[label], n=4)
            figures.append((label, statistics.median(timings[label]), quartiles, len(ctx.captured_queries)))
        return figures

    big = f"{LARGE:,} numbers"
    print(f"numbers partial (50 rows), {RUNS} runs each, taking turns   median ms (25th-75th pct)   SQL queries")
    none_selected = measure(
        [
            ("100 numbers, page 1, none selected", small, 1),
            ("10 numbers, page 1 (10 rows)", tiny, 1),
            (f"{big}, page 1, none selected", large, 1),
            (f"{big}, last page, none selected", large, last_page),
        ]
    )
    data = {"op": "select_matching", "location": large.pk, "wizard": tokens[large.pk]}
    client.post(URL + "selection/", data, HTTP_HX_REQUEST="true")
    from provisioning.models import WizardSelection

    assert WizardSelection.objects.get(token=tokens[large.pk]).selected_count == LARGE
    all_selected = measure(
        [
            ("100 numbers, page 1 (again)", small, 1),
            (f"{big}, page 1, all selected", large, 1),
            (f"{big}, last page, all selected", large, last_page),
        ]
    )
    for label, median, (low, _, high), queries in none_selected + all_selected:
        print(f"  {label:<44} {median:8.2f} ({low:6.2f}-{high:6.2f})   {queries:5d}")

    def ratio(group, which):
        return max(median for label, median, _, _ in group if label.startswith(big) and which in label) / group[0][1]

    first = max(ratio(group, "page 1") for group in (none_selected, all_selected))
    deepest = max(ratio(group, "last page") for group in (none_selected, all_selected))
    counts = sorted({queries for *_, queries in none_selected + all_selected})
    return [
        (
            "partial time, page 1",
            f"{first:.2f}x worst {big} / 100 numbers median",
            f"<= {RATIO_TARGET:g}x",
            first <= RATIO_TARGET,
        ),
        ("partial time, last page", f"{deepest:.2f}x (printed, no target)", "none", True),
        (
            "partial queries",
            f"{' / '.join(map(str, counts))} SQL queries per request",
            "the same for every page and selection",
            len(counts) == 1,
        ),
    ]


def measure_orders(client, small, medium, large, chunk_size):
    """Rounds of select all matching → order summary → submit for each location, sizes alternated; each round
    starts from numbers not authorised and no order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber

    sizes = {small.pk: 100, medium.pk: 2_500, large.pk: LARGE}
    steps = ("select all matching", "order summary", "submit")
    seconds = {pk: {step: [] for step in steps} for pk in sizes}
    totals = {pk: [] for pk in sizes}
    statements = {pk: {step: set() for step in steps} for pk in sizes}
    chunks = {}
    slowest = {}

    def reset():
        OrderLine.objects.all().delete()
        OrderChunk.objects.all().delete()
        AuthorisationOrder.objects.all().delete()
        PhoneNumber.objects.update(texting_state=PhoneNumber.TextingState.NOT_AUTHORISED)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    def step(pk, name, method, url, data=None, **headers):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = getattr(client, method)(url, data, **headers)
            elapsed = time.perf_counter() - start
        assert response.status_code in (200, 302), (name, response.status_code)
        seconds[pk][name].append(elapsed)
        statements[pk][name].add(len(ctx.captured_queries))
        slowest[(pk, name)] = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:3]
        return response, elapsed

    locations = [small, medium, large]
    for round_ in range(ROUNDS):
        order = locations[round_ % 3 :] + locations[: round_ % 3]
        for location in order if round_ % 2 == 0 else order[::-1]:
            reset()
            client.get(URL, {"location": location.pk})  # opens a new selection for this location
            data = {"op": "select_matching", "location": location.pk}
            _, a = step(location.pk, "select all matching", "post", URL + "selection/", data, HTTP_HX_REQUEST="true")
            page, b = step(location.pk, "order summary", "get", URL + "summary/")
            html = page.content.decode()
            assert f'id="summary-count">{sizes[location.pk]}<' in html, "the summary does not show every number"
            token = html.split('name="token" value="')[1].split('"')[0]
            wizard = html.split('name="wizard" value="')[1].split('"')[0]
            _, c = step(location.pk, "submit", "post", URL + "submit/", {"token": token, "wizard": wizard})
            placed = AuthorisationOrder.objects.get(location=location)
            assert placed.number_count == sizes[location.pk] == placed.lines.count()
            chunks[location.pk] = placed.chunks.count()
            totals[location.pk].append(a + b + c)

    print(f"\nselect all matching, order summary, submit ({ROUNDS} rounds, sizes alternated; chunks of {chunk_size})")
    print("  numbers   chunks   step                    ms median (range)        SQL statements")
    for pk, size in sizes.items():
        for name in steps:
            ms = [s * 1000 for s in seconds[pk][name]]
            counted = "/".join(map(str, sorted(statements[pk][name])))
            print(f"  {size:>7,}  {chunks[pk]:>6}   {name:<22} {spread(ms):<24} {counted}")
        total = [s * 1000 for s in totals[pk]]
        print(f"  {size:>7,}  {chunks[pk]:>6}   {'all three':<22} {spread(total):<24}")
    print(f"  slowest statements of the last {LARGE:,}-number round:")
    for name in steps:
        for query in slowest[(large.pk, name)]:
            print(f"    {name:<20} {float(query['time']) * 1000:7.0f} ms  {query['sql'][:90]}")

    def most(pk, name):
        return max(statements[pk][name])

    per_chunk = [
        (most(b, "submit") - most(a, "submit")) / (chunks[b] - chunks[a])
        for a, b in ((small.pk, medium.pk), (medium.pk, large.pk))
        if chunks[b] != chunks[a]
    ]
    select_counts = {most(pk, "select all matching") for pk in sizes}
    summary_counts = {most(pk, "order summary") for pk in sizes}
    worst = max(totals[large.pk])  # seconds
    return [
        (
            "order statements",
            f"{most(small.pk, 'submit')} / {most(medium.pk, 'submit')} / {most(large.pk, 'submit')} for "
            f"{chunks[small.pk]} / {chunks[medium.pk]} / {chunks[large.pk]} chunks; "
            + ", ".join(f"{x:.2f}" for x in per_chunk)
            + " per extra chunk",
            f"<= {PER_CHUNK_TARGET:g} per extra chunk",
            all(x <= PER_CHUNK_TARGET for x in per_chunk),
        ),
        (
            "select-all statements",
            f"{' / '.join(map(str, sorted(select_counts)))} for 100 / 2,500 / {LARGE:,} numbers",
            "the same",
            len(select_counts) == 1,
        ),
        (
            "summary statements",
            f"{' / '.join(map(str, sorted(summary_counts)))} for 100 / 2,500 / {LARGE:,} numbers",
            "the same",
            len(summary_counts) == 1,
        ),
        (
            "select + order time",
            f"{LARGE:,} numbers: worst of {ROUNDS} rounds {worst:.2f} s",
            f"< {ORDER_SECONDS_TARGET:g} s",
            worst < ORDER_SECONDS_TARGET,
        ),
    ]


if __name__ == "__main__":
    run_main(main)
