"""Operations: one request id per journey, structured logs, and the `/metrics` endpoint.

The request id. `RequestObservabilityMiddleware` (first in MIDDLEWARE) takes the id from the `X-Request-ID` header
(when it is a sane token: letters, digits and `._:-`, at most 64) or makes one, answers it in `X-Request-ID`, and
keeps it in a context variable for the request. Every Celery task published while it is set carries it in the
message headers (`before_task_publish`) and runs with it set again in the worker (`task_prerun`), so tasks that
enqueue further tasks pass it on; a task nobody's request enqueued (beat) gets an id of its own. The carrier client
sends it to the carrier as `X-Request-ID` (a hook installed in `PortalConfig.ready`: carrier/ imports none of our
apps). Every log line carries it (`RequestIdFilter`), so one id finds every line of one journey, from the POST
through the worker to the carrier's log.

Logs: readable text by default; JSON lines (one object a line: time, level, logger, message, request_id, task,
exception) with LOG_FORMAT=json, for a log shipper.
"""

import contextvars
import hmac
import ipaddress
import json
import logging
import re
import time
import traceback
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Min, Q, Sum
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import metrics

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_task: contextvars.ContextVar[str] = contextvars.ContextVar("task", default="")


def current_request_id() -> str:
    """The id of the request or task this code runs for ("" outside both)."""
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str:
    """The caller's id when it is a sane token (it goes into every log line, so nothing that could forge one), else
    a new one."""
    return value if value and _VALID_REQUEST_ID.match(value) else new_request_id()


class RequestObservabilityMiddleware:
    """First in MIDDLEWARE: the request id (see the module), and the request's latency by view for Prometheus."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.measure = settings.METRICS_ENABLED

    def __call__(self, request):
        request_id = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if self.measure:
                view, method = _view_label(request), metrics.method_label(request.method)
                metrics.http_request_duration.labels(view, method, metrics.status_class(response.status_code)).observe(
                    time.perf_counter() - started
                )
            return response
        finally:
            _request_id.reset(token)


def _view_label(request) -> str:
    """The URL name (`provisioning:order`): one series per view, never per URL (ids would mint endless series)."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "<unnamed>"
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return "<static>"
    return "<unmatched>"


# --- logs -------------------------------------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts `request_id` and `task` on every record a handler writes ("-" outside a request or task); a record that
    brought its own (`extra={"request_id": ...}`: the carrier simulator names the id it received) keeps it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        if not getattr(record, "task", None):
            record.task = _task.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601 with milliseconds), level, logger, message, request_id, task,
    and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "task": getattr(record, "task", "-"),
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s%(task_suffix)s] %(message)s"


class TextFormatter(logging.Formatter):
    """Readable lines: `2026-11-27 20:01:02,345 INFO provisioning.tasks [3f2a… task:submit_authorisation_order] …`."""

    def __init__(self):
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        task = getattr(record, "task", "-")
        record.task_suffix = f" task:{task.rsplit('.', 1)[-1]}" if task and task != "-" else ""
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return super().format(record)


# --- Celery: the request id across the queue, and task metrics --------------------------------------------------------


def connect_celery_signals() -> None:
    """Connect once (portal/celery.py calls it): every task, whatever its base class."""
    from celery import signals

    signals.before_task_publish.connect(_put_request_id_in_headers, weak=False, dispatch_uid="th-request-id-publish")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="th-request-id-prerun")
    signals.task_postrun.connect(_task_ended, weak=False, dispatch_uid="th-request-id-postrun")
    signals.task_retry.connect(_task_retried, weak=False, dispatch_uid="th-task-retry")
    signals.task_failure.connect(_task_failed, weak=False, dispatch_uid="th-task-failure")
    # The worker keeps the portal's logging (LOGGING, LOG_FORMAT) instead of replacing the root logger's handlers.
    signals.setup_logging.connect(_configure_worker_logging, weak=False, dispatch_uid="th-worker-logging")


def _put_request_id_in_headers(sender=None, headers=None, **kwargs):
    request_id = _request_id.get()
    if request_id and headers is not None and "request_id" not in headers:
        headers["request_id"] = request_id


_task_tokens: dict[str, tuple] = {}


def _task_started(task_id=None, task=None, **kwargs):
    request = task.request
    carried = getattr(request, "request_id", None) or (getattr(request, "headers", None) or {}).get("request_id")
    request_id = carried or _request_id.get() or new_request_id()
    # Run in-process (eagerly) inside a request, the id is already set and stays.
    _task_tokens[task_id] = (_request_id.set(accepted_request_id(request_id)), _task.set(task.name))


def _task_ended(task_id=None, task=None, state=None, **kwargs):
    if settings.METRICS_ENABLED and task is not None:
        metrics.task_runs.labels(task.name, state or "UNKNOWN").inc()
    tokens = _task_tokens.pop(task_id, None)
    if tokens:
        _request_id.reset(tokens[0])
        _task.reset(tokens[1])


def _task_retried(sender=None, **kwargs):
    if settings.METRICS_ENABLED and sender is not None:
        metrics.task_retries.labels(sender.name).inc()


def _task_failed(sender=None, **kwargs):
    if settings.METRICS_ENABLED and sender is not None:
        metrics.task_failures.labels(sender.name, "error").inc()


def task_gave_up(task_name: str) -> None:
    """A carrier task's last retry failed and it gave up cleanly (portal.tasks.CarrierTask)."""
    if settings.METRICS_ENABLED:
        metrics.task_failures.labels(task_name, "gave_up").inc()


def _configure_worker_logging(**kwargs):
    import logging.config

    logging.config.dictConfig(settings.LOGGING)


# --- the carrier client's hooks ---------------------------------------------------------------------------------------


def carrier_request_headers() -> dict[str, str]:
    request_id = _request_id.get()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


def observe_carrier_call(endpoint: str, outcome: str, seconds: float) -> None:
    if settings.METRICS_ENABLED:
        metrics.carrier_requests.labels(endpoint, outcome).inc()
        metrics.carrier_request_duration.labels(endpoint).observe(seconds)


def install_carrier_hooks() -> None:
    from carrier import client

    client.add_request_headers(carrier_request_headers)
    client.observe_calls(observe_carrier_call)


# --- state read at scrape time ----------------------------------------------------------------------------------------


class StateCollector:
    """Gauges (and the purge's counters) read from the database and the broker when Prometheus scrapes: a handful of
    aggregate queries. A database or broker that does not answer is reported as `..._up 0`, never as a failed
    scrape, so the alert says which is down."""

    def collect(self):
        up = GaugeMetricFamily(f"{metrics.PREFIX}_database_up", "1 when the database answered the last scrape.")
        try:
            families = list(_database_families())
            up.add_metric([], 1)
        except DatabaseError as exc:
            log.warning("Metrics: the database did not answer: %s", exc)
            families = []
            up.add_metric([], 0)
        yield up
        yield from families
        yield from _replica_families()
        yield from _queue_families()


def _database_families():
    from compliance.queries import state_counts
    from provisioning.models import AuthorisationOrder, OrderLine
    from texting.models import PurgeRun

    now = timezone.now()
    prefix = metrics.PREFIX

    orders = GaugeMetricFamily(f"{prefix}_authorisation_orders", "Authorisation orders by status.", labels=["status"])
    counts = dict.fromkeys(AuthorisationOrder.Status.values, 0)
    for row in AuthorisationOrder.objects.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    for status, n in counts.items():
        orders.add_metric([status], n)
    yield orders

    deadline = now - settings.AUTHORISATION_ORDER_DEADLINE
    open_orders = AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES).aggregate(
        overdue=Count("id", filter=Q(created__lt=deadline)), oldest=Min("created")
    )
    overdue = GaugeMetricFamily(
        f"{prefix}_authorisation_orders_overdue",
        f"Open authorisation orders placed more than {settings.AUTHORISATION_ORDER_DEADLINE} ago "
        "(AUTHORISATION_ORDER_DEADLINE_MINUTES).",
    )
    overdue.add_metric([], open_orders["overdue"])
    yield overdue
    oldest = GaugeMetricFamily(
        f"{prefix}_authorisation_order_oldest_open_age_seconds", "Age of the oldest open order (0: none open)."
    )
    oldest.add_metric([], (now - open_orders["oldest"]).total_seconds() if open_orders["oldest"] else 0)
    yield oldest

    lines = GaugeMetricFamily(
        f"{prefix}_authorisation_order_lines", "Order lines (numbers) by state.", labels=["state"]
    )
    counts = dict.fromkeys(OrderLine.State.values, 0)
    for row in OrderLine.objects.order_by().values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    for state, n in counts.items():
        lines.add_metric([state], n)
    yield lines

    cases = state_counts()
    by_state = GaugeMetricFamily(f"{prefix}_registration_cases", "10DLC registration cases by state.", labels=["state"])
    for state, n in cases.items():
        if state not in ("open", "overdue"):
            by_state.add_metric([state], n)
    yield by_state
    case_overdue = GaugeMetricFamily(
        f"{prefix}_registration_cases_overdue", "Open 10DLC registration cases older than four weeks."
    )
    case_overdue.add_metric([], cases["overdue"])
    yield case_overdue

    yield from _purge_families(PurgeRun, now)

    from texting.partitions import days_ahead

    ahead = days_ahead(now)
    if ahead is not None:  # no sample where the texts table is not partitioned (SQLite)
        partitions_ahead = GaugeMetricFamily(
            f"{prefix}_text_partitions_days_ahead",
            "How many days past today (UTC) the texts table's day partitions reach (-1: not even today's); texts of "
            "a day without one go to the default partition (PostgreSQL).",
        )
        partitions_ahead.add_metric([], ahead)
        yield partitions_ahead


def _purge_families(PurgeRun, now):
    """The purge's runs from its own records (texting.models.PurgeRun; dry runs left out): counters by outcome, rows
    deleted and kept by legal holds, duration; and the times of the last run and the last success."""
    prefix = metrics.PREFIX
    runs = PurgeRun.objects.filter(dry_run=False).order_by()
    # Rows kept by legal holds: read from PurgeRun.kept_by_holds once that field exists (legal holds are being built
    # separately); until then 0.
    has_holds = any(field.name == "kept_by_holds" for field in PurgeRun._meta.get_fields())
    totals = runs.aggregate(deleted=Sum("rows_deleted"), **({"kept": Sum("kept_by_holds")} if has_holds else {}))
    by_outcome = CounterMetricFamily(f"{prefix}_purge_runs", "Retention purge runs by outcome.", labels=["outcome"])
    counts = dict.fromkeys(PurgeRun.Outcome.values, 0)
    for row in runs.values("outcome").annotate(n=Count("id")):
        counts[row["outcome"]] = row["n"]
    for outcome, n in counts.items():
        by_outcome.add_metric([outcome], n)
    yield by_outcome
    deleted = CounterMetricFamily(f"{prefix}_purge_rows_deleted", "Texts deleted by the retention purge.")
    deleted.add_metric([], totals["deleted"] or 0)
    yield deleted
    kept = CounterMetricFamily(
        f"{prefix}_purge_rows_kept_by_holds", "Expired texts the purge kept because a legal hold covers them."
    )
    kept.add_metric([], totals.get("kept") or 0)
    yield kept

    finished = list(runs.filter(finished__isnull=False).values_list("started", "finished"))
    durations_sum = sum((end - start).total_seconds() for start, end in finished)
    duration = GaugeMetricFamily(
        f"{prefix}_purge_last_run_duration_seconds", "How long the last finished purge run took."
    )
    last = runs.filter(finished__isnull=False).order_by("-started", "-id").first()
    duration.add_metric([], (last.finished - last.started).total_seconds() if last else 0)
    yield duration
    total_duration = CounterMetricFamily(
        f"{prefix}_purge_duration_seconds", "Time spent in finished purge runs, all together."
    )
    total_duration.add_metric([], durations_sum)
    yield total_duration

    last_run = runs.order_by("-started", "-id").first()
    last_outcome = GaugeMetricFamily(
        f"{prefix}_purge_last_run_outcome", "1 for the outcome of the latest purge run.", labels=["outcome"]
    )
    for outcome in PurgeRun.Outcome.values:
        last_outcome.add_metric([outcome], 1 if last_run and last_run.outcome == outcome else 0)
    yield last_outcome
    success = runs.filter(outcome__in=[PurgeRun.Outcome.COMPLETED, PurgeRun.Outcome.STOPPED]).aggregate(
        at=Max("finished")
    )["at"]
    last_success = GaugeMetricFamily(
        f"{prefix}_purge_last_success_timestamp_seconds",
        "When the last purge run that completed (or stopped at its batch limit) finished, Unix time (0: never).",
    )
    last_success.add_metric([], success.timestamp() if success else 0)
    yield last_success
    running = runs.filter(outcome=PurgeRun.Outcome.RUNNING).aggregate(started=Min("started"))["started"]
    running_age = GaugeMetricFamily(
        f"{prefix}_purge_running_age_seconds", "How long the purge run under way has been running (0: none)."
    )
    running_age.add_metric([], (now - running).total_seconds() if running else 0)
    yield running_age


def _replica_families():
    """The read replica, when one is configured (portal/replica.py): whether it answered, and how far behind it is
    (no sample while that cannot be measured: not a standby)."""
    from .replica import replica_configured, replica_status

    if not replica_configured():
        return
    status = replica_status()
    up = GaugeMetricFamily(f"{metrics.PREFIX}_database_replica_up", "1 when the read replica answered the last scrape.")
    up.add_metric([], 1 if status.reachable else 0)
    yield up
    lag = GaugeMetricFamily(
        f"{metrics.PREFIX}_database_replica_lag_seconds",
        "How far the read replica is behind the primary (0: it has replayed all it received).",
    )
    if status.lag_seconds is not None:
        lag.add_metric([], status.lag_seconds)
    yield lag


def _queue_families():
    """Messages waiting in each Celery queue on the Redis broker (kombu keeps a queue as a list, one per priority)."""
    queue = GaugeMetricFamily(
        f"{metrics.PREFIX}_celery_queue_length", "Messages waiting in a Celery queue on the broker.", labels=["queue"]
    )
    up = GaugeMetricFamily(f"{metrics.PREFIX}_broker_up", "1 when the broker answered the last scrape.")
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis"):  # tasks run in-process: no queue (the families stay, empty)
        yield up
        yield queue
        return
    import redis

    from .celery import app

    names = [queue.name for queue in app.conf.task_queues]  # one per kind of work (settings.CELERY_TASK_QUEUES)
    try:
        client = redis.Redis.from_url(broker, socket_connect_timeout=1, socket_timeout=1)
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                for suffix in ("", "\x06\x163", "\x06\x166", "\x06\x169"):
                    pipe.llen(name + suffix)
            lengths = pipe.execute()
        for index, name in enumerate(names):
            queue.add_metric([name], sum(lengths[index * 4 : index * 4 + 4]))
        up.add_metric([], 1)
    except redis.RedisError as exc:
        log.warning("Metrics: the broker did not answer: %s", exc)
        up.add_metric([], 0)
        yield up
        return
    yield up
    yield queue


def server_error(request, *args, **kwargs):
    """The 500 page (handler500), with the request id as a reference the user can give support: it finds the
    request's log lines, the traceback among them. Static otherwise: no context processor, no database."""
    html = render_to_string("500.html", {"request_id": getattr(request, "request_id", "")})
    return HttpResponse(html, status=500, content_type="text/html; charset=utf-8")


# --- /metrics ---------------------------------------------------------------------------------------------------------


def scraper_allowed(request) -> bool:
    """The configured scraper only: `Authorization: Bearer <METRICS_TOKEN>`, or a connection from one of
    METRICS_ALLOWED_ADDRESSES (addresses or networks; the socket's own address, never a forwarded header)."""
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_ADDRESSES)


def metrics_view(request):
    if not settings.METRICS_ENABLED:
        return HttpResponse("Metrics are switched off (METRICS_ENABLED=0).\n", status=404, content_type="text/plain")
    if not scraper_allowed(request):
        return HttpResponse(
            "Metrics are served to the configured scraper only (METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES).\n",
            status=403,
            content_type="text/plain",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def exposition(multiprocess_dir: str | None = None) -> bytes:
    """Every metric in Prometheus' text format: the events of every process (added up from PROMETHEUS_MULTIPROC_DIR
    when set, else this process's), and the state read now."""
    directory = multiprocess_dir if multiprocess_dir is not None else metrics.MULTIPROCESS_DIR
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    state = CollectorRegistry()
    state.register(StateCollector())
    return output + generate_latest(state)
