"""Every Prometheus metric of the portal, defined here and nowhere else (README "Operating" says what each means).

Two kinds:
- Events (requests, carrier calls, task retries and failures, texts sent/received/blocked) are counters and
  histograms incremented where they happen, in whichever process does the work: a gunicorn worker, a Celery child.
- States (orders and order lines by state, registration cases by state and overdue, purge runs, queue lengths) are
  read at scrape time from the database and the broker by `portal.observability.StateCollector`: cheap aggregate
  queries, always right after a restart, never drifting from what the pages show.

Several processes (gunicorn workers, Celery's prefork children) each count their own events. With
PROMETHEUS_MULTIPROC_DIR set (a directory every process of the host can write, emptied when the service starts),
prometheus-client writes each process's values to memory-mapped files there and `/metrics` adds them up. The files
are named after the host name and the process id, not the process id alone, so containers sharing the directory
(whose process ids repeat: every container has a pid 7) never write into each other's files.

This module imports no Django code: metrics can be incremented from anywhere, settings or not.
"""

import os
import socket

from prometheus_client import Counter, Histogram, disable_created_metrics, values

PREFIX = "texting_hub"
# No `_created` series beside every counter: nothing here reads them, and each is one more series per label set.
disable_created_metrics()
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")

if MULTIPROCESS_DIR:
    os.makedirs(MULTIPROCESS_DIR, exist_ok=True)
    _HOST = socket.gethostname().replace("_", "-")
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: f"{_HOST}-{os.getpid()}")


# Request latency: from the first middleware in to the last one out. Buckets from 5 ms (a static file) to 10 s
# (beyond any page's budget).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_request_duration = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer a request, by view (URL name), method and status class.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)

# The carrier: every call by endpoint (method and path template) and outcome, and how long it took.
CARRIER_OUTCOMES = ("ok", "rejected", "unavailable", "timeout", "unreachable", "unreadable")
carrier_requests = Counter(
    f"{PREFIX}_carrier_requests",
    "Calls to the carrier by endpoint and outcome (ok, rejected: a 4xx refusal; unavailable: 5xx or 429; timeout; "
    "unreachable: no connection; unreadable: an answer we could not parse).",
    ["endpoint", "outcome"],
)
carrier_request_duration = Histogram(
    f"{PREFIX}_carrier_request_duration_seconds",
    "Time a carrier call took, by endpoint, whatever its outcome.",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Celery tasks (every task, through signals in portal.observability).
task_runs = Counter(
    f"{PREFIX}_task_runs", "Task runs that ended, by task and state (SUCCESS, RETRY, FAILURE).", ["task", "state"]
)
task_retries = Counter(f"{PREFIX}_task_retries", "Task retries scheduled, by task.", ["task"])
task_failures = Counter(
    f"{PREFIX}_task_failures",
    "Tasks that failed, by task and kind: error (raised out of the task) or gave_up (a carrier task's last retry "
    "failed and it left its order, case or text failed with the reason).",
    ["task", "kind"],
)

# Business texts.
texts_sent = Counter(f"{PREFIX}_texts_sent", "Business texts the carrier took from us.")
texts_received = Counter(f"{PREFIX}_texts_received", "Business texts received from the carrier and stored.")
texts_blocked = Counter(
    f"{PREFIX}_texts_blocked",
    "Business texts blocked, by direction and reason (the policy rule an outbound text broke, or why an inbound "
    "one was refused).",
    ["direction", "reason"],
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """A method as a label: anything unusual is "other", so a client cannot mint new series."""
    return method if method in KNOWN_METHODS else "other"
