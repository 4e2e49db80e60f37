"""PostgreSQL goes away for ten seconds under a live portal: visitors get the clear 503 page, never a stack trace,
and the portal recovers by itself when the database is back.

The portal runs as in production (gunicorn, DEBUG off, collected static files) against a throw-away PostgreSQL
cluster of its own. A signed-in administrator keeps requesting pages and /healthz while the cluster is stopped
(`pg_ctl stop -m fast`) for DOWN_SECONDS, then started again. Claims:
- while it is down, every page answers 503 with templates/503.html and a Retry-After header, /healthz answers 503,
  and no answer carries a traceback or exception text;
- once it is back, every page answers 200 again within RECOVERY_TARGET_SECONDS, with the same gunicorn;
- no answer at any time is a 500.

Run: `.venv/bin/python scripts/faults/postgres_down.py` (about a minute). Ports: FAULTS_PG_PORT (default 5442) for
the throw-away cluster, FAULTS_WEB_PORT (default 8380) for gunicorn. Logs: var/faults/postgres_down/.
"""

import itertools
import os
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx
from _services import (
    BIN,
    LEAK,
    PRODUCTION_ENV,
    ROOT,
    Verdict,
    answers_ok,
    background,
    log_dir,
    migrated_database,
    run_main,
    sign_in,
    throwaway_postgres,
    wait_started,
    wait_until,
)

from portal.env import env_float, env_int

PG_PORT = env_int("FAULTS_PG_PORT", 5442)
WEB_PORT = env_int("FAULTS_WEB_PORT", 8380)
BEFORE_SECONDS = 5.0
DOWN_SECONDS = env_float("FAULTS_DOWN_SECONDS", 10.0)
RECOVERY_TARGET_SECONDS = 5.0
STEADY_AFTER_SECONDS = 5.0
PAGES = (
    "/overview/",
    "/users/",
    "/locations/",
    "/calling/business-texting/authorize/",
    "/calling/business-texting/orders/",
    "/audit/",
    "/texting/activity/",
    "/healthz",
)
PAGE_503_TEXT = "temporarily unavailable"


@dataclass(frozen=True)
class Answer:
    phase: str
    path: str
    status: int | str  # the HTTP status, or the transport error's name
    finished: float  # time.monotonic()
    retry_after: str | None
    is_503_page: bool
    leaks: bool


class Visitor(threading.Thread):
    """A signed-in administrator requesting PAGES in turn until told to stop; every answer is kept with the phase
    of the experiment it was asked in."""

    def __init__(self, client: httpx.Client):
        super().__init__(daemon=True)
        self.client = client
        self.phase = "before"
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for path in itertools.cycle(PAGES):
            if self.stopping.is_set():
                return
            phase = self.phase
            try:
                response = self.client.get(path)
                status, body, retry_after = response.status_code, response.text, response.headers.get("Retry-After")
            except httpx.HTTPError as exc:
                status, body, retry_after = type(exc).__name__, "", None
            self.answers.append(
                Answer(
                    phase, path, status, time.monotonic(), retry_after, PAGE_503_TEXT in body, bool(LEAK.search(body))
                )
            )
            time.sleep(0.02)

    def after(self, phase: str) -> list[Answer]:
        return [answer for answer in list(self.answers) if answer.phase == phase]


def main() -> int:
    logs = log_dir("postgres_down")
    os.environ.update(PRODUCTION_ENV)
    print(f"PostgreSQL down for {DOWN_SECONDS:g} s under gunicorn; logs in {logs.relative_to(ROOT)}/")
    with throwaway_postgres(PG_PORT, logs) as cluster, migrated_database(cluster.url, drop=False) as database_url:
        email, password = make_admin()
        env = {**os.environ, "DATABASE_URL": database_url}
        subprocess.run(
            [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        gunicorn = [
            str(BIN / "gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            "2",
            "--timeout",
            "30",
        ]
        with (
            background("gunicorn", gunicorn, env=env, logs=logs) as web,
            httpx.Client(base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=15, trust_env=False) as client,
        ):
            wait_started(
                "gunicorn",
                lambda: answers_ok(f"http://127.0.0.1:{WEB_PORT}/healthz"),
                logs / "gunicorn.log",
                timeout=30,
            )
            sign_in(client, email, password)
            visitor = Visitor(client)
            visitor.start()
            try:
                timings = run_outage(cluster, visitor)
            finally:
                visitor.stopping.set()
                visitor.join(timeout=20)
                if not cluster.is_running():
                    cluster.start()
            still_running = web.poll() is None
    return report(visitor, timings, still_running)


def make_admin() -> tuple[str, str]:
    """An Enterprise organisation with a Cisco Calling Plan location and numbers, and its full administrator."""
    from portal.models import User
    from tests.factories import PASSWORD, make_location, make_numbers, make_org, make_user

    org = make_org("Outage Corp")
    make_numbers(make_location(org, "Head Office"), 60)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="outage-admin@example.com")
    return admin.email, PASSWORD


def run_outage(cluster, visitor: Visitor) -> dict:
    """Before, stopping, down, starting, after: returns when the database is back and has been for a while."""
    time.sleep(BEFORE_SECONDS)
    visitor.phase = "stopping"
    cluster.stop(mode="fast")
    visitor.phase = "down"
    time.sleep(DOWN_SECONDS)
    visitor.phase = "starting"
    cluster.start()
    back_at = time.monotonic()
    visitor.phase = "after"
    recovered = wait_until(lambda: _steady(visitor.after("after")), timeout=30)
    if recovered:
        time.sleep(STEADY_AFTER_SECONDS)
    return {"back_at": back_at}


def _steady(answers: list[Answer]) -> bool:
    """A whole round of pages answered 200 in a row."""
    return len(answers) >= len(PAGES) and all(answer.status == 200 for answer in answers[-len(PAGES) :])


def recovery_seconds(answers: list[Answer], back_at: float) -> float | None:
    """Seconds from PostgreSQL accepting connections to the first answer of the unbroken run of 200s that follows,
    or None if the portal never got there."""
    first_of_run = None
    for answer in answers:
        if answer.status != 200:
            first_of_run = None
        elif first_of_run is None:
            first_of_run = answer
    return None if first_of_run is None else max(0.0, first_of_run.finished - back_at)


def report(visitor: Visitor, timings: dict, gunicorn_still_running: bool) -> int:
    answers = list(visitor.answers)
    print("Answers by phase:")
    for phase in ("before", "stopping", "down", "starting", "after"):
        counts = Counter(answer.status for answer in answers if answer.phase == phase)
        print(
            f"  {phase:<9} {sum(counts.values()):5d}  "
            + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str))
        )
    down = visitor.after("down")
    down_pages = [answer for answer in down if answer.path != "/healthz"]
    down_health = [answer for answer in down if answer.path == "/healthz"]
    after = visitor.after("after")
    recovery = recovery_seconds(after, timings["back_at"])
    print(
        "Time to recover after PostgreSQL accepted connections again: "
        + ("never" if recovery is None else f"{recovery:.2f} s")
    )

    verdict = Verdict()
    verdict.check("before the outage every page answers 200", all(a.status == 200 for a in visitor.after("before")))
    verdict.check(
        "while down every page answers 503",
        bool(down_pages) and all(a.status == 503 for a in down_pages),
        f"{len(down_pages)} page requests",
    )
    verdict.check(
        "while down every page is the portal's 503 page with Retry-After",
        all(a.is_503_page and a.retry_after for a in down_pages),
    )
    verdict.check(
        "while down /healthz answers 503",
        bool(down_health) and all(a.status == 503 for a in down_health),
        f"{len(down_health)} requests",
    )
    verdict.check(
        "no answer ever shows a traceback or exception text",
        not any(a.leaks for a in answers),
        ", ".join(sorted({a.path for a in answers if a.leaks})),
    )
    verdict.check(
        "no answer is ever a 500 or a dropped connection",
        not any(a.status == 500 or isinstance(a.status, str) for a in answers),
    )
    verdict.check(
        f"pages answer 200 again within {RECOVERY_TARGET_SECONDS:g} s",
        recovery is not None and recovery <= RECOVERY_TARGET_SECONDS,
    )
    verdict.check("after recovering, every page stays 200", _steady(after) and recovery is not None)
    verdict.check("the same gunicorn served throughout (no restart)", gunicorn_still_running)
    return verdict.exit_code()


if __name__ == "__main__":
    run_main(main)
