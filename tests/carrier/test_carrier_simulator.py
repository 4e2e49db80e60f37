"""The carrier simulator over raw HTTP: its API contract (shapes, ids, status codes, auth, idempotency), its control
endpoints, signed callbacks, and the `run_carrier_sim` command. The client's view of it is in test_carrier_client."""

import json
import re
import select
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from queue import Empty, Queue

import pytest
import time_machine
from django.conf import settings as django_settings

from carrier import HttpCarrierGateway, parse_number_order, verify_webhook_signature

NUMBER = "+14155550123"
BRAND = {
    "legal_name": "Acme Corporation",
    "dba_name": "Acme",
    "entity_type": "PRIVATE_PROFIT",
    "tax_id": "123456789",
    "country": "US",
    "vertical": "TECHNOLOGY",
    "website": "https://acme.example",
}
CAMPAIGN = {
    "use_case": "ACCOUNT_NOTIFICATION",
    "description": "Account alerts for Acme customers",
    "sample_messages": ["Your Acme order shipped.", "Your Acme invoice is ready. Reply STOP to opt out."],
}
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(
    sim,
    method: str,
    path: str,
    body=None,
    *,
    api_key: str | None = "default",
    idempotency_key: str | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict]:
    """One raw HTTP request to the simulator; returns (status, JSON body)."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {sim.api_key if api_key == 'default' else api_key}"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers)
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll until `predicate()` is truthy and return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


@pytest.fixture
def receiver():
    """A tiny local HTTP server standing in for the portal's webhook views: records (headers, raw body) of each POST."""
    received: Queue = Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((dict(self.headers), raw))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/carrier/callbacks"
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


def take(queue: Queue, count: int, timeout: float = 5.0) -> list:
    """The next `count` items, waiting up to `timeout` seconds for each."""
    return [queue.get(timeout=timeout) for _ in range(count)]


# --- the API contract ------------------------------------------------------------------------------------------


def test_number_order_shape_ids_and_status_codes(carrier_sim):
    status, order = call(
        carrier_sim, "POST", "/v1/number-orders", {"reference": "R-1", "numbers": [NUMBER]}, idempotency_key="k-1"
    )
    assert status == 202
    assert re.fullmatch(r"O[A-Z0-9]{9}", order["order_id"])
    assert order == {
        "order_id": order["order_id"],
        "reference": "R-1",
        "status": "pending",
        "numbers": [{"e164": NUMBER, "status": "pending", "reason": ""}],
    }

    status, fetched = call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")
    assert status == 200 and fetched["status"] == "completed"
    assert fetched["numbers"] == [{"e164": NUMBER, "status": "authorised", "reason": ""}]

    status, found = call(carrier_sim, "GET", "/v1/number-orders?reference=R-1")
    assert status == 200 and [o["order_id"] for o in found["results"]] == [order["order_id"]]
    assert call(carrier_sim, "GET", "/v1/number-orders?reference=nothing") == (200, {"results": []})
    assert call(carrier_sim, "GET", "/v1/number-orders/O000000000")[0] == 404


def test_registry_ids_follow_tcr_format(carrier_sim):
    _, brand = call(carrier_sim, "POST", "/v1/brands", {"reference": "b", "brand": BRAND}, idempotency_key="b")
    _, campaign = call(
        carrier_sim,
        "POST",
        "/v1/campaigns",
        {"reference": "c", "brand_id": brand["brand_id"], "campaign": CAMPAIGN},
        idempotency_key="c",
    )
    _, message = call(
        carrier_sim,
        "POST",
        "/v1/messages",
        {"reference": "m", "from": NUMBER, "to": "+14165550199", "body": "Hi"},
        idempotency_key="m",
    )
    assert re.fullmatch(r"B[A-Z0-9]{6}", brand["brand_id"])
    assert brand == {
        "brand_id": brand["brand_id"],
        "reference": "b",
        "status": "PENDING",
        "identity_status": "",
        "reason": "",
    }
    assert re.fullmatch(r"C[A-Z0-9]{6}", campaign["campaign_id"]) and campaign["status"] == "PENDING"
    assert message["message_id"].startswith("M") and message["status"] == "queued"


def test_every_api_call_needs_the_api_key(carrier_sim):
    status, body = call(carrier_sim, "GET", "/v1/number-orders?reference=x", api_key=None)
    assert status == 401 and "API key" in body["error"]
    status, _ = call(
        carrier_sim,
        "POST",
        "/v1/number-orders",
        {"reference": "x", "numbers": [NUMBER]},
        api_key="wrong",
        idempotency_key="k",
    )
    assert status == 401
    assert carrier_sim.stats()["writes_created"]["orders"] == 0


def test_writes_need_an_idempotency_key_and_a_json_object(carrier_sim):
    status, body = call(carrier_sim, "POST", "/v1/number-orders", {"reference": "x", "numbers": [NUMBER]})
    assert status == 400 and "Idempotency-Key" in body["error"]
    status, body = call(carrier_sim, "POST", "/v1/number-orders", raw=b"{not json", idempotency_key="k")
    assert status == 400 and "JSON" in body["error"]
    status, body = call(carrier_sim, "POST", "/v1/number-orders", [NUMBER], idempotency_key="k")
    assert status == 400 and "JSON object" in body["error"]


def test_unknown_routes_and_methods(carrier_sim):
    assert call(carrier_sim, "GET", "/v1/nothing")[0] == 404
    status, body = call(carrier_sim, "POST", "/v1/messages/M1", {}, idempotency_key="k")
    assert status == 405 and "GET" in body["error"]


def test_concurrent_requests_with_one_idempotency_key_create_one_object(carrier_sim):
    request = {"reference": "R-race", "numbers": [NUMBER]}
    answers: list = []

    def submit():
        answers.append(call(carrier_sim, "POST", "/v1/number-orders", request, idempotency_key="same"))

    threads = [threading.Thread(target=submit) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {202}
    assert len({body["order_id"] for _, body in answers}) == 1
    stats = carrier_sim.stats()
    assert stats["writes_created"]["orders"] == 1
    assert stats["idempotent_replays"] == 11 and stats["duplicate_submissions"] == 0


def test_the_carrier_records_what_each_reference_received(carrier_sim):
    """A resend answered from the idempotency keys changes nothing at the carrier but is still a resubmission; a
    lookup counts for its reference and kind; a request refused with an injected 503 did nothing and counts nothing."""
    order = {"reference": "R-1", "numbers": [NUMBER]}
    assert call(carrier_sim, "POST", "/v1/number-orders", order, idempotency_key="R-1")[0] == 202
    assert call(carrier_sim, "GET", "/v1/number-orders?reference=R-1")[0] == 200
    assert call(carrier_sim, "GET", "/v1/brands?reference=R-1")[0] == 200
    stats = carrier_sim.stats()
    assert stats["by_reference"]["orders"] == {"R-1": {"created": 1, "replayed": 0, "lookups": 1}}
    assert stats["by_reference"]["brands"] == {"R-1": {"created": 0, "replayed": 0, "lookups": 1}}
    assert stats["resubmissions"] == 0

    assert call(carrier_sim, "POST", "/v1/number-orders", order, idempotency_key="R-1")[0] == 202
    carrier_sim.set_faults(error_rate=1.0)
    assert call(carrier_sim, "POST", "/v1/number-orders", order, idempotency_key="R-1")[0] == 503
    assert call(carrier_sim, "GET", "/v1/number-orders?reference=R-1")[0] == 503
    stats = carrier_sim.stats()
    assert stats["by_reference"]["orders"] == {"R-1": {"created": 1, "replayed": 1, "lookups": 1}}
    assert stats["resubmissions"] == 1 and stats["duplicate_submissions"] == 0


def test_a_carrier_that_forgot_its_idempotency_keys_applies_a_resend_as_new(carrier_sim):
    """As after a carrier restart or key expiry: the same key and body create a second order, which the carrier
    counts as a duplicate and a resubmission, and a lookup by reference finds both, oldest first."""
    carrier_sim.set_faults(forget_idempotency_keys=True)
    order = {"reference": "R-2", "numbers": [NUMBER]}
    first = call(carrier_sim, "POST", "/v1/number-orders", order, idempotency_key="R-2")
    second = call(carrier_sim, "POST", "/v1/number-orders", order, idempotency_key="R-2")
    assert first[0] == second[0] == 202 and first[1]["order_id"] != second[1]["order_id"]
    _, found = call(carrier_sim, "GET", "/v1/number-orders?reference=R-2")
    assert [o["order_id"] for o in found["results"]] == [first[1]["order_id"], second[1]["order_id"]]
    stats = carrier_sim.stats()
    assert stats["by_reference"]["orders"] == {"R-2": {"created": 2, "replayed": 0, "lookups": 1}}
    assert stats["duplicate_submissions"] == 1 and stats["resubmissions"] == 1 and stats["idempotent_replays"] == 0


def test_one_key_reused_on_another_endpoint_is_independent(carrier_sim):
    """Keys are scoped per endpoint, so a caller using its case reference for both brand and campaign is safe."""
    _, brand = call(
        carrier_sim, "POST", "/v1/brands", {"reference": "case-1", "brand": BRAND}, idempotency_key="case-1"
    )
    status, campaign = call(
        carrier_sim,
        "POST",
        "/v1/campaigns",
        {"reference": "case-1", "brand_id": brand["brand_id"], "campaign": CAMPAIGN},
        idempotency_key="case-1",
    )
    assert status == 202 and "campaign_id" in campaign


# --- control endpoints -----------------------------------------------------------------------------------------


def test_control_endpoints_set_faults_report_stats_and_reset(carrier_sim):
    status, faults = call(
        carrier_sim, "POST", "/control/faults", {"error_rate": 0.25, "duplicate_callbacks": True}, api_key=None
    )
    assert status == 200 and faults["error_rate"] == 0.25 and faults["duplicate_callbacks"] is True
    assert faults["delay_seconds"] == 0.0  # untouched settings are kept
    assert carrier_sim.faults()["error_rate"] == 0.25

    carrier_sim.set_faults(error_rate=0.0)
    _, order = call(
        carrier_sim, "POST", "/v1/number-orders", {"reference": "R", "numbers": [NUMBER]}, idempotency_key="k"
    )
    call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")
    status, stats = call(carrier_sim, "GET", "/control/stats", api_key=None)
    assert status == 200
    assert stats["requests"] == {"POST /v1/number-orders": 1, "GET /v1/number-orders/{id}": 1}
    assert stats["writes_created"] == {"orders": 1, "brands": 0, "campaigns": 0, "messages": 0, "vettings": 0}
    for counter in (
        "idempotent_replays",
        "duplicate_submissions",
        "injected_errors",
        "injected_timeouts",
        "callbacks_sent",
        "callbacks_failed",
    ):
        assert stats[counter] == 0, counter

    assert call(carrier_sim, "POST", "/control/reset", api_key=None) == (200, {"reset": True})
    assert call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")[0] == 404
    assert carrier_sim.stats()["writes_created"]["orders"] == 0
    assert carrier_sim.faults()["duplicate_callbacks"] is False  # back to the settings given at start


def test_fault_settings_are_validated(carrier_sim):
    status, body = call(carrier_sim, "POST", "/control/faults", {"error_rate": 2}, api_key=None)
    assert status == 400 and "between 0 and 1" in body["error"]
    status, body = call(carrier_sim, "POST", "/control/faults", {"forget_idempotency_keys": 1}, api_key=None)
    assert status == 400 and "true or false" in body["error"]
    status, body = call(carrier_sim, "POST", "/control/faults", {"errors": 1}, api_key=None)
    assert status == 400 and "Unknown fault setting" in body["error"]
    with pytest.raises(ValueError, match="cannot be negative"):
        carrier_sim.set_faults(delay_seconds=-1)


def test_control_endpoints_refuse_other_hosts(carrier_sim):
    reply = carrier_sim.handle("POST", "/control/reset", {}, b"", "10.1.2.3")
    assert reply.status == 403
    assert carrier_sim.handle("GET", "/control/stats", {}, b"", "::ffff:127.0.0.1").status == 200


def test_seeded_error_rate_is_repeatable(carrier_sim):
    def outcomes():
        return [call(carrier_sim, "GET", "/v1/brands?reference=x")[0] for _ in range(20)]

    carrier_sim.set_faults(error_rate=0.5, seed=42)
    first = outcomes()
    carrier_sim.set_faults(seed=42)
    assert outcomes() == first
    assert set(first) == {200, 503}
    assert carrier_sim.stats()["injected_errors"] == 2 * first.count(503)


# --- asynchronous completion and callbacks ---------------------------------------------------------------------


def test_objects_stay_pending_for_the_delay_then_complete(carrier_sim):
    delay = 0.3
    carrier_sim.set_faults(delay_seconds=delay)
    started = time.monotonic()
    status, order = call(
        carrier_sim, "POST", "/v1/number-orders", {"reference": "R", "numbers": [NUMBER]}, idempotency_key="k"
    )
    assert status == 202 and order["status"] == "pending"
    _, now = call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")
    if time.monotonic() - started < delay:  # only meaningful if this poll surely came before the deadline
        assert now["status"] == "pending" and now["numbers"][0]["status"] == "pending"

    def completed():
        return call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")[1]["status"] == "completed"

    wait_for(completed)
    assert time.monotonic() - started >= delay


def test_decide_pending_ends_the_wait_and_sends_the_callbacks(carrier_sim, receiver):
    carrier_sim.set_faults(delay_seconds=600)
    _, order = call(
        carrier_sim,
        "POST",
        "/v1/number-orders",
        {"reference": "R", "numbers": [NUMBER], "callback_url": receiver.url},
        idempotency_key="k",
    )
    with pytest.raises(Empty):
        receiver.received.get(timeout=0.1)
    assert call(carrier_sim, "POST", "/control/decide", api_key=None) == (200, {"decided": 1})
    [(_, raw)] = take(receiver.received, 1)
    assert json.loads(raw)["payload"]["status"] == "completed"
    assert call(carrier_sim, "GET", f"/v1/number-orders/{order['order_id']}")[1]["status"] == "completed"
    assert carrier_sim.decide_pending() == 0


def test_callbacks_are_signed_and_carry_the_final_status(carrier_sim, receiver):
    carrier_sim.set_faults(delay_seconds=0.2)
    _, order = call(
        carrier_sim,
        "POST",
        "/v1/number-orders",
        {"reference": "R-cb", "numbers": [NUMBER, "+14155550000"], "callback_url": receiver.url},
        idempotency_key="k",
    )
    [(headers, raw)] = take(receiver.received, 1)
    assert verify_webhook_signature(raw, headers["X-Carrier-Signature"])
    assert not verify_webhook_signature(raw + b" ", headers["X-Carrier-Signature"])
    # Signed with the time of sending, so the portal refuses the same callback replayed later.
    signed_at = re.fullmatch(r"t=(\d+),v1=[0-9a-f]{64}", headers["X-Carrier-Signature"])
    assert signed_at and abs(int(signed_at.group(1)) - time.time()) < 10
    with time_machine.travel(time.time() + django_settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS + 10):
        assert not verify_webhook_signature(raw, headers["X-Carrier-Signature"])
    event = json.loads(raw)
    assert event["type"] == "number_order.completed"
    assert event["id"] == order["order_id"] and event["reference"] == "R-cb"
    result = parse_number_order(event["payload"])
    assert result.status == "completed"
    assert [(n.e164, n.status) for n in result.numbers] == [(NUMBER, "authorised"), ("+14155550000", "rejected")]
    wait_for(lambda: carrier_sim.stats()["callbacks_sent"] == 1)


def test_every_kind_calls_back_with_its_event_type(carrier_sim, receiver):
    url = receiver.url
    _, brand = call(
        carrier_sim, "POST", "/v1/brands", {"reference": "b", "brand": BRAND, "callback_url": url}, idempotency_key="b"
    )
    call(
        carrier_sim,
        "POST",
        "/v1/campaigns",
        {"reference": "c", "brand_id": brand["brand_id"], "campaign": CAMPAIGN, "callback_url": url},
        idempotency_key="c",
    )
    call(
        carrier_sim,
        "POST",
        "/v1/messages",
        {"reference": "m", "from": NUMBER, "to": "+14165550199", "body": "Hi", "callback_url": url},
        idempotency_key="m",
    )
    events = {json.loads(raw)["type"]: json.loads(raw) for _, raw in take(receiver.received, 3)}
    assert events["brand.updated"]["payload"]["status"] == "APPROVED"
    assert events["campaign.updated"]["payload"]["status"] == "ACTIVE"
    assert events["message.updated"]["payload"]["status"] == "delivered"


def test_duplicate_callbacks_send_each_callback_twice(carrier_sim, receiver):
    carrier_sim.set_faults(duplicate_callbacks=True)
    call(
        carrier_sim,
        "POST",
        "/v1/messages",
        {"reference": "m", "from": NUMBER, "to": "+14165550199", "body": "Hi", "callback_url": receiver.url},
        idempotency_key="m",
    )
    (headers_1, raw_1), (headers_2, raw_2) = take(receiver.received, 2)
    assert raw_1 == raw_2 and verify_webhook_signature(raw_2, headers_2["X-Carrier-Signature"])
    with pytest.raises(Empty):
        receiver.received.get(timeout=0.2)
    wait_for(lambda: carrier_sim.stats()["callbacks_sent"] == 2)


def test_a_failing_callback_is_counted_and_ignored(carrier_sim):
    status, _ = call(
        carrier_sim,
        "POST",
        "/v1/messages",
        {
            "reference": "m",
            "from": NUMBER,
            "to": "+14165550199",
            "body": "Hi",
            "callback_url": "http://127.0.0.1:9/unreachable",
        },
        idempotency_key="m",
    )
    assert status == 202
    wait_for(lambda: carrier_sim.stats()["callbacks_failed"] == 1)
    assert carrier_sim.stats()["callbacks_sent"] == 0
    assert call(carrier_sim, "GET", "/v1/number-orders?reference=x")[0] == 200  # still serving


def test_a_callback_url_must_be_http(carrier_sim):
    status, body = call(
        carrier_sim,
        "POST",
        "/v1/messages",
        {"reference": "m", "from": NUMBER, "to": "+14165550199", "body": "Hi", "callback_url": "file:///etc/passwd"},
        idempotency_key="m",
    )
    assert status == 400 and "callback_url" in body["error"]


# --- the management command ------------------------------------------------------------------------------------


def test_run_carrier_sim_command_serves_until_terminated():
    process = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "run_carrier_sim", "--port", "0", "--delay", "0", "--api-key", "cmd-key"),
            "--forget-idempotency-keys",
        ],
        cwd=Path(django_settings.BASE_DIR),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 15)
        assert ready, "the simulator did not announce itself"
        announced = re.search(r"listening on (http://127\.0\.0\.1:\d+)", process.stdout.readline())
        if announced is None:
            process.kill()
            pytest.fail(f"run_carrier_sim did not start: {process.communicate(timeout=10)[1]}")
        url = announced.group(1)

        gateway = HttpCarrierGateway(url, "cmd-key", timeout=5)
        order = gateway.submit_number_order(reference="cmd", numbers=[NUMBER], idempotency_key="cmd")
        assert gateway.get_number_order(order.order_id).status == "completed"
        again = gateway.submit_number_order(reference="cmd", numbers=[NUMBER], idempotency_key="cmd")
        assert again.order_id != order.order_id  # --forget-idempotency-keys reached the simulator
        gateway.close()
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert "stopped" in stdout
