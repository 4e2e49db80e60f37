"""Support queue search with 10,000 cases: prints figures, exits 1 when a target is missed.

Two worlds built the same way (bulk-created: organisations, each with a location, a brand and a campaign; cases with
three numbers each), one of 100 cases over 10 organisations and one of 10,000 cases over 1,000; the first 100 cases
of both are the same rows, so each search finds the same cases in both. For each search the support console's search
box sends (the queue's HTMX fragment, `GET /support/cases/?q=...`, what the box fetches as support types):

- the SQL queries it issues: the same number over 100 and over 10,000 cases (target: equal);
- its median time over rounds that alternate between the two worlds (each round: one warm-up, then the median of
  --requests requests), and the spread (lowest–highest round); target: 10,000 cases ≤ 2× 100 cases.

On PostgreSQL the two worlds are two databases (the second a copy of the first, migrated once), and it prints the
indexes each search's plan uses (EXPLAIN). On SQLite (no DATABASE_URL) there is one in-memory database: it measures
the 100 cases, then adds the rest and measures again (not alternated).

Run: `DATABASE_URL=postgres://... .venv/bin/python benchmarks/support_search.py` (it creates and drops its own
databases, benchmarks/_texting_db.database). Options: --cases N (default 10,000), --rounds N (default 7),
--requests N (default 5).
"""

import argparse
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _texting_db  # noqa: E402
from _services import run_main  # noqa: E402 (on the path _texting_db adds)

SMALL = 100
RATIO_TARGET = 2.0
CASES_PER_ORG = 10
NUMBERS_PER_CASE = 3
AREA_CODES = ("512", "737", "415", "416", "604")  # US and Canadian


def e164(i: int) -> str:
    """The i-th number: spread over area codes and exchanges (a permutation, so all distinct)."""
    return f"+1{AREA_CODES[i % len(AREA_CODES)]}{2_000_000 + (i * 7919) % 8_000_000:07d}"


def brand_id(org_index: int) -> str:
    return f"B{org_index:06d}"


def campaign_id(org_index: int) -> str:
    return f"C{org_index:06d}"


# Searches as support types them; each finds the same case(s) in both worlds (case 42's numbers, org 3's ids).
def searches() -> dict[str, str]:
    number = e164(42 * NUMBERS_PER_CASE)
    digits = number[2:]
    return {
        "phone number, typed +1 512-555-0100 style": f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}",
        "phone number, 10 digits": digits,
        "phone number, last 7 digits": digits[3:],
        "brand registry id": brand_id(3),
        "campaign registry id": campaign_id(3).lower(),
    }


def build(first_case: int, last_case: int) -> None:
    """Cases first_case..last_case-1 (and their organisations, numbers, brands, campaigns), bulk-created."""
    from datetime import timedelta

    from django.utils import timezone

    from compliance.models import Brand, Campaign, CaseNumber, RegistrationCase
    from portal.models import Organisation, Partner
    from provisioning.models import Location, PhoneNumber

    partner, _ = Partner.objects.get_or_create(name="Benchmark Partner")
    first_org, last_org = first_case // CASES_PER_ORG, (last_case + CASES_PER_ORG - 1) // CASES_PER_ORG
    orgs = Organisation.objects.bulk_create(
        [
            Organisation(name=f"Org {o:05d} Widgets", partner=partner, customer_type="enterprise", country="US")
            for o in range(first_org, last_org)
        ]
    )
    locations = Location.objects.bulk_create(
        [
            Location(
                organisation=org,
                name="Head office",
                address="1 Main St",
                city="Austin",
                state="TX",
                postal_code="78701",
                country="US",
                time_zone="America/Chicago",
                pstn_connection=Location.PstnConnection.CISCO_CALLING_PLAN,
            )
            for org in orgs
        ]
    )
    brands = Brand.objects.bulk_create(
        [
            Brand(organisation=org, legal_name=f"{org.name} Inc.", registry_id=brand_id(o), status="approved")
            for o, org in zip(range(first_org, last_org), orgs, strict=True)
        ]
    )
    campaigns = Campaign.objects.bulk_create(
        [
            Campaign(organisation=b.organisation, brand=b, use_case="CUSTOMER_CARE", registry_id=campaign_id(o))
            for o, b in zip(range(first_org, last_org), brands, strict=True)
        ]
    )
    numbers = PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(
                e164=e164(n),
                location=locations[(n // NUMBERS_PER_CASE) // CASES_PER_ORG - first_org],
                texting_state="authorised",
            )
            for n in range(first_case * NUMBERS_PER_CASE, last_case * NUMBERS_PER_CASE)
        ],
        batch_size=2000,
    )
    now = timezone.now()
    states = ["form_sent", "form_submitted", "brand_submitted", "campaign_submitted", "completed"]
    cases = []
    for c in range(first_case, last_case):
        o = c // CASES_PER_ORG - first_org
        state = states[c % len(states)]
        opened = now - timedelta(hours=c % 1000)
        cases.append(
            RegistrationCase(
                organisation=orgs[o],
                brand=brands[o],
                campaign=campaigns[o] if c % 2 else None,
                kind="first_registration" if c % CASES_PER_ORG == 0 else "add_numbers",
                state=state,
                opened_at=opened,
                state_changed=opened,
                closed_at=now if state == "completed" else None,
                contact_name="Casey",
                contact_email="casey@example.com",
                unread_by_support=c % 7 == 0,
            )
        )
    cases = RegistrationCase.objects.bulk_create(cases, batch_size=2000)
    CaseNumber.objects.bulk_create(
        [
            CaseNumber(
                case=case,
                number=numbers[i * NUMBERS_PER_CASE + k],
                is_open=case.state != "completed",
            )
            for i, case in enumerate(cases)
            for k in range(NUMBERS_PER_CASE)
        ],
        batch_size=5000,
    )


def analyse() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def switch_to(name: str) -> None:
    """Point the default connection at database `name` (PostgreSQL); the next query reconnects."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def signed_in_client():
    from django.test import Client

    from portal.models import User

    user, _ = User.objects.get_or_create(email="bench-support@pstn.test", defaults={"role": User.Role.SUPPORT})
    client = Client()
    client.force_login(user)
    return client


def fragment(client, q: str):
    from django.urls import reverse

    response = client.get(reverse("compliance:support_queue"), {"q": q}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, (q, response.status_code, response.content[:400])
    return response


def found(response) -> set[int]:
    return {int(n) for n in re.findall(r">Case #(\d+)<", response.content.decode())}


def count_queries(client, q: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fragment(client, q)
    return len(captured)


def one_round(client, q: str, requests: int) -> float:
    fragment(client, q)  # warm-up (the connection, caches)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        fragment(client, q)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def db_round(q: str, requests: int) -> float:
    """The search's database work alone (the matching ids, the page's count and rows), median of `requests` runs."""
    from compliance import queries

    def once():
        ids, _more = queries.search_cases(queries.parse_case_search(q))
        page = queries.support_queue(state="all", case_ids=ids)
        return page.count(), list(page[:25])

    once()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        once()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def plan_indexes(q: str) -> list[str]:
    """The indexes PostgreSQL's plans of the search's two queries (the matching ids, the page of cases) use."""
    from compliance import queries

    search = queries.parse_case_search(q)
    page = queries.support_queue(state="all", case_ids=queries.search_cases(search)[0])
    plan = queries.search_query(search).explain() + page.explain()
    return sorted(set(re.findall(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan) (?:using|on) (\w+)", plan)))


def seq_scans(q: str) -> list[str]:
    """The tables the plans of the search's two queries read whole (small ones are fine: organisations, brands)."""
    from compliance import queries

    search = queries.parse_case_search(q)
    page = queries.support_queue(state="all", case_ids=queries.search_cases(search)[0])
    plan = queries.search_query(search).explain() + page.explain()
    return sorted(set(re.findall(r"Seq Scan on (\w+)", plan)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep both databases (to look at the plans)")
    args = parser.parse_args()
    with _texting_db.database("support_search", keep=args.keep) as url:
        return run(args, url)


def run(args, url: str) -> int:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    postgres = connection.vendor == "postgresql"
    small_name = connection.settings_dict["NAME"]
    large_name = f"{small_name}_large"

    started = time.perf_counter()
    build(0, SMALL)
    clients, names = {}, {}
    if postgres:
        connection.close()
        admin = _server_connection(url)
        admin.execute(f'DROP DATABASE IF EXISTS "{large_name}"')
        admin.execute(f'CREATE DATABASE "{large_name}" TEMPLATE "{small_name}"')
        names = {SMALL: small_name, args.cases: large_name}
        switch_to(large_name)
        build(SMALL, args.cases)
        analyse()
        clients[args.cases] = signed_in_client()
        switch_to(small_name)
        analyse()
        clients[SMALL] = signed_in_client()
    else:
        clients[SMALL] = signed_in_client()
    print(f"Built {SMALL} and {args.cases:,} cases in {time.perf_counter() - started:.1f} s ({connection.vendor})")

    results = {}  # search -> {size: (queries, found, [round medians])}
    try:
        for label in searches():
            results[label] = {size: [None, None, [], []] for size in (SMALL, args.cases)}
        if postgres:
            for size in (SMALL, args.cases):
                switch_to(names[size])
                for label, q in searches().items():
                    results[label][size][0] = count_queries(clients[size], q)
                    results[label][size][1] = found(fragment(clients[size], q))
            for _round in range(args.rounds):
                for size in (SMALL, args.cases) if _round % 2 == 0 else (args.cases, SMALL):
                    switch_to(names[size])
                    for label, q in searches().items():
                        results[label][size][2].append(one_round(clients[size], q, args.requests))
                        results[label][size][3].append(db_round(q, args.requests))
            switch_to(large_name)
            plans = {label: plan_indexes(q) for label, q in searches().items()}
            scans = {label: seq_scans(q) for label, q in searches().items()}
        else:
            for size in (SMALL, args.cases):
                if size != SMALL:
                    build(SMALL, args.cases)
                    clients[size] = clients[SMALL]
                for label, q in searches().items():
                    results[label][size][0] = count_queries(clients[size], q)
                    results[label][size][1] = found(fragment(clients[size], q))
                    for _round in range(args.rounds):
                        results[label][size][2].append(one_round(clients[size], q, args.requests))
                        results[label][size][3].append(db_round(q, args.requests))
            plans = {}
    finally:
        if postgres and not args.keep:
            connection.close()
            connection.settings_dict["NAME"] = small_name
            _server_connection(url).execute(f'DROP DATABASE IF EXISTS "{large_name}"')

    missed = []
    print(
        f"\nSupport queue search (HTMX fragment), {args.rounds} rounds"
        f"{' alternated' if postgres else ''}, median of {args.requests} requests each"
    )
    print(f"{'search':44} {'queries':>9} {SMALL:>6} cases ms (spread) {args.cases:>7,} cases ms (spread)  ratio")
    for label in searches():
        (q_small, f_small, t_small, _db), (q_large, f_large, t_large, _db) = (
            results[label][SMALL],
            results[label][args.cases],
        )
        small, large = statistics.median(t_small), statistics.median(t_large)
        ratio = large / small
        spread_small, spread_large = f"{min(t_small):.1f}–{max(t_small):.1f}", f"{min(t_large):.1f}–{max(t_large):.1f}"
        print(
            f"{label:44} {q_small:>4}/{q_large:<4} {small:>8.1f} ({spread_small:>11}) {large:>11.1f} "
            f"({spread_large:>11})  {ratio:4.2f}×"
        )
        if q_small != q_large:
            missed.append(f"{label}: {q_small} queries over {SMALL} cases, {q_large} over {args.cases:,}")
        if ratio > RATIO_TARGET:
            missed.append(f"{label}: {ratio:.2f}× the time over {SMALL} cases (target ≤ {RATIO_TARGET}×)")
        if not f_small or f_small != f_large:
            missed.append(f"{label}: found {sorted(f_small or [])} over {SMALL} cases, {sorted(f_large or [])}")
    print("\nThe same searches' database work alone (ids, count, page rows), for information:")
    for label in searches():
        d_small, d_large = results[label][SMALL][3], results[label][args.cases][3]
        small, large = statistics.median(d_small), statistics.median(d_large)
        print(
            f"{label:44} {small:>8.2f} ({min(d_small):.2f}–{max(d_small):.2f}) ms  {large:>8.2f} "
            f"({min(d_large):.2f}–{max(d_large):.2f}) ms  {large / small:4.2f}×"
        )
    if plans:
        print("\nIndexes in the PostgreSQL plans (10,000 cases):")
        for label, indexes in plans.items():
            print(f"  {label:44} {', '.join(indexes) or '(none: sequential scans)'}")
        print("  Sequential scans:", ", ".join(f"{label}: {', '.join(t)}" for label, t in scans.items() if t) or "none")
    if missed:
        print("\nMISSED:\n  " + "\n  ".join(missed))
        return 1
    print(f"\nTargets met: equal query counts, ≤ {RATIO_TARGET}× the time over {args.cases:,} cases.")
    return 0


def _server_connection(url: str):
    """An autocommit connection to the server's `postgres` database (to copy and drop databases)."""
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


if __name__ == "__main__":
    run_main(main)
