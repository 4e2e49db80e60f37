"""Redis stops for a few seconds under a live portal and comes back empty: pages keep answering, the texting API
answers a clear 503 while it cannot count, and an order placed during the outage is submitted once Redis is back.

The portal runs as in production (gunicorn, DEBUG off) with a Celery worker and its beat, against a throw-away
redis-server (broker, volume counters, purge lock) with no persistence: stopped for DOWN_SECONDS and started again,
it comes back empty, like a Redis that crashed. A signed-in administrator keeps requesting pages (overview, a
location's numbers, orders, activity, /healthz) and a texting user keeps sending texts through
`POST /api/texting/messages`. While Redis is down, an administrator goes through the Authorize wizard (location,
select all, summary, Submit) for a fresh location. The worker runs under a supervisor loop that restarts it if it
exits, as docker-compose.yml's `restart: unless-stopped` does, so a worker crash is counted rather than fatal. Claims:
- the pages never need Redis: they answer 200 before, during and after the outage;
- the API answers 202 before and after, and while Redis is down a clear 503 `service_unavailable`, each answer
  within ANSWER_TARGET_SECONDS;
- the wizard's Submit during the outage places the order and shows it (a redirect to the order, not an error page),
  within ANSWER_TARGET_SECONDS;
- that order is submitted to the carrier and completes after Redis returns (its enqueue failed with Redis down: the
  beat's `repoll_stuck_orders` resumes it after AUTHORISATION_STUCK_MINUTES, here 15 s instead of 15 minutes);
- no answer at any time is a 500 or shows a traceback; the same gunicorn served throughout;
- the Celery worker lives through the outage without a restart. (Celery 5.7.0 fails this one: on losing the broker
  its consumer closes a connection it has just collected and dies of AttributeError; Celery 5.6.3 reconnects.)

Run: `.venv/bin/python scripts/faults/redis_restart.py` (about a minute; the outage lasts FAULTS_DOWN_SECONDS,
default 6). It builds test_faults_worker_redis on the server of FAULTS_REDIS_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/faults_worker_redis) and drops it at the end; its own redis-server on
FAULTS_REDIS_PORT (default 6391), the simulator on FAULTS_SIM_PORT (default 8391), gunicorn on FAULTS_WEB_PORT
(default 8390). Logs: var/faults/redis_restart/.
"""

import itertools
import json
import os
import re
import socket
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
    throwaway_redis,
    wait_started,
    wait_until,
    worker_answers,
)

from portal.env import env_float, env_int

DATABASE_URL = os.environ.get("FAULTS_REDIS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/faults_worker_redis")
REDIS_PORT = env_int("FAULTS_REDIS_PORT", 6391)
SIM_PORT = env_int("FAULTS_SIM_PORT", 8391)
WEB_PORT = env_int("FAULTS_WEB_PORT", 8390)
BEFORE_SECONDS = 5.0
DOWN_SECONDS = env_float("FAULTS_DOWN_SECONDS", 6.0)
AFTER_TIMEOUT_SECONDS = 90.0
STEADY_AFTER_SECONDS = 5.0
ANSWER_TARGET_SECONDS = 3.0
ORDER_NUMBERS = 120
WORKER_NAME = f"redis-restart-{os.getpid()}@{socket.gethostname()}"
# The worker as deployed (docker-compose.yml: `restart: unless-stopped`): if it exits, it is started again.
WORKER_EXITED = "supervisor: the worker exited"
SUPERVISED = ["sh", "-c", f'while :; do "$@"; echo "{WORKER_EXITED} ($?), restarting it"; sleep 1; done', "supervisor"]

PORTAL_ENV = {
    **PRODUCTION_ENV,
    "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
    "CARRIER_API_URL": f"http://127.0.0.1:{SIM_PORT}",
    "CARRIER_CALLBACK_BASE_URL": "",  # polling only
    "CARRIER_WEBHOOK_SECRET": "faults-webhook-secret",
    "AUTHORISATION_POLL_SECONDS": "1",
    "AUTHORISATION_STUCK_MINUTES": "0.25",
    "AUTHORISATION_REPOLL_SECONDS": "5",
    "TEXTING_POLL_SECONDS": "1",
    # The limits are not under test: every text the loop sends is within them.
    "TEXTING_DAILY_CAP_PER_NUMBER": "1000000",
    "TEXTING_BURST_PER_MINUTE": "1000000",
}


@dataclass(frozen=True)
class Answer:
    phase: str
    path: str
    status: int | str  # the HTTP status, or the transport error's name
    seconds: float
    reason: str  # the API's machine-readable reason, if any
    leaks: bool


class Visitor(threading.Thread):
    """Requests `paths` in turn (GET, or POST of a text for the API) until told to stop; every answer is kept with
    the phase of the experiment it was asked and answered in ("changing" if the phase changed meanwhile)."""

    def __init__(self, client: httpx.Client, paths: list[str], *, send_texts: bool = False):
        super().__init__(daemon=True)
        self.client, self.paths, self.send_texts = client, paths, send_texts
        self.phase = "before"
        self.answers: list[Answer] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for n, path in zip(itertools.count(), itertools.cycle(self.paths)):
            if self.stopping.is_set():
                return
            phase, began = self.phase, time.monotonic()
            try:
                if self.send_texts:
                    response = self.client.post(path, json={"to": f"+1415555{n % 10000:04d}", "body": "Order ready."})
                else:
                    response = self.client.get(path)
                status, body = response.status_code, response.text
            except httpx.HTTPError as exc:
                status, body = type(exc).__name__, ""
            if self.phase != phase:  # asked in one phase, answered in another: belongs to neither
                phase = "changing"
            self.answers.append(
                Answer(phase, path, status, time.monotonic() - began, _reason(body), bool(LEAK.search(body)))
            )
            time.sleep(0.05)

    def after(self, phase: str) -> list[Answer]:
        return [answer for answer in list(self.answers) if answer.phase == phase]


def _reason(body: str) -> str:
    try:
        return str(json.loads(body).get("reason", ""))
    except (ValueError, AttributeError):
        return ""


def main() -> int:
    logs = log_dir("redis_restart")
    os.environ.update(PORTAL_ENV)
    print(
        f"Redis down for {DOWN_SECONDS:g} s (and back empty) under gunicorn and a Celery worker; "
        f"logs in {logs.relative_to(ROOT)}/"
    )
    with throwaway_redis(REDIS_PORT, logs) as redis_server, migrated_database(DATABASE_URL) as database_url:
        env = {**os.environ, "DATABASE_URL": database_url}
        site = seed()
        subprocess.run(
            [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
        )
        simulator = [str(BIN / "python"), "manage.py", "run_carrier_sim", "--port", str(SIM_PORT), "--delay", "1"]
        gunicorn = [
            str(BIN / "gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{WEB_PORT}",
            "--workers",
            "2",
            "--threads",
            "2",
            "--timeout",
            "60",
        ]
        worker = SUPERVISED + [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "-n",
            WORKER_NAME,
            "--without-gossip",
            "--without-mingle",
            "-B",
            "--schedule",
            str(logs / "beat-schedule"),
        ]
        base_url = f"http://127.0.0.1:{WEB_PORT}"
        with (
            background("simulator", simulator, env=env, logs=logs),
            background("gunicorn", gunicorn, env=env, logs=logs) as web,
            background("worker", worker, env=env, logs=logs) as celery_worker,
            httpx.Client(base_url=base_url, timeout=30, trust_env=False) as admin,
            httpx.Client(base_url=base_url, timeout=30, trust_env=False) as wizard,
            httpx.Client(
                base_url=base_url,
                timeout=30,
                trust_env=False,
                headers={"Authorization": f"Bearer {site['token']}", "X-Webex-App-Version": site["app_version"]},
            ) as texter,
        ):
            wait_started("gunicorn", lambda: answers_ok(f"{base_url}/healthz"), logs / "gunicorn.log", timeout=30)
            wait_started("The Celery worker", lambda: worker_answers(WORKER_NAME), logs / "worker.log")
            sign_in(admin, site["email"], site["password"])
            sign_in(wizard, site["email"], site["password"])
            pages = [
                Visitor(
                    admin,
                    [
                        "/overview/",
                        f"/locations/{site['location']}/",
                        "/calling/business-texting/orders/",
                        "/texting/activity/",
                        "/healthz",
                    ],
                ),
                Visitor(texter, ["/api/texting/messages"], send_texts=True),
            ]
            for visitor in pages:
                visitor.start()
            try:
                timings = run_outage(redis_server, pages, wizard, site)
            finally:
                for visitor in pages:
                    visitor.stopping.set()
                    visitor.join(timeout=40)
                if not redis_server.is_running():
                    redis_server.start()
            still_running = web.poll() is None and celery_worker.poll() is None
        return report(pages, timings, still_running, logs)


def seed() -> dict:
    """An organisation with a location of numbers to browse, a fresh location to authorise during the outage, and a
    texting user with an API token."""
    from portal.models import User
    from tests.factories import PASSWORD, make_location, make_numbers, make_org, make_user
    from tests.texting.factories import APP_VERSION, issue_token, make_texter

    org = make_org("Outage Texting Corp")
    browsed = make_location(org, "Head Office")
    make_numbers(browsed, 200)
    fresh = make_location(org, "New Branch")
    make_numbers(fresh, ORDER_NUMBERS)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="redis-admin@example.com")
    texter, _number = make_texter(org, email="redis-texter@example.com")
    return {
        "email": admin.email,
        "password": PASSWORD,
        "location": browsed.pk,
        "order_location": fresh.pk,
        "token": issue_token(admin, texter),
        "app_version": APP_VERSION,
    }


def run_outage(redis_server, visitors: list[Visitor], wizard: httpx.Client, site: dict) -> dict:
    """Before, down (the wizard places an order meanwhile), after: returns once the order is complete and the pages
    and the API have answered normally for STEADY_AFTER_SECONDS, or after AFTER_TIMEOUT_SECONDS."""
    timings = {}
    time.sleep(BEFORE_SECONDS)
    _set_phase(visitors, "stopping")
    redis_server.stop()
    _set_phase(visitors, "down")
    placing = threading.Thread(target=_place_order, args=(wizard, site, timings))
    placing.start()
    time.sleep(DOWN_SECONDS)
    _set_phase(visitors, "starting")
    redis_server.start()
    timings["back_at"] = time.monotonic()
    _set_phase(visitors, "after")
    placing.join(timeout=60)
    order_id = timings.get("order", {}).get("order_id")
    timings["order_completed"] = wait_until(
        lambda: _order_completed(order_id), timeout=AFTER_TIMEOUT_SECONDS, interval=0.5
    )
    timings["order_completed_after"] = time.monotonic() - timings["back_at"]
    wait_until(lambda: all(_steady(v.after("after")) for v in visitors), timeout=30)
    time.sleep(STEADY_AFTER_SECONDS)
    return timings


def _set_phase(visitors: list[Visitor], phase: str) -> None:
    for visitor in visitors:
        visitor.phase = phase


class WizardFailed(Exception):
    """A wizard step before Submit did not answer as it should."""


def _place_order(client: httpx.Client, site: dict, timings: dict) -> None:
    try:
        timings["order"] = place_order_in_wizard(client, site)
    except (WizardFailed, httpx.HTTPError) as exc:
        timings["order"] = {"status": f"wizard failed before Submit ({exc})"}


def place_order_in_wizard(client: httpx.Client, site: dict) -> dict:
    """Authorize Business Texting as an administrator does: choose the location, select every number, open the
    summary, Submit. Returns the Submit's status, how long it took, where it led, and the order placed."""
    location = site["order_location"]
    _expect(client.get("/calling/business-texting/authorize/", params={"location": location}), 200)
    csrf = client.cookies.get("csrftoken")
    _expect(
        client.post(
            "/calling/business-texting/authorize/selection/",
            data={"csrfmiddlewaretoken": csrf, "location": location, "op": "select_matching"},
        ),
        302,
    )
    summary = _expect(client.get("/calling/business-texting/authorize/summary/"), 200)
    token = re.search(r'name="token" value="([^"]+)"', summary.text).group(1)
    began = time.monotonic()
    try:
        response = client.post(
            "/calling/business-texting/authorize/submit/", data={"csrfmiddlewaretoken": csrf, "token": token}
        )
        status, where = response.status_code, response.headers.get("Location", "")
    except httpx.HTTPError as exc:
        status, where = type(exc).__name__, ""
    seconds = time.monotonic() - began
    from provisioning.models import AuthorisationOrder

    order = AuthorisationOrder.objects.filter(location_id=location).first()
    return {"status": status, "seconds": seconds, "location": where, "order_id": order.pk if order else None}


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise WizardFailed(
            f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}, expected {status}"
        )
    return response


def _order_completed(order_id: int | None) -> bool:
    from provisioning.models import AuthorisationOrder

    return (
        order_id is not None
        and AuthorisationOrder.objects.filter(pk=order_id, status=AuthorisationOrder.Status.COMPLETED).exists()
    )


def _steady(answers: list[Answer]) -> bool:
    """The last few answers are all normal (200 for pages, 202 for the API)."""
    return len(answers) >= 5 and all(a.status in (200, 202) for a in answers[-5:])


def report(visitors: list[Visitor], timings: dict, still_running: bool, logs) -> int:
    from provisioning.models import AuthorisationOrder, OrderChunk, PhoneNumber

    pages, api = visitors
    answers = pages.answers + api.answers
    print("Answers by phase (status: count):")
    for phase in ("before", "stopping", "down", "starting", "changing", "after"):
        for name, visitor in (("pages", pages), ("API", api)):
            got = visitor.after(phase)
            counts = Counter(f"{a.status} {a.reason}".strip() for a in got)
            slowest = max((a.seconds for a in got), default=0.0)
            print(
                f"  {phase:<8} {name:<5} {len(got):4d}  slowest {slowest:5.2f} s  "
                + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            )
    order = timings.get("order", {})
    placed = AuthorisationOrder.objects.filter(pk=order.get("order_id")).first()
    print(
        f"Wizard Submit during the outage: HTTP {order.get('status')} in {order.get('seconds', 0):.2f} s"
        f" -> {order.get('location') or 'no redirect'}; order {placed.pk if placed else 'not placed'}"
    )
    if placed is not None:
        numbers = Counter(PhoneNumber.objects.filter(order_lines__order=placed).values_list("texting_state", flat=True))
        print(
            f"  after Redis returned: order {placed.status} "
            f"{timings['order_completed_after']:.1f} s later; numbers "
            + ", ".join(f"{k}: {v}" for k, v in sorted(numbers.items()))
            + f"; chunks sent {OrderChunk.objects.filter(order=placed).exclude(carrier_order_id='').count()}"
        )
        print(f"  resumed by: {resumed_by(logs / 'worker.log')}")
    worker_log = (logs / "worker.log").read_text(errors="replace")
    restarts = worker_log.count(WORKER_EXITED)
    crash = re.search(r"CRITICAL/MainProcess\] Unrecoverable error: (.*)", worker_log)
    print(f"Celery worker: {restarts} restart(s) by the supervisor" + (f"; it died of {crash[1]}" if crash else ""))

    down_pages, down_api = pages.after("down"), api.after("down")
    verdict = Verdict()
    verdict.check(
        "pages answer 200 before, during and after the outage",
        bool(down_pages) and all(a.status == 200 for a in pages.answers),
        f"{len(down_pages)} page requests while down",
    )
    verdict.check("the API answers 202 before the outage", all(a.status == 202 for a in api.after("before")))
    verdict.check(
        "while Redis is down the API answers 503 service_unavailable",
        bool(down_api) and all(a.status == 503 and a.reason == "service_unavailable" for a in down_api),
        f"{len(down_api)} sends: " + ", ".join(f"{k}: {v}" for k, v in Counter(a.status for a in down_api).items()),
    )
    verdict.check(
        f"no API answer takes more than {ANSWER_TARGET_SECONDS:g} s",
        all(a.seconds <= ANSWER_TARGET_SECONDS for a in api.answers),
        f"slowest {max((a.seconds for a in api.answers), default=0):.2f} s",
    )
    verdict.check("the API answers 202 again after the outage", _steady(api.after("after")))
    verdict.check(
        "the wizard's Submit during the outage places the order and shows it",
        order.get("status") == 302 and "/orders/" in order.get("location", "") and placed is not None,
        f"HTTP {order.get('status')}",
    )
    verdict.check(
        f"the Submit answers within {ANSWER_TARGET_SECONDS:g} s",
        order.get("seconds", 1e9) <= ANSWER_TARGET_SECONDS,
        f"{order.get('seconds', 0):.2f} s",
    )
    verdict.check(
        f"that order completes within {AFTER_TIMEOUT_SECONDS:g} s of Redis returning",
        bool(timings.get("order_completed")),
    )
    verdict.check(
        "no answer is ever a 500 or a dropped connection",
        not any(a.status == 500 or isinstance(a.status, str) for a in answers),
    )
    verdict.check("no answer ever shows a traceback or exception text", not any(a.leaks for a in answers))
    verdict.check(
        "the Celery worker lived through the outage (no restart needed)", restarts == 0, f"{restarts} restart(s)"
    )
    verdict.check("the same gunicorn served throughout, and a worker runs at the end", still_running)
    return verdict.exit_code()


def resumed_by(logfile) -> str:
    """What put the order back in the worker's hands: the beat's repoll_stuck_orders (answering 1 or more), or a
    submission task that reached the worker."""
    text = logfile.read_text(errors="replace")
    if re.search(r"repoll_stuck_orders\[[0-9a-f-]+\] succeeded in [\d.]+s: [1-9]", text):
        return "the beat's repoll_stuck_orders (the enqueue at Submit never reached Redis)"
    if "submit_authorisation_order" in text:
        return "the submission task queued at Submit"
    return "nothing"


if __name__ == "__main__":
    run_main(main)
