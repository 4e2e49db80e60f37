"""Load test: full administrators browsing the portal at the same time, each in their own organisation, against the
whole stack as deployed (gunicorn with DEBUG off and WhiteNoise, PostgreSQL, Redis, a real Celery worker and the
carrier simulator, which calls the portal back).

The demo data scaled up: --orgs organisations (default 100) of --locations-per-org Cisco Calling Plan locations
(default 2) and --numbers-per-org numbers (default 1,000: 100,000 in all), one full administrator each, built with
the test factories (bulk inserts). --users simulated administrators (default 50, threads, one organisation each,
their own httpx client and cookies) sign in through the real login form, spread over --ramp seconds, then browse
for --seconds (default 60) with a think time of --think seconds on average (uniform 0.5x-1.5x) before every request:
overview, Calling → PSTN, locations, a location's numbers (search, a page), the Authorize wizard (choose the location,
page through, tick and untick numbers with the HTMX POSTs and the CSRF header, summary, submit: a few numbers
authorised per pass), the order and its progress poll, the orders list and an order, 10DLC cases, texting activity.

Sign-in is measured apart: each checks a password hashed with PBKDF2 (about half a second of CPU by design), and
all users signing in at once is a burst no real portal sees; the target applies to the browsing that follows.
Targets: no error (an answer other than the one expected: 200 with the page's heading or the partial's element for
every GET, the order page's redirect for the submission; a transport error; a journey that could not go on; any
exception in a user's thread), every administrator browsing until the deadline, every order placed completed by the
worker and the carrier with all its numbers authorised, and the browsing p95 under --target-p95-ms (300). Exits 1 if
any is missed. Latencies depend on the CPU other work leaves
free: the report shows gunicorn's CPU per request and how busy the machine was, with this test idle and browsing.

`--metrics on|off` runs gunicorn with the Prometheus metrics as deployed (PROMETHEUS_MULTIPROC_DIR) or switched off
(METRICS_ENABLED=0); `--metrics compare --rounds 3` alternates rounds of both and compares gunicorn's CPU time per
browsing request (target: at most --target-overhead, 5%), and times the request middleware alone both ways.

Run: `.venv/bin/python benchmarks/load.py` (about 1.5 minutes; PostgreSQL and Redis required).
Smoke run: `.venv/bin/python benchmarks/load.py --users 5 --seconds 10 --orgs 5`; every page and an order or two in
about 35 s: `--users 2 --seconds 8 --think 0.1 --orgs 2 --numbers-per-org 50`.
It builds test_<name> on the server of --database-url (default postgres://postgres@127.0.0.1:5432/load) and drops it
at the end unless --keep; Redis databases --broker-url and --redis-url (12 and 13) are flushed before and after.
Process logs: var/load/. However it ends (done, failed, Ctrl-C, SIGTERM from `timeout` or `kill`, SIGHUP), it stops
gunicorn, the worker and the simulator with their process groups, and drops its database (unless --keep).
"""

import argparse
import json
import math
import os
import random
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "faults"))
# The fault scripts' process helpers and production environment, and their sign-in through the real login form.
from _services import (  # noqa: E402 (after the sys.path line above)
    BIN,
    PRODUCTION_ENV,
    answers_ok,
    background,
    flush_redis_db,
    migrated_database,  # noqa: E402
    port_in_use,
    run_main,
    sign_in,
    wait_started,
    wait_until,
    worker_answers,
)

LOGS = ROOT / "var" / "load"
WIZARD = "/calling/business-texting/authorize/"
ORDERS = "/calling/business-texting/orders/"
ORDER_URL = re.compile(r"^/calling/business-texting/orders/(\d+)/$")
DRAIN_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50, help="simulated administrators (one organisation each)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they browse")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time before each request (s)")
    parser.add_argument("--ramp", type=float, default=5.0, help="sign-ins are spread over this many seconds")
    parser.add_argument("--orgs", type=int, default=100, help="organisations in the data set")
    parser.add_argument("--locations-per-org", type=int, default=2)
    parser.add_argument("--numbers-per-org", type=int, default=1000)
    parser.add_argument("--target-p95-ms", type=float, default=300)
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/load")
    )
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--port", type=int, default=8370, help="gunicorn")
    parser.add_argument("--sim-port", type=int, default=8371, help="carrier simulator")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--metrics",
        choices=("on", "off", "compare"),
        default="on",
        help="Prometheus metrics in gunicorn (on: as deployed, PROMETHEUS_MULTIPROC_DIR; off: METRICS_ENABLED=0); "
        "compare: --rounds rounds of each, alternated, one gunicorn restarted between them, and the CPU per "
        "browsing request of each (target: metrics cost at most --target-overhead)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each setting with --metrics compare")
    parser.add_argument("--target-overhead", type=float, default=0.05, help="--metrics compare: CPU share allowed")
    args = parser.parse_args()
    if not 1 <= args.users <= args.orgs:
        parser.error("--users must be between 1 and --orgs: each simulated administrator has an organisation")
    per_location = math.ceil(args.numbers_per_org / args.locations_per_org)
    # tests.factories.make_numbers gives each location an exchange of its own (10,000 numbers) out of 700, drawn
    # from a sequence that every factory call advances (1 organisation + 2 calls per location).
    if per_location > 10_000 or args.orgs * (1 + 2 * args.locations_per_org) > 700:
        parser.error("at most 10,000 numbers per location and orgs x (1 + 2 x locations-per-org) <= 700")
    return args


# --- data ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One organisation of the data set, as its administrator knows it."""

    email: str
    location_ids: tuple[int, ...]
    location_names: tuple[str, ...]


def build_sites(orgs: int, locations_per_org: int, numbers_per_org: int, password: str) -> list[Site]:
    """Enterprise organisations with the Calling Plan and Business Texting licences, their Cisco Calling Plan
    locations and numbers (bulk inserts) and one full administrator each, in one transaction."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from portal.models import User
    from tests.factories import make_location, make_numbers, make_org

    password_hash = make_password(password)  # hash once: hashing is deliberately slow, as in seed_demo
    sites, admins = [], []
    with transaction.atomic():
        for o in range(1, orgs + 1):
            org = make_org(f"Load Corp {o:03d}")
            locations = [make_location(org, f"Site {s}") for s in range(1, locations_per_org + 1)]
            for index, location in enumerate(locations):
                make_numbers(
                    location, numbers_per_org // locations_per_org + (index < numbers_per_org % locations_per_org)
                )
            email = f"admin@org{o:03d}.load.example"
            admins.append(
                User(
                    email=email,
                    full_name=f"Admin {o:03d}",
                    organisation=org,
                    role=User.Role.FULL_ADMIN,
                    password=password_hash,
                )
            )
            sites.append(Site(email, tuple(loc.pk for loc in locations), tuple(loc.name for loc in locations)))
        User.objects.bulk_create(admins)
    return sites


# --- measuring ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    phase: str
    endpoint: str
    outcome: int | str  # the HTTP status, or the transport error's name
    seconds: float

    @property
    def failed(self) -> bool:
        return isinstance(self.outcome, str) or self.outcome >= 400


class Recorder:
    """Every request's endpoint, outcome and time, under the phase it was made in; and the journeys' own problems
    (a page without what a person would click next). list.append is atomic: the user threads share one."""

    def __init__(self):
        self.phase = "sign-in"
        self.samples: list[Sample] = []
        self.problems: list[str] = []

    def record(self, request: httpx.Request, outcome: int | str, seconds: float) -> None:
        self.samples.append(Sample(self.phase, endpoint(request), outcome, seconds))


def endpoint(request: httpx.Request) -> str:
    """`METHOD /route/<id>/`, marked (HTMX) for partial requests; static files are one endpoint."""
    route = re.sub(r"/\d+(?=/|$)", "/<id>", request.url.path)
    route = "/static/…" if route.startswith("/static/") else route
    return f"{request.method} {route}" + (" (HTMX)" if "HX-Request" in request.headers else "")


class TimedTransport(httpx.HTTPTransport):
    """Times each request until its whole body has arrived, as a person waits for it, and records it."""

    def __init__(self, recorder: Recorder):
        super().__init__()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            response = super().handle_request(request)
            response.read()
        except httpx.HTTPError as exc:
            self.recorder.record(request, type(exc).__name__, time.perf_counter() - start)
            raise
        self.recorder.record(request, response.status_code, time.perf_counter() - start)
        return response


# --- the simulated administrator ----------------------------------------------------------------------------------


class TimeUp(Exception):
    """The browsing period is over."""


class Broken(Exception):
    """The journey cannot go on; the failed request or the problem is already recorded."""


class Admin(threading.Thread):
    """A full administrator of one organisation: signs in, then browses journey after journey until the deadline,
    thinking before every request."""

    def __init__(self, number: int, site: Site, password: str, args, recorder: Recorder, go: threading.Event):
        super().__init__(daemon=True, name=f"admin-{number}")
        self.site, self.password, self.args, self.recorder, self.go = site, password, args, recorder, go
        self.rng = random.Random(number)
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{args.port}", timeout=60, trust_env=False, transport=TimedTransport(recorder)
        )
        self.signed_in = threading.Event()
        self.csrf = ""
        self.deadline = math.inf
        self.orders_placed = 0
        self.browsed_to_the_end = False  # set only when the deadline, not an exception, ended the browsing

    def run(self) -> None:
        try:
            time.sleep(self.rng.uniform(0, self.args.ramp))
            self.sign_in()
        except (SystemExit, Exception) as exc:
            self.recorder.problems.append(f"sign-in failed: {type(exc).__name__}: {exc}")
            self.client.close()
            return
        finally:
            self.signed_in.set()
        self.go.wait()
        self.deadline = time.monotonic() + self.args.seconds
        try:
            while True:
                try:
                    self.journey()
                except (Broken, httpx.HTTPError):
                    pass  # recorded where it happened; start over, as a person would
                except TimeUp:
                    raise
                except Exception as exc:  # a page the journey could not read: an error, and the user goes on
                    self.recorder.problems.append(f"{type(exc).__name__} in a journey: {exc}")
                    self.think()  # never a busy loop, even if the next journey fails at once
        except TimeUp:
            self.browsed_to_the_end = True
        finally:
            self.client.close()

    def sign_in(self) -> None:
        """The login form, then the first page with its static files (a browser caches them after that)."""
        sign_in(self.client, self.site.email, self.password)
        page = self.request("GET", "/overview/", heading="Overview", think=False)
        self.csrf = re.search(r'"X-CSRFToken": "([^"]+)"', page.text).group(1)
        for asset in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text))):
            self.request("GET", asset, think=False)

    def journey(self) -> None:
        index = self.rng.randrange(len(self.site.location_ids))
        location = self.site.location_ids[index]
        self.request("GET", "/overview/", heading="Overview")
        self.request("GET", "/calling/pstn/", heading="Calling")
        self.request("GET", "/locations/", heading="Locations")
        self.browse_numbers(location, self.site.location_names[index])
        self.authorize(location)
        orders = self.request("GET", ORDERS, heading="Authorisation orders")
        order_ids = re.findall(r'href="/calling/business-texting/orders/(\d+)/"', orders.text)
        if order_ids:
            order_id = self.rng.choice(order_ids)
            self.request("GET", f"{ORDERS}{order_id}/", heading=f"Authorisation order #{order_id}")
        self.request("GET", "/cases/", heading="10DLC registration cases")
        self.request("GET", "/texting/activity/", heading="Business Texting activity")

    def browse_numbers(self, location: int, name: str) -> None:
        """A location's numbers: the page, a search by digits, then another page of the list."""
        url = f"/locations/{location}/"
        self.request("GET", url, heading=name)
        self.request("GET", url, params={"q": f"{self.rng.randint(0, 99):02d}"}, target="number-rows")
        self.request("GET", url, params={"page": self.rng.randint(2, 10)}, target="number-rows")

    def authorize(self, location: int) -> None:
        """One pass of the Authorize wizard that orders two numbers: tick three on a later page, untick one."""
        self.request("GET", WIZARD, heading="Authorize Business Texting")
        self.request("GET", WIZARD, params={"location": location}, target="wizard-numbers")
        for page_number in range(2, 2 + self.rng.randint(1, 2)):
            page = self.request(
                "GET", WIZARD, params={"location": location, "page": page_number}, target="wizard-numbers"
            )
        page_ids = re.findall(r'name="page_ids" value="(\d+)"', page.text)
        if len(page_ids) < 3:
            self.problem(f"the wizard offers {len(page_ids)} numbers on page {page_number} of location {location}")
        ticked: list[str] = []
        for number_id in self.rng.sample(page_ids, 3):
            ticked.append(number_id)
            self.toggle(location, page_number, page_ids, ticked, number_id)
        ticked.remove(untick := self.rng.choice(ticked))
        self.toggle(location, page_number, page_ids, ticked, untick)

        summary = self.request("GET", f"{WIZARD}summary/", heading="Authorize Business Texting")
        if f'id="summary-count">{len(ticked)}<' not in summary.text:
            self.problem(f"the order summary does not show the {len(ticked)} numbers ticked")
        token = re.search(r'name="token" value="([^"]+)"', summary.text).group(1)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', summary.text).group(1)
        placed = self.request(
            "POST", f"{WIZARD}submit/", data={"csrfmiddlewaretoken": csrf, "token": token}, expect=302
        )
        order = ORDER_URL.match(placed.headers.get("Location", ""))
        if not order:
            self.problem(f"submitting the order redirected to {placed.headers.get('Location')}, not the order's page")
        self.orders_placed += 1
        self.request("GET", order.group(0), heading=f"Authorisation order #{order.group(1)}")
        self.request("GET", order.group(0), target="order-live")  # the progress bar's own refresh

    def toggle(self, location: int, page_number: int, page_ids: list[str], ticked: list[str], number_id: str) -> None:
        """A checkbox's change: htmx posts the enclosing form (the page's ids, its ticked boxes) with op and id."""
        form = {
            "csrfmiddlewaretoken": self.csrf,
            "location": location,
            "q": "",
            "assigned": "",
            "page": page_number,
            "page_ids": page_ids,
            "number": ticked,
            "op": "toggle",
            "id": number_id,
        }
        answer = self.request("POST", f"{WIZARD}selection/", data=form, target="wizard-selection")
        if f"{len(ticked)} number" not in answer.text:
            self.problem(f"ticking a number did not show {len(ticked)} selected")

    def request(
        self,
        method: str,
        url: str,
        *,
        target: str = "",
        heading: str = "",
        expect: int = 200,
        think: bool = True,
        **kwargs,
    ) -> httpx.Response:
        """Think, then make the request (as htmx makes it when `target` is given). Refuse any answer but `expect`
        (a redirect to sign-in is not a page), and a page without its `heading` or a partial without the element
        it replaces: a fast answer with the wrong content must not pass as browsing."""
        if think:
            self.think()
        headers = {"HX-Request": "true", "HX-Target": target, "X-CSRFToken": self.csrf} if target else {}
        response = self.client.request(method, url, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise Broken  # recorded by the transport as a failed request
        where = endpoint(response.request)
        if response.status_code != expect:
            self.problem(
                f"{where} answered {response.status_code} (to {response.headers.get('Location')}), not {expect}"
            )
        if target and f'id="{target}"' not in response.text:
            self.problem(f"{where} answered without #{target}")
        if heading and f"<h1>{heading}</h1>" not in response.text:
            self.problem(f"{where} answered without its heading")
        return response

    def think(self) -> None:
        """A person's pause before the next click; TimeUp if it would end after the deadline."""
        pause = self.rng.uniform(0.5, 1.5) * self.args.think
        if time.monotonic() + pause >= self.deadline:
            raise TimeUp
        time.sleep(pause)

    def problem(self, text: str) -> NoReturn:
        self.recorder.problems.append(text)
        raise Broken


# --- the stack ----------------------------------------------------------------------------------------------------


def service_env(args, database_url: str, static_root: str) -> dict:
    """What gunicorn, the worker and the simulator share: production settings on loopback, our own databases."""
    return {
        **os.environ,
        **PRODUCTION_ENV,
        "DATABASE_URL": database_url,
        "STATIC_ROOT": static_root,
        "CELERY_BROKER_URL": args.broker_url,
        "REDIS_URL": args.redis_url,
        "CARRIER_API_URL": f"http://127.0.0.1:{args.sim_port}",
        "CARRIER_CALLBACK_BASE_URL": f"http://127.0.0.1:{args.port}",
        "CARRIER_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "METRICS_TOKEN": METRICS_TOKEN,
    }


METRICS_TOKEN = secrets.token_urlsafe(16)


def metrics_env(env: dict, on: bool) -> dict:
    """The environment with metrics on (a fresh PROMETHEUS_MULTIPROC_DIR, as deployed) or off (METRICS_ENABLED=0)."""
    env = {key: value for key, value in env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    if not on:
        return {**env, "METRICS_ENABLED": "0"}
    return {**env, "METRICS_ENABLED": "1", "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="th-load-metrics-")}


def start_stack(args, env: dict, stack, with_gunicorn: bool = True) -> subprocess.Popen | None:
    """gunicorn, the Celery worker and the carrier simulator, each stopped by `stack` (an ExitStack) at the end.
    Returns gunicorn's master process (the leader of its workers' process group)."""
    for port in (args.port, args.sim_port):
        if port_in_use(port):
            raise SystemExit(f"Port {port} is already in use: stop what listens there or choose another port.")
    worker_name = f"load-{os.getpid()}@{socket.gethostname()}"
    python = str(BIN / "python")
    stack.enter_context(
        background(
            "simulator", [python, "manage.py", "run_carrier_sim", "--port", str(args.sim_port)], env=env, logs=LOGS
        )
    )
    stack.enter_context(
        background(
            "worker",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "--loglevel=WARNING",
                "--concurrency=2",
                "-n",
                worker_name,
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            logs=LOGS,
        )
    )
    wait_started(
        "The carrier simulator",
        lambda: answers_ok(f"http://127.0.0.1:{args.sim_port}/control/stats"),
        LOGS / "simulator.log",
    )
    web = start_gunicorn(args, env, stack) if with_gunicorn else None
    wait_started("The Celery worker", lambda: worker_answers(worker_name), LOGS / "worker.log")
    return web


def start_gunicorn(args, env: dict, stack) -> subprocess.Popen:
    """gunicorn alone, answering /healthz; stopped by `stack` (an ExitStack, or a with block of its own)."""
    web = stack.enter_context(
        background(
            "gunicorn",
            [
                str(BIN / "gunicorn"),
                "portal.wsgi:application",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--worker-class",
                "gthread",
                "--keep-alive",
                "5",
                "--timeout",
                "30",
            ],
            env=env,
            logs=LOGS,
        )
    )

    wait_started("gunicorn", lambda: answers_ok(f"http://127.0.0.1:{args.port}/healthz"), LOGS / "gunicorn.log")
    return web


# --- running and reporting ----------------------------------------------------------------------------------------


def run_load(args, sites: list[Site], password: str, recorder: Recorder, gunicorn_pgid: int) -> tuple[list, dict]:
    """Sign everyone in (spread over --ramp seconds), then let them browse together for --seconds. Returns the
    administrators and how long each phase took, with the CPU gunicorn and the whole machine used while browsing."""
    go = threading.Event()
    admins = [Admin(n, site, password, args, recorder, go) for n, site in enumerate(sites[: args.users])]
    started = time.monotonic()
    for admin in admins:
        admin.start()
    for admin in admins:
        admin.signed_in.wait()
    signed_in = time.monotonic() - started
    recorder.phase = "browse"
    before = time.monotonic(), group_cpu_seconds(gunicorn_pgid), machine_cpu_ticks()
    go.set()
    for admin in admins:
        admin.join(timeout=args.seconds + 60)
    after = time.monotonic(), group_cpu_seconds(gunicorn_pgid), machine_cpu_ticks()
    browsed = after[0] - before[0]
    return admins, {
        "signed_in": signed_in,
        "browsed": browsed,
        "gunicorn_cpu": after[1] - before[1],
        "busy_browsing": busy_share(before[2], after[2]),
    }


def group_cpu_seconds(pgid: int) -> float:
    """CPU seconds used so far by the live processes of one process group (gunicorn's master and workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # fields from the 3rd (state) on
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, all cores, from /proc/stat: other work on a shared
    machine takes CPU from the portal and shows up in its latencies."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal, user + nice + system + idle + iowait + irq + softirq + steal


def busy_share(start: tuple[int, int], end: tuple[int, int]) -> float:
    return (end[0] - start[0]) / max(end[1] - start[1], 1)


def busy_without_us(seconds: float = 3.0) -> float:
    """How busy the machine is while this test's stack is idle: the other work its latencies compete with."""
    start = machine_cpu_ticks()
    time.sleep(seconds)
    return busy_share(start, machine_cpu_ticks())


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def print_table(samples: list[Sample]) -> None:
    by_endpoint = defaultdict(list)
    for sample in samples:
        by_endpoint[sample.endpoint].append(sample)
    print(f"  {'endpoint':<58} {'count':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'errors':>6}")
    for name, group in sorted(by_endpoint.items(), key=lambda item: item[0].split(" ", 1)[1]):
        ms = [s.seconds * 1000 for s in group]
        print(
            f"  {name:<58} {len(group):6d} {percentile(ms, 50):7.0f} {percentile(ms, 95):7.0f} {max(ms):7.0f} "
            f"{sum(s.failed for s in group):6d}"
        )


def drain_orders() -> dict:
    """Give the worker and the carrier a bounded while to finish the orders placed; the numbers' states then."""
    from provisioning.models import AuthorisationOrder, OrderLine

    wait_until(
        lambda: not AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES).exists(),
        timeout=DRAIN_SECONDS,
        interval=1.0,
    )
    return {
        "orders": AuthorisationOrder.objects.count(),
        "open": AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES).count(),
        "lines": Counter(OrderLine.objects.values_list("state", flat=True)),
    }


def report(args, admins: list[Admin], recorder: Recorder, timings: dict, orders: dict) -> int:
    samples = list(recorder.samples)
    signing_in = [s for s in samples if s.phase == "sign-in"]
    browsing = [s for s in samples if s.phase == "browse"]
    errors = sum(s.failed for s in samples) + len(recorder.problems)
    print(
        f"\nSign-in: {len(admins)} administrators through the login form, spread over {args.ramp:g} s, all signed "
        f"in after {timings['signed_in']:.1f} s (each password check is PBKDF2: slow by design; not in the target)"
    )
    print_table(signing_in)
    print(
        f"\nBrowsing: {len(admins)} administrators for {timings['browsed']:.1f} s, think time "
        f"{args.think * 0.5:g}-{args.think * 1.5:g} s (mean {args.think:g} s) before every request"
    )
    print_table(browsing)
    for text, count in Counter(recorder.problems).most_common():
        print(f"  problem x{count}: {text}")

    overall = percentile([s.seconds * 1000 for s in browsing], 95) if browsing else math.inf
    with_sign_in = percentile([s.seconds * 1000 for s in samples], 95) if samples else math.inf
    lines = orders["lines"]
    print("\nFigures:")
    print(
        f"  requests total      {len(samples):7d}  ({len(browsing)} browsing, "
        f"{len(browsing) / timings['browsed']:.1f}/s; {len(signing_in)} signing in)"
    )
    print(
        f"  errors              {errors:7d}  (status >= 400, any other answer than expected, a page without its "
        "heading, transport errors, broken journeys, exceptions; none expected)"
    )
    print(
        f"  overall p95         {overall:7.0f} ms browsing (target < {args.target_p95_ms:g} ms); "
        f"{with_sign_in:.0f} ms with the sign-ins"
    )
    states = ", ".join(f"{n} {state}" for state, n in sorted(lines.items())) or "none"
    placed = sum(a.orders_placed for a in admins)
    # Every order a user saw placed is in the database, none is still open after the drain, every number authorised.
    orders_done = placed > 0 and orders["orders"] == placed and orders["open"] == 0 and set(lines) == {"authorised"}
    print(
        f"  orders placed       {placed:7d}  ({orders['orders']} in the database, {orders['open']} still open, "
        f"{sum(lines.values())} numbers; by the worker and the carrier, at most {DRAIN_SECONDS} s later: {states}; "
        f"target: all completed, every number authorised)"
    )
    browsing_users = sum(a.browsed_to_the_end for a in admins)
    print(f"  users to the end    {browsing_users:7d}  of {len(admins)} browsed until the deadline (target: all)")
    print(
        f"  data set-up         {timings['migrate']:7.1f} s migrate, {timings['data']:.1f} s data "
        f"({args.orgs} organisations, {args.orgs * args.locations_per_org} locations, "
        f"{args.orgs * args.numbers_per_org:,} numbers, {args.orgs} administrators), "
        f"{timings['static']:.1f} s collectstatic"
    )
    print(
        f"  stack               gunicorn {args.workers} workers x {args.threads} threads (gthread, DEBUG off, "
        f"WhiteNoise), PostgreSQL, Redis, Celery worker (2 processes), carrier simulator"
    )
    cpu = timings["gunicorn_cpu"]
    print(
        f"  CPU while browsing  gunicorn {cpu / max(len(browsing), 1) * 1000:.0f} ms per request "
        f"({cpu / timings['browsed']:.2f} cores); the machine ({os.cpu_count()} cores) was "
        f"{timings['busy_browsing']:.0%} busy, and {timings['busy_before']:.0%} with this test idle (other work)"
    )
    print(f"  command             {shlex.join(sys.orig_argv)}")
    passed = errors == 0 and overall < args.target_p95_ms and orders_done and browsing_users == len(admins)
    print("RESULT: " + ("PASS" if passed else "FAIL"))
    return 0 if passed else 1


def compare_metrics(args, sites: list[Site], password: str, env: dict) -> int:
    """gunicorn's CPU time per browsing request with metrics on and off, --rounds rounds of each, alternated
    (on-off, off-on, ...) so that whatever else the machine does falls on both alike. A round: gunicorn started
    afresh with the setting, the administrators sign in and browse for --seconds, gunicorn stopped. With metrics on,
    /metrics is scraped at the end of each round and must count every browsing request the round made (the
    gunicorn workers' counts added up). Target: median overhead at most --target-overhead."""
    cpu = {"on": [], "off": []}
    errors = 0
    for round_number in range(args.rounds):
        for setting in ("on", "off") if round_number % 2 == 0 else ("off", "on"):
            with ExitStack() as round_stack:
                web = start_gunicorn(args, metrics_env(env, setting == "on"), round_stack)
                recorder = Recorder()
                admins, phases = run_load(args, sites, password, recorder, web.pid)
                browsing = [s for s in recorder.samples if s.phase == "browse"]
                failed = sum(s.failed for s in recorder.samples) + len(recorder.problems)
                errors += failed
                per_request = phases["gunicorn_cpu"] / max(len(browsing), 1)
                cpu[setting].append(per_request)
                counted = scraped_request_count(args) if setting == "on" else None
                line = (
                    f"  round {round_number + 1} metrics {setting:3s}: {len(browsing):5d} browsing requests, "
                    f"gunicorn {per_request * 1000:6.2f} ms CPU per request, {failed} errors, machine "
                    f"{phases['busy_browsing']:.0%} busy"
                )
                if counted is not None:
                    line += f"; /metrics counted {counted:.0f} requests"
                    if counted < len(recorder.samples):
                        errors += 1
                        line += f" (fewer than the {len(recorder.samples)} made: MISSED)"
                print(line, flush=True)

    def spread(values, scale=1000, unit="ms"):
        low, high = min(values) * scale, max(values) * scale
        return f"median {statistics.median(values) * scale:.2f} {unit} (min {low:.2f}, max {high:.2f})"

    cost = middleware_cost(metrics_env(env, True))
    overhead = statistics.median(cpu["on"]) / statistics.median(cpu["off"]) - 1
    pairs = [on / off - 1 for on, off in zip(cpu["on"], cpu["off"], strict=True)]
    print(f"\nMetrics on:  gunicorn CPU per browsing request {spread(cpu['on'])}")
    print(f"Metrics off: gunicorn CPU per browsing request {spread(cpu['off'])}")
    print(
        f"Overhead of the metrics: {overhead:+.1%} of the median (per round {min(pairs):+.1%} to {max(pairs):+.1%}); "
        f"target at most {args.target_overhead:.0%}; errors {errors}"
    )
    extra = statistics.median(cost["on"]) - statistics.median(cost["off"])
    print(
        f"The middleware alone (in-process, {MIDDLEWARE_CALLS:,} calls x 5 rounds each, alternated): metrics on "
        f"{spread(cost['on'], 1e6, 'us')}, off {spread(cost['off'], 1e6, 'us')} of CPU per call: metrics add "
        f"{extra * 1e6:.1f} us a request, {extra / statistics.median(cpu['off']):.2%} of gunicorn's CPU per request"
    )
    passed = overhead <= args.target_overhead and errors == 0
    print(f"  command             {shlex.join(sys.orig_argv)}")
    print("RESULT: " + ("PASS" if passed else "FAIL"))
    return 0 if passed else 1


MIDDLEWARE_CALLS = 20_000
MIDDLEWARE_COST = """
import json, time, django
django.setup()
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import resolve
from portal.observability import RequestObservabilityMiddleware

request = RequestFactory().get("/overview/")
request.resolver_match = resolve("/overview/")
response = HttpResponse("ok")
with override_settings(METRICS_ENABLED=True):
    on = RequestObservabilityMiddleware(lambda r: response)
with override_settings(METRICS_ENABLED=False):
    off = RequestObservabilityMiddleware(lambda r: response)
cpu = {"on": [], "off": []}
for round_number in range(5):
    for name, middleware in (("on", on), ("off", off))[:: 1 if round_number % 2 == 0 else -1]:
        start = time.process_time()
        for _ in range(CALLS):
            middleware(request)
        cpu[name].append((time.process_time() - start) / CALLS)
print(json.dumps(cpu))
"""


def middleware_cost(env: dict) -> dict:
    """CPU seconds per call of the request middleware with metrics on and off, measured in a process of its own
    with the deployed multiprocess setting (PROMETHEUS_MULTIPROC_DIR): what the metrics cost each request, resolved
    far finer than gunicorn's whole-process CPU on a busy machine can be."""
    result = subprocess.run(
        [str(BIN / "python"), "-c", MIDDLEWARE_COST.replace("CALLS", str(MIDDLEWARE_CALLS))],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def scraped_request_count(args) -> float:
    """Requests /metrics has counted (all views, all workers), read as the scraper does."""
    response = httpx.get(
        f"http://127.0.0.1:{args.port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, trust_env=False
    )
    response.raise_for_status()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in response.text.splitlines()
        if line.startswith("texting_hub_http_request_duration_seconds_count{")
    )


def main() -> int:
    args = parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    static_root = tempfile.mkdtemp(prefix="th-load-static-")
    os.environ.update(PRODUCTION_ENV, CELERY_BROKER_URL=args.broker_url, REDIS_URL=args.redis_url, LOG_LEVEL="WARNING")
    for url in (args.broker_url, args.redis_url):
        flush_redis_db(url)
    timings = {}
    print(
        f"Load test: {args.users} administrators, {args.seconds:g} s; building {args.orgs} organisations with "
        f"{args.orgs * args.numbers_per_org:,} numbers; logs in {LOGS.relative_to(ROOT)}/"
    )
    try:
        started = time.monotonic()
        with migrated_database(args.database_url, drop=not args.keep) as database_url, ExitStack() as stack:
            timings["migrate"] = time.monotonic() - started
            from tests.factories import PASSWORD

            started = time.monotonic()
            sites = build_sites(args.orgs, args.locations_per_org, args.numbers_per_org, PASSWORD)
            timings["data"] = time.monotonic() - started
            env = service_env(args, database_url, static_root)
            started = time.monotonic()
            subprocess.run(
                [str(BIN / "python"), "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
            )
            timings["static"] = time.monotonic() - started
            if args.metrics == "compare":
                start_stack(args, metrics_env(env, True), stack, with_gunicorn=False)
                return compare_metrics(args, sites, PASSWORD, env)
            web = start_stack(args, metrics_env(env, args.metrics == "on"), stack)
            timings["busy_before"] = busy_without_us()
            recorder = Recorder()
            admins, phases = run_load(args, sites, PASSWORD, recorder, web.pid)
            timings.update(phases)
            orders = drain_orders()
            return report(args, admins, recorder, timings, orders)
    finally:
        for url in (args.broker_url, args.redis_url):
            flush_redis_db(url)
        shutil.rmtree(static_root, ignore_errors=True)


if __name__ == "__main__":
    run_main(main)
