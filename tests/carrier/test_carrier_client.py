"""The carrier client (`get_gateway()`, HttpCarrierGateway) against the simulator: round trips for every call, the
carrier's rules, and how failures reach callers: CarrierRejected (refused; retrying will not help) or
CarrierUnavailable (unknown; retry with the same idempotency key, or reconcile by reference)."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from carrier import (
    CarrierRejected,
    CarrierUnavailable,
    HttpCarrierGateway,
    MessageStatus,
    NumberOrderStatus,
    NumberResult,
    RegistrationStatus,
    get_gateway,
    parse_brand,
    parse_number_order,
    sign_webhook_body,
    verify_webhook_signature,
)

NUMBER = "+14155550123"
UNPROVISIONED = "+14155550000"
BRAND = {
    "legal_name": "Acme Corporation",
    "dba_name": "Acme",
    "entity_type": "PRIVATE_PROFIT",
    "tax_id": "123456789",
    "country": "US",
    "address": "1 Main St, Springfield, IL 62701",
    "website": "https://acme.example",
    "vertical": "TECHNOLOGY",
    "support_email": "support@acme.example",
    "support_phone": "+14155550100",
}
CAMPAIGN = {
    "use_case": "ACCOUNT_NOTIFICATION",
    "description": "Account alerts for Acme customers",
    "sample_messages": ["Your Acme order shipped.", "Your Acme invoice is ready. Reply STOP to opt out."],
    "message_flow": "Customers opt in on the account page.",
    "opt_out_keywords": ["STOP"],
}


@pytest.fixture
def gateway(carrier_sim):
    return get_gateway()


def register_brand(gateway, reference="brand-1", **fields) -> RegistrationStatus:
    return gateway.submit_brand(reference=reference, brand={**BRAND, **fields}, idempotency_key=reference)


def register_campaign(gateway, brand_id, reference="campaign-1", **fields) -> RegistrationStatus:
    return gateway.submit_campaign(
        reference=reference, brand_id=brand_id, campaign={**CAMPAIGN, **fields}, idempotency_key=reference
    )


# --- round trips -------------------------------------------------------------------------------------------------


def test_number_order_round_trip_authorises_all_but_unprovisioned_numbers(gateway, carrier_sim):
    carrier_sim.set_faults(delay_seconds=60)
    submitted = gateway.submit_number_order(
        reference="chunk-1", numbers=[NUMBER, UNPROVISIONED], idempotency_key="chunk-1"
    )
    assert submitted == NumberOrderStatus(
        order_id=submitted.order_id,
        reference="chunk-1",
        status="pending",
        numbers=[NumberResult(NUMBER, "pending"), NumberResult(UNPROVISIONED, "pending")],
    )
    assert gateway.get_number_order(submitted.order_id).status == "pending"

    carrier_sim.decide_pending()
    answer = gateway.get_number_order(submitted.order_id)
    assert answer.status == "completed"
    assert answer.numbers[0] == NumberResult(NUMBER, "authorised", "")
    assert answer.numbers[1].status == "rejected"
    assert "not provisioned on the Cisco Calling Plan" in answer.numbers[1].reason
    assert gateway.find_number_order("chunk-1") == answer
    assert gateway.find_number_order("no-such-reference") is None


def test_brand_round_trip_and_identity_outcomes(gateway):
    approved = register_brand(gateway)
    assert approved.registry_id.startswith("B") and approved.status == "PENDING"
    assert gateway.get_brand(approved.registry_id) == RegistrationStatus(
        approved.registry_id, "brand-1", "APPROVED", "", "VERIFIED"
    )
    assert gateway.find_brand("brand-1") == gateway.get_brand(approved.registry_id)
    assert gateway.find_brand("nothing") is None

    rejected = gateway.get_brand(register_brand(gateway, "brand-2", legal_name="Rejected Widgets LLC").registry_id)
    assert rejected.status == "REJECTED" and "could not be verified" in rejected.reason

    unverified = gateway.get_brand(register_brand(gateway, "brand-3", legal_name="unverified foods").registry_id)
    assert (unverified.status, unverified.identity_status) == ("APPROVED", "UNVERIFIED")


def test_campaign_round_trip_and_number_assignment(gateway):
    brand = register_brand(gateway)
    campaign = register_campaign(gateway, brand.registry_id)
    assert campaign.registry_id.startswith("C") and campaign.status == "PENDING"
    assert gateway.get_campaign(campaign.registry_id).status == "ACTIVE"
    assert gateway.find_campaign("campaign-1").registry_id == campaign.registry_id
    assert gateway.find_campaign("nothing") is None

    assigned = gateway.assign_numbers_to_campaign(
        campaign_id=campaign.registry_id, numbers=[NUMBER], idempotency_key="assign-1"
    )
    assert assigned == [NUMBER]
    assigned = gateway.assign_numbers_to_campaign(
        campaign_id=campaign.registry_id, numbers=["+14155550124", NUMBER], idempotency_key="assign-2"
    )
    assert assigned == [NUMBER, "+14155550124"]  # everything the campaign holds, each number once


def test_campaign_rejected_for_its_content(gateway):
    brand = register_brand(gateway)
    campaign = register_campaign(gateway, brand.registry_id, description="Rejected on purpose")
    answer = gateway.get_campaign(campaign.registry_id)
    assert answer.status == "REJECTED" and answer.reason == "Sample messages do not match the declared use case"
    with pytest.raises(CarrierRejected, match="ACTIVE campaign"):
        gateway.assign_numbers_to_campaign(campaign_id=campaign.registry_id, numbers=[NUMBER], idempotency_key="a")


def test_a_rejected_campaign_is_resubmitted_under_its_id_with_its_use_case_fixed(gateway, carrier_sim):
    brand = register_brand(gateway)
    campaign = register_campaign(gateway, brand.registry_id, description="Rejected on purpose")
    assert gateway.get_campaign(campaign.registry_id).status == "REJECTED"
    with pytest.raises(CarrierRejected, match="its use case cannot change"):
        gateway.resubmit_campaign(
            campaign_id=campaign.registry_id,
            reference="campaign-1-again",
            campaign={**CAMPAIGN, "use_case": "MARKETING"},
            idempotency_key="again-0",
        )
    again = gateway.resubmit_campaign(
        campaign_id=campaign.registry_id, reference="campaign-1-again", campaign=CAMPAIGN, idempotency_key="again-1"
    )
    assert (again.registry_id, again.status, again.reference) == (campaign.registry_id, "PENDING", "campaign-1-again")
    assert gateway.get_campaign(campaign.registry_id).status == "ACTIVE"
    assert gateway.find_campaign("campaign-1-again").registry_id == campaign.registry_id
    stats = carrier_sim.stats()
    assert (stats["writes_created"]["campaigns"], stats["campaigns_resubmitted"]) == (1, 1)


@pytest.mark.parametrize(
    "legal_name, refusal",
    [
        ("Unverified Inc", "unverified brand is refused"),
        ("Rejected Inc", "needs an APPROVED brand"),
    ],
)
def test_campaign_refused_under_a_brand_that_cannot_carry_one(gateway, legal_name, refusal):
    brand = register_brand(gateway, legal_name=legal_name)
    with pytest.raises(CarrierRejected, match=refusal):
        register_campaign(gateway, brand.registry_id)


def test_campaign_refused_under_an_unknown_or_pending_brand(gateway, carrier_sim):
    with pytest.raises(CarrierRejected, match="Unknown brand 'B000000'"):
        register_campaign(gateway, "B000000")
    carrier_sim.set_faults(delay_seconds=60)
    pending = register_brand(gateway, "slow-brand")
    with pytest.raises(CarrierRejected, match="is PENDING"):
        register_campaign(gateway, pending.registry_id)
    assert carrier_sim.stats()["writes_created"]["campaigns"] == 0


def test_messages_are_delivered_except_to_unreachable_destinations(gateway):
    sent = gateway.send_message(
        reference="msg-1", sender=NUMBER, recipient="+14165550199", body="Hello", idempotency_key="msg-1"
    )
    assert sent.message_id.startswith("M") and sent.status == "queued"
    assert gateway.get_message(sent.message_id) == MessageStatus(sent.message_id, "msg-1", "delivered", "")

    lost = gateway.send_message(
        reference="msg-2", sender=NUMBER, recipient=UNPROVISIONED, body="Hello", idempotency_key="msg-2"
    )
    assert gateway.get_message(lost.message_id) == MessageStatus(
        lost.message_id, "msg-2", "failed", "Destination unreachable"
    )


def test_unknown_ids_are_refused(gateway):
    for lookup in (gateway.get_number_order, gateway.get_brand, gateway.get_campaign, gateway.get_message):
        with pytest.raises(CarrierRejected, match="Unknown"):
            lookup("X123456")
    with pytest.raises(CarrierRejected, match="Unknown campaign"):
        gateway.assign_numbers_to_campaign(campaign_id="C000000", numbers=[NUMBER], idempotency_key="k")


# --- validation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "numbers, message",
    [
        ([], "non-empty list"),
        (["+442071234567"], r"numbers\[0\] '\+442071234567' is not a US or Canadian number in E\.164"),
        (["4155550123"], "E.164"),
        (["+10155550123"], "E.164"),  # area codes start with 2-9
        ([NUMBER, NUMBER], "more than once"),
        ([f"+1415555{i:04d}" for i in range(1001)], "At most 1000 numbers"),
    ],
)
def test_invalid_number_orders_are_refused_with_the_reason(gateway, carrier_sim, numbers, message):
    with pytest.raises(CarrierRejected, match=message):
        gateway.submit_number_order(reference="bad", numbers=numbers, idempotency_key="bad")
    assert carrier_sim.stats()["writes_created"]["orders"] == 0


def test_a_full_order_of_1000_numbers_is_accepted(carrier_sim, settings):
    # The largest order the carrier takes; on a busy machine it can need longer than the 0.5 s the other tests allow.
    gateway = HttpCarrierGateway(carrier_sim.url, settings.CARRIER_API_KEY, timeout=10)
    numbers = [f"+1415555{i:04d}" for i in range(1000)]
    order = gateway.get_number_order(
        gateway.submit_number_order(reference="big", numbers=numbers, idempotency_key="big").order_id
    )
    assert len(order.numbers) == 1000
    assert [n.e164 for n in order.numbers if n.status == "rejected"] == ["+14155550000"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"legal_name": ""}, "legal_name is required"),
        ({"entity_type": "LLC"}, "entity_type must be one of PRIVATE_PROFIT"),
        ({"country": "GB"}, "country must be US or CA"),
    ],
)
def test_invalid_brands_are_refused_with_the_reason(gateway, changes, message):
    with pytest.raises(CarrierRejected, match=message):
        register_brand(gateway, **changes)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"use_case": "GAMBLING"}, "use_case must be one of"),
        ({"description": " "}, "description is required"),
        ({"sample_messages": ["only one"]}, "at least 2 example messages"),
    ],
)
def test_invalid_campaigns_are_refused_with_the_reason(gateway, changes, message):
    brand = register_brand(gateway)
    with pytest.raises(CarrierRejected, match=message):
        register_campaign(gateway, brand.registry_id, **changes)


@pytest.mark.parametrize(
    "sender, recipient, body, message",
    [
        ("+447700900123", "+14165550199", "Hi", "from"),
        (NUMBER, "+14165550199", "", "body must be text"),
        (NUMBER, "+14165550199", "x" * 1601, "1600 characters"),
    ],
)
def test_invalid_messages_are_refused(gateway, sender, recipient, body, message):
    with pytest.raises(CarrierRejected, match=message):
        gateway.send_message(reference="m", sender=sender, recipient=recipient, body=body, idempotency_key="m")


def test_a_wrong_api_key_is_refused(carrier_sim):
    gateway = HttpCarrierGateway(carrier_sim.url, "not-the-key", timeout=2)
    with pytest.raises(CarrierRejected, match="API key"):
        gateway.find_brand("anything")
    gateway.close()


# --- idempotency and duplicates ----------------------------------------------------------------------------------


def test_the_same_idempotency_key_returns_the_first_answer_and_creates_nothing(gateway, carrier_sim):
    first = gateway.submit_number_order(reference="chunk-1", numbers=[NUMBER], idempotency_key="chunk-1")
    again = gateway.submit_number_order(reference="chunk-1", numbers=[NUMBER], idempotency_key="chunk-1")
    assert again.order_id == first.order_id
    stats = carrier_sim.stats()
    assert stats["writes_created"]["orders"] == 1
    assert stats["idempotent_replays"] == 1 and stats["duplicate_submissions"] == 0


def test_an_idempotency_key_reused_for_another_request_is_refused(gateway, carrier_sim):
    gateway.submit_number_order(reference="chunk-1", numbers=[NUMBER], idempotency_key="key")
    with pytest.raises(CarrierRejected, match="already used for a different request"):
        gateway.submit_number_order(reference="chunk-1", numbers=[NUMBER, "+14155550124"], idempotency_key="key")
    assert carrier_sim.stats()["writes_created"]["orders"] == 1


def test_a_new_key_with_a_used_reference_creates_a_duplicate(gateway, carrier_sim):
    """The registry is not idempotent by reference: a blind retry with a new key registers twice."""
    first = register_brand(gateway, "case-7")
    second = gateway.submit_brand(reference="case-7", brand=BRAND, idempotency_key="case-7-retry")
    assert second.registry_id != first.registry_id
    stats = carrier_sim.stats()
    assert stats["writes_created"]["brands"] == 2 and stats["duplicate_submissions"] == 1
    assert gateway.find_brand("case-7").registry_id == first.registry_id  # reconciling finds the oldest


# --- transient failures --------------------------------------------------------------------------------------------


def test_a_503_is_unavailable_and_creates_nothing(gateway, carrier_sim):
    carrier_sim.set_faults(error_rate=1.0)
    with pytest.raises(CarrierUnavailable, match="HTTP 503") as refused:
        register_brand(gateway, "brand-1")
    assert refused.value.may_have_taken_effect is False  # "not now": the carrier did nothing
    assert carrier_sim.stats()["writes_created"]["brands"] == 0
    assert carrier_sim.stats()["injected_errors"] == 1

    carrier_sim.set_faults(error_rate=0.0)
    register_brand(gateway, "brand-1")  # the retry with the same key does the work, once
    assert carrier_sim.stats()["writes_created"]["brands"] == 1


def test_a_timeout_is_unavailable_but_the_write_happened_and_reconciliation_finds_it(gateway, carrier_sim):
    carrier_sim.set_faults(timeout_rate=1.0)
    with pytest.raises(CarrierUnavailable, match="did not answer within 0.5 s") as unanswered:
        gateway.submit_number_order(reference="chunk-9", numbers=[NUMBER], idempotency_key="chunk-9")
    assert unanswered.value.may_have_taken_effect is True
    carrier_sim.set_faults(timeout_rate=0.0)

    found = gateway.find_number_order("chunk-9")
    assert found is not None and found.numbers[0].e164 == NUMBER
    retried = gateway.submit_number_order(reference="chunk-9", numbers=[NUMBER], idempotency_key="chunk-9")
    assert retried.order_id == found.order_id
    stats = carrier_sim.stats()
    assert stats["writes_created"]["orders"] == 1 and stats["duplicate_submissions"] == 0
    assert stats["injected_timeouts"] == 1 and stats["idempotent_replays"] == 1


def test_an_unreachable_carrier_is_unavailable():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = HttpCarrierGateway(f"http://127.0.0.1:{port}", "key", timeout=1)
    with pytest.raises(CarrierUnavailable, match="Could not reach the carrier") as refused:
        gateway.get_brand("B123456")
    assert refused.value.may_have_taken_effect is False  # nothing was listening: nothing was sent
    gateway.close()


@pytest.fixture
def canned_carrier():
    """A fake carrier answering every request with the (status, body) set on it: for answers the simulator never
    gives (429, garbage)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = server.answer
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    gateway = HttpCarrierGateway(f"http://127.0.0.1:{server.server_address[1]}", "key", timeout=2)
    yield server, gateway
    gateway.close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "status, body, error, may_have_taken_effect",
    [
        (429, b'{"error": "Slow down"}', CarrierUnavailable, False),
        (502, b"<html>Bad gateway</html>", CarrierUnavailable, True),
        (200, b"not json", CarrierUnavailable, True),
        (200, b'{"brand_id": 7}', CarrierUnavailable, True),
        (403, b'{"error": "Account suspended"}', CarrierRejected, None),
    ],
)
def test_answers_map_to_the_gateway_errors(canned_carrier, status, body, error, may_have_taken_effect):
    server, gateway = canned_carrier
    server.answer = (status, body)
    with pytest.raises(error) as raised:
        gateway.get_brand("B123456")
    assert getattr(raised.value, "may_have_taken_effect", None) is may_have_taken_effect


def test_a_refusal_carries_the_carriers_words(canned_carrier):
    server, gateway = canned_carrier
    server.answer = (403, b'{"error": "Account suspended"}')
    with pytest.raises(CarrierRejected) as refusal:
        gateway.get_brand("B123456")
    assert str(refusal.value) == "Account suspended"


# --- gateway from settings, payload parsing, webhook signatures ----------------------------------------------------


def test_get_gateway_follows_the_settings(carrier_sim, settings):
    gateway = get_gateway()
    assert gateway is get_gateway()  # one shared client per configuration
    assert gateway.base_url == carrier_sim.url and gateway.timeout == 0.5
    settings.CARRIER_API_URL = "http://127.0.0.1:9"
    assert get_gateway() is not gateway and get_gateway().base_url == "http://127.0.0.1:9"


def test_parsers_refuse_malformed_payloads():
    with pytest.raises(KeyError):
        parse_number_order({"order_id": "O1", "reference": "r", "status": "completed"})
    with pytest.raises(TypeError):
        parse_number_order({"order_id": "O1", "reference": "r", "status": "completed", "numbers": "+1415"})
    with pytest.raises(TypeError):
        parse_brand(["B123456"])
    assert parse_brand({"brand_id": "B1", "reference": "r", "status": "APPROVED", "reason": None}).reason == ""


def test_webhook_signatures(settings):
    settings.CARRIER_WEBHOOK_SECRET = "s3cret"
    body = json.dumps({"type": "brand.updated"}).encode()
    signature = sign_webhook_body(body, "s3cret")
    assert verify_webhook_signature(body, signature)
    assert verify_webhook_signature(body, signature.upper())
    assert not verify_webhook_signature(body, sign_webhook_body(body, "other"))
    assert not verify_webhook_signature(body + b"x", signature)
    assert not verify_webhook_signature(body, "")
    assert not verify_webhook_signature(body, "é" * 64)  # garbage in a header is refused, not a crash
    settings.CARRIER_WEBHOOK_SECRET = ""  # no secret configured: nothing is trusted, not even an empty-key HMAC
    assert not verify_webhook_signature(body, sign_webhook_body(body, ""))


def test_the_longest_carrier_ids_accepted_are_what_the_portal_columns_hold():
    """The carrier client stands apart from the models (no imports from them), so its limits are written out; a
    column changed without them would let an over-long id through to a database error."""
    from carrier import client
    from compliance.models import Brand, Campaign
    from provisioning.models import OrderChunk
    from texting.models import Message

    def length(model, name):
        return model._meta.get_field(name).max_length

    assert length(OrderChunk, "carrier_order_id") == client.ORDER_ID_LENGTH
    assert (
        client.REGISTRY_ID_LENGTH
        == length(Brand, "registry_id")
        == length(Campaign, "registry_id")
        == length(Brand, "identity_status")
    )
    assert length(Message, "carrier_message_id") == client.MESSAGE_ID_LENGTH
