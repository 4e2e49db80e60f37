"""A flaky carrier (30% of requests answer 503, 10% time out after doing the work, idempotency keys forgotten) under
1,000 authorisation orders: every number still ends in exactly one final state, and no chunk is ever submitted twice.

The carrier simulator runs with `--error-rate 0.3 --timeout-rate 0.1 --forget-idempotency-keys`, holding its
timed-out answers for SIM_TIMEOUT_SECONDS while the portal's client gives up after CARRIER_TIMEOUT_SECONDS (shorter,
so the client really cannot tell whether a write took effect). Having forgotten its keys, as after a restart, the
carrier applies a resent chunk as a new order: looking the chunk up by reference before resending is the portal's
only defence. 1,000 orders of 1-3 numbers over several organisations and locations are placed with
`place_authorisation_order` and processed by a real `celery -A portal worker` on Redis, with its beat (`-B`).
Recovery: submission retries with backoff that reconcile by reference before re-sending, and poll chains that
re-poll themselves; a chunk whose retries ran out after an unanswered submission (the carrier may hold it) is never
failed blind but stays *unconfirmed* until the beat's `repoll_stuck_orders` resumes its order, here after 30 s
instead of 15 minutes. Claims, once every order is final (bounded by DRAIN_TIMEOUT_SECONDS):
- every ordered number is authorised, or failed with a reason; none pending; each order line closed and agreeing
  with its number;
- the faults happened, including submissions the carrier took but never answered (what reconciliation is for);
- the carrier never received a chunk twice (no second order for a reference), and every carrier order belongs to
  exactly one chunk.

`--self-check` runs the same with the worker's carrier client never finding an order by reference
(_never_reconcile.py) and passes only if the last two claims fail.

Run: `.venv/bin/python scripts/faults/carrier_chaos.py [--self-check]` (2-3 minutes). It builds test_<name> on the
server of CHAOS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/faults_chaos) and drops it at the end; the
broker and results use CHAOS_BROKER_URL (default redis://127.0.0.1:6379/10, flushed before and after), the
simulator listens on CHAOS_SIM_PORT (default 8381). Logs: var/faults/carrier_chaos/.
"""

import os
import random
import socket
import time
import uuid
from collections import Counter

import httpx
from _services import (
    BIN,
    ROOT,
    Verdict,
    answers_ok,
    background,
    celery_command,
    flush_redis_db,
    log_dir,
    migrated_database,
    parse_self_check,
    run_main,
    wait_started,
    wait_until,
    worker_answers,
)

from portal.env import env_float, env_int

ORDERS = env_int("CHAOS_ORDERS", 1000)
ORGANISATIONS, LOCATIONS_PER_ORG, NUMBERS_PER_LOCATION = 5, 4, 150
ERROR_RATE, TIMEOUT_RATE = 0.3, 0.1
SIM_TIMEOUT_SECONDS = 2.0
SIM_DELAY_SECONDS = 1.0
DRAIN_TIMEOUT_SECONDS = 300
SEED = 20240601
DATABASE_URL = os.environ.get("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/faults_chaos")
BROKER_URL = os.environ.get("CHAOS_BROKER_URL", "redis://127.0.0.1:6379/10")
SIM_PORT = env_int("CHAOS_SIM_PORT", 8381)
WORKER_NAME = f"chaos-{os.getpid()}@{socket.gethostname()}"

# Shared by this process (which places the orders) and the worker. The client gives up well before the carrier
# answers a held request; retries and polls are paced for a run of minutes, not hours.
PORTAL_ENV = {
    "DEBUG": os.environ.get("DEBUG", "1"),
    "CELERY_BROKER_URL": BROKER_URL,
    "CARRIER_API_URL": f"http://127.0.0.1:{SIM_PORT}",
    "CARRIER_CALLBACK_BASE_URL": "",  # polling only: the recovery under test is the worker's own
    "CARRIER_TIMEOUT_SECONDS": os.environ.get("CARRIER_TIMEOUT_SECONDS", "0.5"),
    "AUTHORISATION_POLL_SECONDS": "1",
    "AUTHORISATION_RETRY_BASE_SECONDS": "0.25",
    "AUTHORISATION_STUCK_MINUTES": "0.5",
    "AUTHORISATION_REPOLL_SECONDS": "10",
    "LOG_LEVEL": "WARNING",
}
SENT_ONCE = "the carrier never received a chunk twice: no second order for any chunk's reference"
ONE_ORDER_PER_CHUNK = "every carrier order belongs to exactly one chunk"


def main() -> int:
    self_check = parse_self_check(__doc__)
    logs = log_dir("carrier_chaos")
    os.environ.update(PORTAL_ENV)
    if env_float("CARRIER_TIMEOUT_SECONDS", 5.0) >= SIM_TIMEOUT_SECONDS:
        raise SystemExit(
            f"CARRIER_TIMEOUT_SECONDS must be below the simulator's {SIM_TIMEOUT_SECONDS:g} s, "
            "or no request ever times out."
        )
    print(
        f"{ORDERS} orders against a carrier failing {ERROR_RATE:.0%} (503) and timing out {TIMEOUT_RATE:.0%} "
        f"(client {os.environ['CARRIER_TIMEOUT_SECONDS']} s < carrier {SIM_TIMEOUT_SECONDS:g} s) and forgetting "
        f"idempotency keys{'; SELF-CHECK: the worker never reconciles' if self_check else ''}; "
        f"logs in {logs.relative_to(ROOT)}/"
    )
    flush_redis_db(BROKER_URL)
    try:
        with migrated_database(DATABASE_URL) as database_url:
            env = {**os.environ, "DATABASE_URL": database_url}
            simulator = [
                str(BIN / "python"),
                "manage.py",
                "run_carrier_sim",
                "--port",
                str(SIM_PORT),
                "--delay",
                str(SIM_DELAY_SECONDS),
                "--error-rate",
                str(ERROR_RATE),
                "--timeout-rate",
                str(TIMEOUT_RATE),
                "--timeout-seconds",
                str(SIM_TIMEOUT_SECONDS),
                "--forget-idempotency-keys",
            ]
            worker = [
                *celery_command(reconcile=not self_check),
                "-A",
                "portal",
                "worker",
                "--loglevel=WARNING",
                "--concurrency=8",
                "-n",
                WORKER_NAME,
                "--without-gossip",
                "--without-mingle",
                "-B",
                "--schedule",
                str(logs / "beat-schedule"),
            ]
            with (
                background("simulator", simulator, env=env, logs=logs),
                background("worker", worker, env=env, logs=logs),
                httpx.Client(base_url=PORTAL_ENV["CARRIER_API_URL"], timeout=10, trust_env=False) as carrier,
            ):
                stats_url = f"{PORTAL_ENV['CARRIER_API_URL']}/control/stats"
                wait_started("The carrier simulator", lambda: answers_ok(stats_url), logs / "simulator.log", timeout=30)
                wait_started("The Celery worker", lambda: worker_answers(WORKER_NAME), logs / "worker.log")
                sites = make_sites()
                started = time.monotonic()
                order_ids = place_orders(sites)
                placed_in = time.monotonic() - started
                drained = wait_until(lambda: _open_orders() == 0, timeout=DRAIN_TIMEOUT_SECONDS, interval=1.0)
                drained_in = time.monotonic() - started
                stats = carrier.get("/control/stats").json()
            return report(order_ids, stats, placed_in, drained_in if drained else None, self_check)
    finally:
        flush_redis_db(BROKER_URL)


def make_sites() -> list[tuple]:
    """(organisation, full admin, location, numbers) for every location: Enterprise organisations with Cisco Calling
    Plan locations. Each location's first number ends in 0000, which the carrier rejects: some failures are the
    carrier's own answer, with its reason."""
    from portal.models import User
    from tests.factories import make_location, make_numbers, make_org, make_user

    sites = []
    for o in range(ORGANISATIONS):
        org = make_org(f"Chaos Corp {o + 1}")
        admin = make_user(org, role=User.Role.FULL_ADMIN, email=f"chaos-admin-{o + 1}@example.com")
        for loc in range(LOCATIONS_PER_ORG):
            location = make_location(org, f"Site {loc + 1}")
            sites.append((org, admin, location, make_numbers(location, NUMBERS_PER_LOCATION)))
    return sites


def place_orders(sites: list[tuple]) -> list[int]:
    """ORDERS orders of 1-3 numbers each, the locations taking turns; the worker starts on each at its commit."""
    from provisioning.actions import place_authorisation_order

    rng = random.Random(SEED)
    used = Counter()
    order_ids = []
    for i in range(ORDERS):
        org, admin, location, numbers = sites[i % len(sites)]
        size = rng.randint(1, 3)
        chosen = numbers[used[location.pk] : used[location.pk] + size]
        used[location.pk] += size
        order, created = place_authorisation_order(org, admin, location, [n.pk for n in chosen], str(uuid.uuid4()))
        assert created and chosen, "ran out of numbers: raise NUMBERS_PER_LOCATION"
        order_ids.append(order.pk)
    return order_ids


def _open_orders() -> int:
    from provisioning.models import AuthorisationOrder

    return AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES).count()


def report(order_ids: list[int], stats: dict, placed_in: float, drained_in: float | None, self_check: bool) -> int:
    from django.db.models import Q, Sum

    from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber

    orders = AuthorisationOrder.objects.filter(pk__in=order_ids)
    lines = OrderLine.objects.filter(order__in=orders)
    numbers = PhoneNumber.objects.filter(pk__in=lines.values("number_id"))
    chunks = OrderChunk.objects.filter(order__in=orders)
    states = Counter(numbers.values_list("texting_state", flat=True))
    failures = Counter(
        numbers.filter(texting_state=PhoneNumber.TextingState.FAILED).values_list("texting_state_reason", flat=True)
    )
    attempts = chunks.aggregate(total=Sum("attempts"))["total"] or 0
    carrier_orders = chunks.exclude(carrier_order_id="").values_list("carrier_order_id", flat=True)
    requests = stats["requests"]
    api_requests = sum(count for label, count in requests.items() if " /v1/" in label)
    received = stats["by_reference"]["orders"]
    sent_twice = sorted(reference for reference, counts in received.items() if counts["created"] > 1)

    print("Figures:")
    print(f"  orders placed          {orders.count():6d}  in {placed_in:.1f} s")
    print(
        f"  numbers                {numbers.count():6d}  " + ", ".join(f"{k}: {v}" for k, v in sorted(states.items()))
    )
    for reason, count in failures.most_common():
        print(f"    failed {count:4d} x {reason!r}")
    # A submission that timed out was done by the carrier (its injected timeouts answer late after doing the work).
    unanswered = chunks.filter(unconfirmed=True).exclude(carrier_order_id="").count()
    print(
        f"  chunks                 {chunks.count():6d}  (submission attempts {attempts}, "
        f"retries {attempts - chunks.count()}; {unanswered} taken by the carrier but unanswered)"
    )
    print(
        f"  lookups by reference   {sum(c['lookups'] for c in received.values()):6d}  "
        f"for {sum(1 for c in received.values() if c['lookups'])} chunks"
    )
    print(
        f"  simulator requests     {api_requests:6d}  "
        + ", ".join(f"{label}: {count}" for label, count in sorted(requests.items()) if " /v1/" in label)
    )
    print(f"  5xx injected           {stats['injected_errors']:6d}")
    print(f"  timeouts injected      {stats['injected_timeouts']:6d}")
    print(f"  idempotent replays     {stats['idempotent_replays']:6d}")
    print(f"  orders created         {stats['writes_created'].get('orders', 0):6d}  at the carrier")
    print(
        f"  duplicate submissions  {stats['duplicate_submissions']:6d}  "
        f"({len(sent_twice)} chunks sent more than once{': ' + ', '.join(sent_twice[:3]) if sent_twice else ''})"
    )
    print(
        "  time to drain          "
        + ("not drained" if drained_in is None else f"{drained_in:6.1f} s")
        + f"  (from the first order placed; limit {DRAIN_TIMEOUT_SECONDS} s)"
    )

    verdict = Verdict(must_fail=(SENT_ONCE, ONE_ORDER_PER_CHUNK) if self_check else ())
    verdict.check(
        f"every order is final within {DRAIN_TIMEOUT_SECONDS} s",
        drained_in is not None,
        f"{orders.filter(status__in=AuthorisationOrder.OPEN_STATUSES).count()} still open",
    )
    final = {PhoneNumber.TextingState.AUTHORISED, PhoneNumber.TextingState.FAILED}
    verdict.check("every number is authorised or failed, none pending", set(states) <= final, str(dict(states)))
    verdict.check("every failed number says why", "" not in failures)
    mismatched = lines.exclude(
        Q(state=OrderLine.State.AUTHORISED, number__texting_state=PhoneNumber.TextingState.AUTHORISED)
        | Q(state=OrderLine.State.FAILED, number__texting_state=PhoneNumber.TextingState.FAILED)
    ).count()
    verdict.check(
        "each order line is decided, closed and agrees with its number",
        mismatched == 0 and not lines.filter(is_open=True).exists(),
        f"{mismatched} disagree",
    )
    verdict.check(
        "faults really happened: 5xx and timeouts injected, submissions taken by the carrier went unanswered",
        stats["injected_errors"] > 0 and stats["injected_timeouts"] > 0 and unanswered > 0,
    )
    verdict.check(
        SENT_ONCE,
        not sent_twice and stats["duplicate_submissions"] == stats["resubmissions"] == 0,
        f"{len(sent_twice)} chunks sent more than once, {stats['resubmissions']} resubmissions",
    )
    verdict.check(
        ONE_ORDER_PER_CHUNK,
        stats["writes_created"].get("orders", 0) == len(set(carrier_orders)) == len(carrier_orders),
        f"{stats['writes_created'].get('orders', 0)} created, {len(set(carrier_orders))} held by chunks",
    )
    return verdict.exit_code()


if __name__ == "__main__":
    run_main(main)
