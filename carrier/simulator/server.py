"""The simulated carrier's HTTP side: routes, API key, Idempotency-Key, injected faults, signed callbacks.

Standard library only (http.server, urllib), so it runs anywhere the portal does.
"""

import copy
import hmac
import ipaddress
import json
import logging
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ..webhooks import SIGNATURE_HEADER, sign_webhook_body
from .registry import BRANDS, CAMPAIGNS, KINDS, MESSAGES, ORDERS, VETTINGS, Record, Registry
from .rules import ApiError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
CALLBACK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Faults:
    """What the simulator does besides answering correctly. Rates are shares of API requests, from 0 to 1."""

    error_rate: float = 0.0  # answer 503 before doing anything
    timeout_rate: float = 0.0  # do the work, then answer only after timeout_seconds
    timeout_seconds: float = 10.0  # longer than the portal's default client timeout (CARRIER_TIMEOUT_SECONDS=5)
    delay_seconds: float = 2.0  # how long new objects stay pending
    carrier_delay_seconds: float = 2.0  # how long after the registry each operator decides an accepted campaign
    duplicate_callbacks: bool = False  # send every callback twice
    # Treat a repeated Idempotency-Key as new, as a carrier does once it has lost its keys (a restart, keys expired):
    # a client that resends a write blind then creates a second object.
    forget_idempotency_keys: bool = False
    # Numbers ending 9999 fail to join campaigns (rules.assignment_outcome); false: the customer released them at the
    # other provider, so a retried assignment succeeds.
    assignment_failures: bool = True
    seed: int | None = None  # makes which requests fail repeatable

    def changed(self, **changes) -> "Faults":
        """A copy with `changes` applied, or ValueError saying what is wrong (unknown name, rate out of range...)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"Unknown fault setting(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        for name, value in changes.items():
            if isinstance(getattr(self, name), bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false.")
            elif name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer or null.")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number.")
            elif name.endswith("_rate") and not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1.")
            elif value < 0:
                raise ValueError(f"{name} cannot be negative.")
        return replace(self, **changes)


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict
    hold_seconds: float = 0.0  # keep the client waiting this long first (an injected timeout)


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # "/v1/brands/{id}"; "<method> <template>" is the key stats()["requests"] counts under
    action: str  # the Registry method (or, for control routes, the CarrierSimulator method) that answers
    status: int = 200
    control: bool = False
    kind: str = ""  # the registry kind whose references this route creates or looks up (counted per reference)

    @property
    def label(self) -> str:
        return f"{self.method} {self.template}"


ROUTES = (
    Route("POST", "/v1/number-orders", "create_number_order", status=202, kind=ORDERS),
    Route("GET", "/v1/number-orders", "list_number_orders", kind=ORDERS),
    Route("GET", "/v1/number-orders/{id}", "get_number_order"),
    Route("POST", "/v1/brands", "create_brand", status=202, kind=BRANDS),
    Route("GET", "/v1/brands", "list_brands", kind=BRANDS),
    Route("GET", "/v1/brands/{id}", "get_brand"),
    Route("POST", "/v1/campaigns", "create_campaign", status=202, kind=CAMPAIGNS),
    Route("POST", "/v1/campaigns/{id}/resubmit", "resubmit_campaign", status=202, kind=CAMPAIGNS),
    Route("GET", "/v1/campaigns", "list_campaigns", kind=CAMPAIGNS),
    Route("GET", "/v1/campaigns/{id}", "get_campaign"),
    Route("POST", "/v1/campaigns/{id}/numbers", "assign_campaign_numbers"),
    Route("POST", "/v1/brands/{id}/vettings", "create_vetting", status=202, kind=VETTINGS),
    Route("GET", "/v1/vettings", "list_vettings", kind=VETTINGS),
    Route("GET", "/v1/vettings/{id}", "get_vetting"),
    Route("GET", "/v1/campaigns/{id}/numbers", "list_campaign_numbers"),
    Route("POST", "/v1/campaigns/{id}/numbers/remove", "remove_campaign_numbers"),
    Route("POST", "/v1/messages", "create_message", status=202, kind=MESSAGES),
    Route("GET", "/v1/messages/{id}", "get_message"),
    Route("GET", "/control/faults", "_control_faults", control=True),
    Route("POST", "/control/faults", "_control_set_faults", control=True),
    Route("GET", "/control/stats", "_control_stats", control=True),
    Route("POST", "/control/reset", "_control_reset", control=True),
    Route("POST", "/control/decide", "_control_decide", control=True),
    Route("POST", "/control/campaigns/{id}/suspend", "_control_suspend", control=True),
    Route("POST", "/control/campaigns/{id}/resume", "_control_resume", control=True),
    Route("POST", "/control/campaigns/{id}/expire", "_control_expire", control=True),
)
_ROUTE_PATTERNS = tuple(
    (route, re.compile("^" + route.template.replace("{id}", "(?P<id>[^/]+)") + "$")) for route in ROUTES
)


@dataclass
class _Counters:
    requests: Counter = field(default_factory=Counter)
    idempotent_replays: int = 0
    injected_errors: int = 0
    injected_timeouts: int = 0
    callbacks_sent: int = 0
    callbacks_failed: int = 0
    # kind -> reference -> {"created", "replayed", "lookups"}: what the carrier received for each reference
    by_reference: dict = field(default_factory=lambda: {kind: {} for kind in KINDS})

    def count(self, kind: str, reference, what: str) -> None:
        if kind and isinstance(reference, str):
            counts = self.by_reference[kind].setdefault(reference, {"created": 0, "replayed": 0, "lookups": 0})
            counts[what] += 1


class CarrierSimulator:
    """The simulated carrier: an HTTP server, started and stopped in-process, around an in-memory `Registry`.

    `CarrierSimulator(api_key=..., webhook_secret=..., delay_seconds=0, ...).start()`, then point the client at
    `.url`. Tests use `set_faults(**changes)`, `faults()`, `stats()`, `decide_pending()` and `reset()`; the same
    are served on `/control/...` for a simulator in another process. One lock guards all state, so concurrent
    requests see a consistent carrier.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sim-key",
        webhook_secret: str = "sim-webhook-secret",
        **faults,
    ):
        self.host = host
        self.port = port
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self._initial_faults = Faults().changed(**faults)
        self._lock = threading.Condition()  # also wakes the callback thread when there is new work
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._clear()

    # --- lifecycle ------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL for clients, with the real port once started (even when port 0 was asked for)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "CarrierSimulator":
        """Listen and serve in background threads; returns at once, ready for requests."""
        server_class = _IPv6Server if ":" in self.host else ThreadingHTTPServer
        self._server = server_class((self.host, self.port), _RequestHandler)
        self._server.simulator = self
        self.port = self._server.server_address[1]
        self._stopping.clear()
        self._threads = [
            # A short poll interval makes stop() quick (shutdown() waits for the serving loop to notice).
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="carrier-sim-http", daemon=True
            ),
            threading.Thread(target=self._send_callbacks_forever, name="carrier-sim-callbacks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.debug("Carrier simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving. Requests held by an injected timeout are dropped unanswered; callbacks not yet due are
        never sent."""
        if self._server is None:
            return
        self._stopping.set()
        with self._lock:
            self._lock.notify_all()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=CALLBACK_TIMEOUT_SECONDS + 1)
        self._server = None

    def __enter__(self) -> "CarrierSimulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # --- controls (for tests in-process, and over HTTP on /control/...) -------------------------------------------

    def set_faults(self, **changes) -> dict:
        """Change some fault settings (the fields of `Faults`) and keep the rest; returns them all. Raises
        ValueError for an unknown name or a value out of range. A new delay applies to objects created after."""
        with self._lock:
            self._faults = self._faults.changed(**changes)
            self._registry.delay_seconds = self._faults.delay_seconds
            self._registry.carrier_delay_seconds = self._faults.carrier_delay_seconds
            self._registry.assignment_failures = self._faults.assignment_failures
            if "seed" in changes:
                self._random = random.Random(self._faults.seed)
            return asdict(self._faults)

    def faults(self) -> dict:
        with self._lock:
            return asdict(self._faults)

    def stats(self) -> dict:
        """Counters since the start or the last reset.

        `requests` per route ("POST /v1/brands": 2), `writes_created` per kind (orders, brands, campaigns,
        messages), `idempotent_replays`, `duplicate_submissions` (objects created for a reference already used:
        0 when the portal reconciles before retrying), `injected_errors`, `injected_timeouts`, `callbacks_sent`
        (answered 2xx) and `callbacks_failed`.

        What each reference received, for a client that must send each write once: `by_reference` maps a kind to
        `{reference: {"created", "replayed", "lookups"}}` (objects the registry created for it, POSTs answered from
        the idempotency keys instead, `GET ?reference=` lookups the carrier answered), and `resubmissions` counts
        the POSTs for a reference the carrier already held (each replay and each duplicate), which a client that
        looks a write up before resending never makes, whether or not the carrier remembers its keys.
        """
        with self._lock:
            counters = self._counters
            by_reference = copy.deepcopy(counters.by_reference)
            return {
                "requests": dict(counters.requests),
                "writes_created": dict(self._registry.writes_created),
                "campaigns_resubmitted": self._registry.campaigns_resubmitted,
                "idempotent_replays": counters.idempotent_replays,
                "duplicate_submissions": self._registry.duplicate_submissions,
                "by_reference": by_reference,
                "resubmissions": sum(
                    counts["replayed"] + max(counts["created"] - 1, 0)
                    for references in by_reference.values()
                    for counts in references.values()
                ),
                "injected_errors": counters.injected_errors,
                "injected_timeouts": counters.injected_timeouts,
                "callbacks_sent": counters.callbacks_sent,
                "callbacks_failed": counters.callbacks_failed,
            }

    def decide_pending(self) -> int:
        """Decide every pending object now, whatever the delay (their callbacks follow); returns how many."""
        with self._lock:
            decided = self._registry.decide_now(time.monotonic())
            self._lock.notify_all()
            return decided

    def suspend_campaign(self, campaign_id: str, *, reason: str, carrier: str = "") -> dict:
        """An operator (`carrier`: ATT, TMOBILE, VERIZON, USCELLULAR), or the registry when none is named,
        suspends an accepted campaign; the portal is called back. Raises ApiError for a bad request."""
        return self._campaign_event(campaign_id, "suspend", {"carrier": carrier, "reason": reason})

    def resume_campaign(self, campaign_id: str, *, carrier: str = "") -> dict:
        """Lift a suspension (an operator's, or the registry's when none is named); the portal is called back."""
        return self._campaign_event(campaign_id, "resume", {"carrier": carrier})

    def expire_campaign(self, campaign_id: str, *, reason: str | None = None) -> dict:
        """The registry expires the campaign (not renewed); the portal is called back."""
        return self._campaign_event(campaign_id, "expire", {"reason": reason})

    def _campaign_event(self, campaign_id: str, event: str, body: dict) -> dict:
        with self._lock:
            view = self._registry.campaign_event(campaign_id, event, body)
            self._lock.notify_all()  # the callback is due now
            return view

    def reset(self) -> None:
        """Forget every object, idempotency key, pending callback and counter; back to the faults given at start."""
        with self._lock:
            self._clear()
            self._lock.notify_all()

    def _clear(self) -> None:
        self._faults = self._initial_faults
        self._random = random.Random(self._faults.seed)
        self._registry = Registry(
            delay_seconds=self._faults.delay_seconds, carrier_delay_seconds=self._faults.carrier_delay_seconds
        )
        self._registry.assignment_failures = self._faults.assignment_failures
        # (path, Idempotency-Key) -> (the request's body, the reply it got)
        self._idempotency: dict[tuple[str, str], tuple[dict, Reply]] = {}
        self._counters = _Counters()

    def _control_faults(self, _) -> Reply:
        return Reply(200, self.faults())

    def _control_set_faults(self, body: dict) -> Reply:
        try:
            return Reply(200, self.set_faults(**body))
        except ValueError as error:
            raise ApiError(400, str(error)) from error

    def _control_stats(self, _) -> Reply:
        return Reply(200, self.stats())

    def _control_decide(self, _) -> Reply:
        return Reply(200, {"decided": self.decide_pending()})

    def _control_suspend(self, body: dict, campaign_id: str) -> Reply:
        return Reply(200, self._campaign_event(campaign_id, "suspend", body))

    def _control_resume(self, body: dict, campaign_id: str) -> Reply:
        return Reply(200, self._campaign_event(campaign_id, "resume", body))

    def _control_expire(self, body: dict, campaign_id: str) -> Reply:
        return Reply(200, self._campaign_event(campaign_id, "expire", body))

    def _control_reset(self, _) -> Reply:
        self.reset()
        return Reply(200, {"reset": True})

    # --- requests -------------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers, raw_body: bytes, client_host: str) -> Reply:
        """Answer one HTTP request (all but the socket work, which `_RequestHandler` does)."""
        url = urlsplit(target)
        try:
            route, object_id = _match_route(method, url.path)
            if route.control:
                if not _is_loopback(client_host):
                    raise ApiError(403, "The control endpoints answer on the loopback interface only.")
                body = _json_object(raw_body) if method == "POST" else {}
                control = getattr(self, route.action)
                return control(body) if object_id is None else control(body, object_id)
            return self._handle_api(route, object_id, url.path, parse_qs(url.query), headers, raw_body)
        except ApiError as error:
            return Reply(error.status, {"error": error.message})

    def _handle_api(
        self, route: Route, object_id: str | None, path: str, query: dict, headers, raw_body: bytes
    ) -> Reply:
        with self._lock:
            self._counters.requests[route.label] += 1
        if not hmac.compare_digest(headers.get("Authorization", "").encode(), f"Bearer {self.api_key}".encode()):
            raise ApiError(401, "Missing or invalid API key: send 'Authorization: Bearer <key>'.")
        with self._lock:
            if self._random.random() < self._faults.error_rate:
                self._counters.injected_errors += 1
                return Reply(503, {"error": "The carrier is temporarily unavailable (injected fault). Try again."})
            times_out = self._random.random() < self._faults.timeout_rate
            if times_out:
                self._counters.injected_timeouts += 1
            hold = self._faults.timeout_seconds if times_out else 0.0
        try:
            if route.method == "POST":
                reply = self._write(route, object_id, path, headers, raw_body)
            else:
                with self._lock:
                    reply = Reply(route.status, getattr(self._registry, route.action)(object_id, query))
                    self._counters.count(route.kind, query.get("reference", [None])[0], "lookups")
        except ApiError as error:
            reply = Reply(error.status, {"error": error.message})
        # The work is done; an injected timeout only answers too late for the client to learn about it.
        return replace(reply, hold_seconds=hold)

    def _write(self, route: Route, object_id: str | None, path: str, headers, raw_body: bytes) -> Reply:
        """Apply a POST once per (path, Idempotency-Key): a repeat with the same body gets the first reply again and
        changes nothing; with another body it is refused (422). Refusals are not remembered, so a corrected request
        may reuse its key. With `forget_idempotency_keys` every POST is applied as new."""
        key = headers.get("Idempotency-Key", "").strip()
        if not key:
            raise ApiError(400, "The Idempotency-Key header is required on every POST.")
        body = _json_object(raw_body)
        reference = body.get("reference")
        with self._lock:
            remembered = None if self._faults.forget_idempotency_keys else self._idempotency.get((path, key))
            if remembered is not None:
                first_body, first_reply = remembered
                if first_body != body:
                    raise ApiError(422, f"Idempotency-Key {key!r} was already used for a different request.")
                self._counters.idempotent_replays += 1
                self._counters.count(route.kind, reference, "replayed")
                return replace(first_reply, body=copy.deepcopy(first_reply.body))
            reply = Reply(route.status, getattr(self._registry, route.action)(object_id, body))
            self._counters.count(route.kind, reference, "created")
            if not self._faults.forget_idempotency_keys:
                self._idempotency[(path, key)] = (body, replace(reply, body=copy.deepcopy(reply.body)))
            self._lock.notify_all()  # the callback thread recomputes when the next callback is due
            return reply

    # --- callbacks ------------------------------------------------------------------------------------------------

    def _send_callbacks_forever(self) -> None:
        """The callback thread: POST each object's callback once its outcome shows (twice with
        `duplicate_callbacks`), until stop()."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through an environment proxy
        while (deliveries := self._wait_for_due_callbacks()) is not None:
            for url, raw_body in deliveries:
                self._deliver(opener, url, raw_body)

    def _wait_for_due_callbacks(self) -> list[tuple[str, bytes]] | None:
        """Block until callbacks are due and return them (URL, body), or None when stopping."""
        with self._lock:
            while not self._stopping.is_set():
                now = time.monotonic()
                due = self._registry.take_due_callbacks(now)
                if due:
                    copies = 2 if self._faults.duplicate_callbacks else 1
                    return [(record.callback_url, _callback_body(record, now)) for record in due for _ in range(copies)]
                next_due = self._registry.next_callback_due()
                self._lock.wait(None if next_due is None else next_due - now)
            return None

    def _deliver(self, opener, url: str, raw_body: bytes) -> None:
        """POST one signed callback. A failure is logged and counted, never retried: the portal polls as well."""
        request = urllib.request.Request(
            url,
            data=raw_body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign_webhook_body(raw_body, self.webhook_secret),
            },
        )
        try:
            with opener.open(request, timeout=CALLBACK_TIMEOUT_SECONDS):
                delivered = True
        except (urllib.error.URLError, OSError, ValueError) as error:
            log.warning("Carrier simulator: callback to %s failed: %s", url, error)
            delivered = False
        with self._lock:
            if delivered:
                self._counters.callbacks_sent += 1
            else:
                self._counters.callbacks_failed += 1

    def _hold(self, seconds: float) -> bool:
        """Wait `seconds` unless the simulator stops first; True if it is stopping."""
        return self._stopping.wait(seconds)


def _callback_body(record: Record, now: float) -> bytes:
    event = {
        "type": record.callback_type,
        "id": record.object_id,
        "reference": record.reference,
        "payload": record.view(now),
    }
    return json.dumps(event).encode()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    """The socket side: read the body, let the simulator answer, hold the answer if told to, write JSON."""

    server_version = "CarrierSimulator/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        simulator: CarrierSimulator = self.server.simulator
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            reply = Reply(400, {"error": f"Content-Length must be between 0 and {MAX_BODY_BYTES} bytes."})
        else:
            raw_body = self.rfile.read(length) if length else b""
            reply = simulator.handle(method, self.path, self.headers, raw_body, self.client_address[0])
        request_id = (self.headers.get("X-Request-ID") or "").strip()[:64]
        path = urlsplit(self.path).path
        if not path.startswith("/control/"):
            # The carrier's access log: each API request with the caller's request id, so one id found in the
            # portal's logs finds the carrier's side of the journey too.
            log.info(
                "Carrier simulator: %s %s answered %s (request id %s)",
                method,
                path,
                reply.status,
                request_id or "none",
                extra={"request_id": request_id or "-"},
            )
        if reply.hold_seconds and simulator._hold(reply.hold_seconds):
            return  # stopping: drop the held request unanswered, as a carrier going down would
        data = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("Carrier simulator: the client left before the answer to %s %s", method, self.path)

    def log_message(self, format: str, *args) -> None:
        log.debug("Carrier simulator: %s - %s", self.address_string(), format % args)


def _match_route(method: str, path: str) -> tuple[Route, str | None]:
    allowed = set()
    for route, pattern in _ROUTE_PATTERNS:
        match = pattern.match(path)
        if match:
            if route.method == method:
                return route, match.groupdict().get("id")
            allowed.add(route.method)
    if allowed:
        raise ApiError(405, f"{method} is not allowed on {path}; use {' or '.join(sorted(allowed))}.")
    raise ApiError(404, f"No such endpoint: {path}")


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _json_object(raw_body: bytes) -> dict:
    try:
        body = json.loads(raw_body or b"{}")
    except ValueError as error:
        raise ApiError(400, f"The request body is not valid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return body
