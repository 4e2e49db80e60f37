"""A Celery worker killed with SIGKILL in the middle of a large authorisation order and of the retention purge: a fresh
worker finishes both, nothing is lost and nothing is done twice.

A real `celery -A portal worker` (prefork, 2 processes) on a throw-away Redis submits a 4,000-number order (8 chunks
of 500) to a slow carrier simulator (every answer held back CARRIER_HOLD_SECONDS after the work is done) and purges
200,000 expired texts out of 250,000 in batches of 2,000. Once 3 chunks are confirmed, a fifth of the expired texts
are gone and a submission is in flight (the carrier holds an order the portal has not recorded yet), the whole worker
(main process and children) gets SIGKILL. The carrier has forgotten its idempotency keys (as after a restart), so
a blind resend of the chunk in flight would be a second order: looking it up by reference is the only defence. Its
two tasks stay unacknowledged in Redis (acks_late), so they are only handed out again after the visibility timeout.
A fresh worker, with beat, starts at once, as a supervisor would restart it. Two mechanisms can recover the work,
and the script shows which one did and when:
- redelivery: Redis hands the unacknowledged message (same task id) to the fresh worker once the visibility timeout
  has passed and kombu's restore sweep runs (about every 100 s);
- the beat's `repoll_stuck_orders`, for orders nobody has looked at for AUTHORISATION_STUCK_MINUTES.
Production defaults are 3,600 s and 15 minutes; here CELERY_VISIBILITY_TIMEOUT=20 s and 15 s, and the purge lock's
lease RETENTION_LOCK_TTL_SECONDS=10 s (default 300 s: it must stay below the visibility timeout, or the redelivered
purge finds its dead run's lock still held and is skipped). Claims:
- the kill really happened mid-order (some chunks sent, some not, one in flight at the carrier) and mid-purge (some
  batches committed, not all);
- both tasks finish on the fresh worker within RECOVERY_TIMEOUT_SECONDS, and the messages the dead worker held are
  redelivered and acknowledged;
- every ordered number ends authorised or failed (with a reason), each order line decided and closed;
- the carrier never received a chunk twice (no second order for a reference), and holds exactly one order per chunk;
- every expired text is gone and every unexpired one is still there; the purge runs add up: the killed run is
  marked interrupted and its count is what had really gone when it died (counted in the table, not read from the
  run), the resumed run deleted the rest, together exactly the expired texts.

`--self-check` starts both workers with their carrier client never finding an order by reference
(_never_reconcile.py) and passes only if the two carrier claims fail.

Run: `.venv/bin/python scripts/faults/worker_sigkill.py [--self-check]` (about 2-3 minutes). It builds
test_faults_worker on the server of FAULTS_WORKER_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/faults_worker) and drops it at the end, runs its own redis-server on
FAULTS_REDIS_PORT (default 6391) and the simulator on FAULTS_SIM_PORT (default 8391). Logs: var/faults/worker_sigkill/.
"""

import os
import re
import signal
import socket
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from _services import (
    BIN,
    ROOT,
    Verdict,
    answers_ok,
    background,
    celery_command,
    log_dir,
    migrated_database,
    parse_self_check,
    run_main,
    throwaway_redis,
    wait_started,
    wait_until,
    worker_answers,
)

from portal.env import env_int

sys.path.insert(0, str(ROOT / "benchmarks"))
import _texting_db  # noqa: E402  (the benchmarks' bulk texts)

DATABASE_URL = os.environ.get("FAULTS_WORKER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/faults_worker")
REDIS_PORT = env_int("FAULTS_REDIS_PORT", 6391)
SIM_PORT = env_int("FAULTS_SIM_PORT", 8391)
NUMBERS, CHUNK_SIZE = 4_000, 500
KILL_AFTER_CHUNKS = 3
EXPIRED_TEXTS, KEPT_TEXTS = 200_000, 50_000
PURGE_BATCH_SIZE = 2_000
KILL_AFTER_PURGED = EXPIRED_TEXTS // 5
CARRIER_HOLD_SECONDS = 1.0
RECOVERY_TIMEOUT_SECONDS = 240
HOST = socket.gethostname()

# Shared by this process (which places the order and queues the purge) and both workers.
PORTAL_ENV = {
    "DEBUG": "1",
    "LOG_LEVEL": "WARNING",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
    "CARRIER_API_URL": f"http://127.0.0.1:{SIM_PORT}",
    "CARRIER_CALLBACK_BASE_URL": "",  # polling only: the recovery under test is the workers' own
    "CARRIER_TIMEOUT_SECONDS": "5",  # well above the simulator's hold: slow answers, not timeouts
    "AUTHORISATION_CHUNK_SIZE": str(CHUNK_SIZE),
    "AUTHORISATION_POLL_SECONDS": "1",
    "AUTHORISATION_STUCK_MINUTES": os.environ.get("AUTHORISATION_STUCK_MINUTES", "0.25"),
    "AUTHORISATION_REPOLL_SECONDS": "5",
    "CELERY_VISIBILITY_TIMEOUT": os.environ.get("CELERY_VISIBILITY_TIMEOUT", "20"),
    "RETENTION_LOCK_TTL_SECONDS": os.environ.get("RETENTION_LOCK_TTL_SECONDS", "10"),
    "MESSAGE_RETENTION_BATCH_SIZE": str(PURGE_BATCH_SIZE),
}
ORDER_TASK = "provisioning.tasks.submit_authorisation_order"
PURGE_TASK = "texting.tasks.purge_expired_messages"
REPOLL_TASK = "provisioning.tasks.repoll_stuck_orders"
SENT_ONCE = "the carrier never received a chunk twice: no second order for any chunk's reference"
ONE_ORDER_PER_CHUNK = "the carrier holds exactly one order per chunk"


@dataclass
class AtKill:
    """What had happened when the worker died."""

    wall: float
    monotonic: float
    chunks_confirmed: int
    carrier_orders: int
    purged: int  # expired texts gone from the table (not what the purge run says)
    unacked: int
    task_ids: dict = field(default_factory=dict)  # task name -> id of the message the dead worker held


def main() -> int:
    self_check = parse_self_check(__doc__)
    logs = log_dir("worker_sigkill")
    os.environ.update(PORTAL_ENV)
    print(
        f"SIGKILL of a Celery worker mid-order ({NUMBERS:,} numbers) and mid-purge ({EXPIRED_TEXTS:,} expired "
        f"texts); visibility timeout {PORTAL_ENV['CELERY_VISIBILITY_TIMEOUT']} s, stuck orders after "
        f"{float(PORTAL_ENV['AUTHORISATION_STUCK_MINUTES']) * 60:g} s, purge lock "
        f"{PORTAL_ENV['RETENTION_LOCK_TTL_SECONDS']} s; the carrier forgets idempotency keys"
        f"{'; SELF-CHECK: the workers never reconcile' if self_check else ''}; logs in {logs.relative_to(ROOT)}/"
    )
    with throwaway_redis(REDIS_PORT, logs) as redis_server, migrated_database(DATABASE_URL) as database_url:
        env = {**os.environ, "DATABASE_URL": database_url}
        texts = seed()
        simulator = [
            str(BIN / "python"),
            "manage.py",
            "run_carrier_sim",
            "--port",
            str(SIM_PORT),
            "--delay",
            "2",
            "--timeout-rate",
            "1",
            "--timeout-seconds",
            str(CARRIER_HOLD_SECONDS),
            "--forget-idempotency-keys",
        ]
        with (
            background("simulator", simulator, env=env, logs=logs),
            httpx.Client(base_url=PORTAL_ENV["CARRIER_API_URL"], timeout=10, trust_env=False) as carrier,
        ):
            wait_started(
                "The carrier simulator",
                lambda: answers_ok(f"{PORTAL_ENV['CARRIER_API_URL']}/control/stats"),
                logs / "simulator.log",
                timeout=30,
            )
            first_worker = worker_command("first", logs, reconcile=not self_check)
            with background("worker-1", first_worker, env=env, logs=logs) as first:
                wait_for_worker("first", logs / "worker-1.log")
                order_id = place_order()
                at_kill = kill_mid_work(first, order_id, carrier, redis_server.url(0), texts)
            at_kill.task_ids = held_task_ids(logs / "worker-1.log")
            print(
                f"Killed the worker: order {at_kill.chunks_confirmed}/{NUMBERS // CHUNK_SIZE} chunks confirmed "
                f"({at_kill.carrier_orders} held by the carrier); purge {at_kill.purged:,}/{EXPIRED_TEXTS:,} deleted; "
                f"{at_kill.unacked} messages left unacknowledged in Redis. Starting a fresh worker."
            )
            second_worker = worker_command("second", logs, beat=True, reconcile=not self_check)
            with background("worker-2", second_worker, env=env, logs=logs):
                finished = wait_until(
                    lambda: recovered(order_id, at_kill, logs / "worker-2.log"),
                    timeout=RECOVERY_TIMEOUT_SECONDS,
                    interval=0.25,
                )
                finished_after = time.monotonic() - at_kill.monotonic
                events = recovery_events(logs / "worker-2.log", at_kill)
            stats = carrier.get("/control/stats").json()
        return report(order_id, texts, at_kill, events, stats, finished_after if finished else None, self_check)


def seed() -> dict:
    """A Business Texting organisation with NUMBERS numbers in one location, and its texts (EXPIRED_TEXTS older than
    the retention period). Returns how many texts are expired and how many are not."""
    from django.db import connection

    from tests.factories import make_numbers
    from texting.models import Message
    from texting.retention import retention_cutoff

    org, _admin, location = _site()
    make_numbers(location, NUMBERS)
    _texting_db.insert_texts(org.pk, EXPIRED_TEXTS + KEPT_TEXTS, EXPIRED_TEXTS)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Message._meta.db_table}")
    cutoff = retention_cutoff()
    texts = {
        "expired": Message.objects.filter(created_at__lt=cutoff).count(),
        "kept": Message.objects.filter(created_at__gte=cutoff).count(),
        "cutoff": cutoff,
    }
    return texts


def _site():
    from portal.models import User
    from provisioning.models import Location
    from tests.factories import make_location, make_org, make_user

    location = Location.objects.select_related("organisation").first()
    if location is not None:
        return location.organisation, User.objects.get(email="sigkill-admin@example.com"), location
    org = make_org("Sigkill Corp")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="sigkill-admin@example.com")
    return org, admin, make_location(org, "Head Office")


def worker_command(name: str, logs: Path, *, beat: bool = False, reconcile: bool = True) -> list[str]:
    command = [
        *celery_command(reconcile=reconcile),
        "-A",
        "portal",
        "worker",
        "--loglevel=INFO",
        "--pool=prefork",
        "--concurrency=2",
        "-n",
        f"sigkill-{name}-{os.getpid()}@{HOST}",
        "--without-gossip",
        "--without-mingle",
    ]
    if beat:
        command += ["-B", "--schedule", str(logs / "beat-schedule")]
    return command


def wait_for_worker(name: str, logfile: Path) -> None:
    wait_started(f"The {name} Celery worker", lambda: worker_answers(f"sigkill-{name}-{os.getpid()}@{HOST}"), logfile)


def place_order() -> int:
    """The whole location in one order, placed as the wizard's Submit does; the worker starts on it at commit."""
    from provisioning.actions import place_authorisation_order
    from provisioning.models import PhoneNumber

    org, admin, location = _site()
    ids = list(PhoneNumber.objects.filter(location=location).values_list("pk", flat=True))
    order, created = place_authorisation_order(org, admin, location, ids, str(uuid.uuid4()))
    assert created
    return order.pk


def kill_mid_work(worker, order_id: int, carrier: httpx.Client, broker_url: str, texts: dict) -> AtKill:
    """Queue the purge once KILL_AFTER_CHUNKS chunks are confirmed, and SIGKILL the worker's whole process group
    once KILL_AFTER_PURGED expired texts are gone while the carrier holds an order the portal has not recorded yet:
    both tasks are then half done, and one submission is in flight."""
    import redis

    from provisioning.models import OrderChunk
    from texting.models import Message
    from texting.tasks import purge_expired_messages

    chunks = OrderChunk.objects.filter(order_id=order_id)
    if not wait_until(
        lambda: chunks.filter(status=OrderChunk.Status.SUBMITTED).count() >= KILL_AFTER_CHUNKS,
        timeout=60,
        interval=0.05,
    ):
        raise SystemExit("The order's chunks were not being submitted.")
    purge_expired_messages.delay()

    def gone() -> int:
        return texts["expired"] - Message.objects.filter(created_at__lt=texts["cutoff"]).count()

    def carrier_orders() -> int:
        return carrier.get("/control/stats").json()["writes_created"].get("orders", 0)

    def submission_in_flight() -> bool:
        return carrier_orders() > chunks.exclude(carrier_order_id="").count()

    if not wait_until(lambda: gone() >= KILL_AFTER_PURGED and submission_in_flight(), timeout=60, interval=0.02):
        raise SystemExit("The purge did not start, or no submission was in flight while it ran.")
    os.killpg(worker.pid, signal.SIGKILL)
    wall, monotonic = time.time(), time.monotonic()
    worker.wait()
    # A COMMIT the purge sent just before dying may still be applied by its server process: let it settle before
    # counting what is gone.
    time.sleep(1)
    client = redis.Redis.from_url(broker_url)
    unacked = client.hlen("unacked")
    client.close()
    return AtKill(
        wall=wall,
        monotonic=monotonic,
        chunks_confirmed=chunks.exclude(carrier_order_id="").count(),
        carrier_orders=carrier_orders(),
        purged=gone(),
        unacked=unacked,
    )


LOG_LINE = re.compile(
    r"^\[(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): \w+/[\w-]+\] Task (?P<task>[\w.]+)"
    r"\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded in [\d.]+s: (?P<result>.*))$"
)


def task_log(logfile: Path) -> list[dict]:
    """The worker's 'Task ... received' and 'Task ... succeeded' lines: when (epoch seconds), task, id, result."""
    entries = []
    for line in logfile.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match:
            at = datetime.strptime(match["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            entries.append(
                {
                    "at": at,
                    "task": match["task"],
                    "id": match["id"],
                    "received": match["what"] == "received",
                    "result": match["result"],
                }
            )
    return entries


def held_task_ids(logfile: Path) -> dict:
    """The order and purge tasks the dead worker had received (and so held unacknowledged)."""
    return {
        entry["task"]: entry["id"]
        for entry in task_log(logfile)
        if entry["received"] and entry["task"] in (ORDER_TASK, PURGE_TASK)
    }


def recovered(order_id: int, at_kill: AtKill, logfile: Path) -> bool:
    """The order is complete, no expired text is left, and both messages the dead worker held came back and were
    acknowledged (their task succeeded on the fresh worker)."""
    from provisioning.models import AuthorisationOrder
    from texting.models import Message
    from texting.retention import retention_cutoff

    done = {entry["id"] for entry in task_log(logfile) if not entry["received"]}
    return (
        AuthorisationOrder.objects.get(pk=order_id).status == AuthorisationOrder.Status.COMPLETED
        and not Message.objects.filter(created_at__lt=retention_cutoff()).exists()
        and set(at_kill.task_ids.values()) <= done
    )


def recovery_events(logfile: Path, at_kill: AtKill) -> dict:
    """Seconds after the kill at which the fresh worker got each held message back, and at which its beat resumed the
    order (repoll_stuck_orders answering 1 or more)."""
    entries = task_log(logfile)
    events = {}
    for task, task_id in at_kill.task_ids.items():
        received = [e for e in entries if e["id"] == task_id and e["received"]]
        finished = [e for e in entries if e["id"] == task_id and not e["received"]]
        events[task] = {
            "redelivered": received[0]["at"] - at_kill.wall if received else None,
            "result": finished[0]["result"] if finished else None,
        }
    resumed = [e for e in entries if e["task"] == REPOLL_TASK and not e["received"] and e["result"] not in ("0",)]
    events[REPOLL_TASK] = resumed[0]["at"] - at_kill.wall if resumed else None
    return events


def report(
    order_id: int, texts: dict, at_kill: AtKill, events: dict, stats: dict, finished_after, self_check: bool
) -> int:
    from django.db.models import Sum

    from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber
    from texting.models import Message, PurgeRun

    order = AuthorisationOrder.objects.get(pk=order_id)
    chunks = OrderChunk.objects.filter(order=order)
    lines = OrderLine.objects.filter(order=order)
    states = Counter(PhoneNumber.objects.filter(order_lines__order=order).values_list("texting_state", flat=True))
    final = states[PhoneNumber.TextingState.AUTHORISED] + states[PhoneNumber.TextingState.FAILED]
    carrier_ids = [c for c in chunks.values_list("carrier_order_id", flat=True) if c]
    carrier_orders = stats["writes_created"].get("orders", 0)
    received = stats["by_reference"]["orders"]
    sent_twice = sorted(reference for reference, counts in received.items() if counts["created"] > 1)
    lookups = sum(counts["lookups"] for counts in received.values())
    runs = list(PurgeRun.objects.filter(dry_run=False).order_by("pk"))
    outcomes = Counter(run.outcome for run in runs)
    deleted = sum(run.rows_deleted for run in runs)
    expired_left = Message.objects.filter(created_at__lt=runs[-1].cutoff).count() if runs else None
    kept_now = Message.objects.filter(created_at__gte=texts["cutoff"]).count()
    order_events, purge_events = events.get(ORDER_TASK, {}), events.get(PURGE_TASK, {})
    repolled = events.get(REPOLL_TASK)

    def seconds(value) -> str:
        return "never" if value is None else f"{value:.1f} s"

    print("Figures:")
    print(
        f"  order {NUMBERS:,} numbers: worker killed after {at_kill.chunks_confirmed}/{chunks.count()} chunks "
        f"recorded; carrier held {at_kill.carrier_orders} orders"
    )
    print(f"    resumed by the beat's repoll_stuck_orders: {seconds(repolled)} after the kill")
    print(
        f"    original message redelivered: {seconds(order_events.get('redelivered'))} after the kill "
        f"(task returned {order_events.get('result')})"
    )
    mechanism = _first(("beat repoll_stuck_orders", repolled), ("redelivery", order_events.get("redelivered")))
    completed = order.completed_at.timestamp() - at_kill.wall if order.completed_at else None
    attempts = chunks.aggregate(n=Sum("attempts"))["n"]
    print(f"    recovered by {mechanism}; order complete {seconds(completed)} after the kill")
    print(
        f"    {final:,}/{NUMBERS:,} final ("
        + ", ".join(f"{k}: {v:,}" for k, v in sorted(states.items()))
        + f"); {attempts} submission attempts for {chunks.count()} chunks"
    )
    print(
        f"    carrier: {carrier_orders} orders created, duplicates at carrier: {stats['duplicate_submissions']} "
        f"({len(sent_twice)} chunks sent more than once), {lookups} lookups by reference; requests "
        + ", ".join(f"{label}: {count}" for label, count in sorted(stats["requests"].items()) if " /v1/" in label)
    )
    print(
        f"  purge {texts['expired']:,} expired of {texts['expired'] + texts['kept']:,}: worker killed after "
        f"{at_kill.purged:,} deleted; redelivered {seconds(purge_events.get('redelivered'))} after the kill "
        f"(task returned {purge_events.get('result')})"
    )
    for run in runs:
        print(
            f"    run {run.pk}: {run.outcome:<11} {run.rows_deleted:8,} deleted in {run.batches:3} batches  "
            f"{run.detail}"
        )
    print(
        f"    {expired_left} expired left; {kept_now:,}/{texts['kept']:,} unexpired kept; runs delete "
        f"{deleted:,} in all"
    )
    print(
        f"  {at_kill.unacked} messages unacknowledged at the kill; everything finished "
        f"{seconds(finished_after)} after it (limit {RECOVERY_TIMEOUT_SECONDS} s)"
    )

    verdict = Verdict(must_fail=(SENT_ONCE, ONE_ORDER_PER_CHUNK) if self_check else ())
    verdict.check(
        "killed mid-order: some chunks recorded, some not, one in flight at the carrier",
        0 < at_kill.chunks_confirmed < at_kill.carrier_orders <= chunks.count(),
        f"{at_kill.chunks_confirmed}/{chunks.count()} recorded, {at_kill.carrier_orders} held by the carrier",
    )
    verdict.check("killed mid-purge: some batches committed, not all", 0 < at_kill.purged < texts["expired"])
    verdict.check(
        "the dead worker's order and purge messages were left unacknowledged",
        at_kill.unacked >= 2 and set(at_kill.task_ids) == {ORDER_TASK, PURGE_TASK},
        str(at_kill.task_ids),
    )
    verdict.check(f"everything finished within {RECOVERY_TIMEOUT_SECONDS} s of the kill", finished_after is not None)
    verdict.check(
        "both held messages were redelivered to the fresh worker and acknowledged",
        order_events.get("result") is not None and purge_events.get("result") is not None,
    )
    verdict.check(
        "the order is complete, every number authorised or failed",
        order.status == AuthorisationOrder.Status.COMPLETED and final == NUMBERS,
        str(dict(states)),
    )
    verdict.check(
        "every failed number says why",
        not PhoneNumber.objects.filter(
            order_lines__order=order, texting_state_reason="", texting_state=PhoneNumber.TextingState.FAILED
        ).exists(),
    )
    verdict.check(
        "every order line is decided and closed",
        not lines.filter(state=OrderLine.State.PENDING).exists() and not lines.filter(is_open=True).exists(),
    )
    verdict.check(
        SENT_ONCE,
        not sent_twice and stats["duplicate_submissions"] == stats["resubmissions"] == 0,
        f"{len(sent_twice)} chunks sent more than once, {stats['resubmissions']} resubmissions",
    )
    verdict.check(
        ONE_ORDER_PER_CHUNK,
        carrier_orders == len(set(carrier_ids)) == len(carrier_ids) == chunks.count(),
        f"{carrier_orders} created, {len(set(carrier_ids))} held by {chunks.count()} chunks",
    )
    verdict.check("every expired text is gone", expired_left == 0)
    verdict.check("no unexpired text was deleted", kept_now == texts["kept"], f"{kept_now:,}/{texts['kept']:,}")
    verdict.check(
        "the purge runs add up to exactly the expired texts",
        deleted == texts["expired"],
        f"{deleted:,} vs {texts['expired']:,}",
    )
    verdict.check(
        "the killed run is marked interrupted with what had really gone when it died, one later run completed the rest",
        len(runs) >= 2
        and runs[0].outcome == PurgeRun.Outcome.INTERRUPTED
        and runs[0].rows_deleted == at_kill.purged
        and outcomes[PurgeRun.Outcome.COMPLETED] == 1
        and runs[-1].outcome == PurgeRun.Outcome.COMPLETED,
        f"{dict(outcomes)}; killed run says {runs[0].rows_deleted:,}, table lost {at_kill.purged:,}" if runs else "",
    )
    return verdict.exit_code()


def _first(*candidates: tuple[str, float | None]) -> str:
    """The name of the mechanism that acted first (seconds after the kill), with its time."""
    happened = sorted((at, name) for name, at in candidates if at is not None)
    return f"{happened[0][1]} ({happened[0][0]:.1f} s after the kill)" if happened else "nothing"


if __name__ == "__main__":
    run_main(main)
