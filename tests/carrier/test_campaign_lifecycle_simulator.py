"""The carrier simulator's side of a campaign's life: each operator's status, the control endpoint that raises
operators' and the registry's events (called back, signed, and seen by polls), and secondary vetting."""

import json

import pytest

from carrier import HttpCarrierGateway, parse_campaign, verify_webhook_signature
from tests.carrier import test_carrier_simulator
from tests.carrier.test_carrier_simulator import BRAND, CAMPAIGN, call, take

receiver = test_carrier_simulator.receiver  # the stand-in for the portal's webhook view (a fixture)


def gateway(sim) -> HttpCarrierGateway:
    return HttpCarrierGateway(sim.url, sim.api_key, 2.0)


def registered_campaign(sim, *, description=CAMPAIGN["description"], callback_url=None, legal_name=None):
    """A brand and a campaign the registry accepted; returns (brand id, campaign id)."""
    brand = {**BRAND, "legal_name": legal_name or BRAND["legal_name"]}
    _, created = call(sim, "POST", "/v1/brands", {"reference": "b", "brand": brand}, idempotency_key="b")
    sim.decide_pending()
    body = {"reference": "c", "brand_id": created["brand_id"], "campaign": {**CAMPAIGN, "description": description}}
    if callback_url:
        body["callback_url"] = callback_url
    _, campaign = call(sim, "POST", "/v1/campaigns", body, idempotency_key="c")
    return created["brand_id"], campaign["campaign_id"]


def carriers(view: dict) -> dict:
    return {item["carrier"]: (item["status"], item["reason"]) for item in view["carriers"]}


def test_each_operator_decides_some_time_after_the_registry(carrier_sim):
    carrier_sim.set_faults(carrier_delay_seconds=30)
    _, campaign_id = registered_campaign(carrier_sim)
    _, view = call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")
    assert view["status"] == "ACTIVE"
    assert carriers(view) == {code: ("PENDING", "") for code in ("ATT", "TMOBILE", "VERIZON", "USCELLULAR")}
    carrier_sim.decide_pending()
    _, view = call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")
    assert carriers(view) == {code: ("ACCEPTED", "") for code in ("ATT", "TMOBILE", "VERIZON", "USCELLULAR")}
    # The client reads them into the gateway's types.
    status = gateway(carrier_sim).get_campaign(campaign_id)
    assert [(c.carrier, c.status) for c in status.carriers][:2] == [("ATT", "ACCEPTED"), ("TMOBILE", "ACCEPTED")]


def test_a_campaign_not_accepted_by_the_registry_has_no_operator_statuses(carrier_sim):
    _, campaign_id = registered_campaign(carrier_sim, description="Rejected samples")
    carrier_sim.decide_pending()
    _, view = call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")
    assert view["status"] == "REJECTED" and view["carriers"] == []


def test_a_description_marker_makes_one_operator_reject(carrier_sim):
    _, campaign_id = registered_campaign(carrier_sim, description="Order updates. Declined by T-Mobile.")
    carrier_sim.decide_pending()
    statuses = carriers(call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")[1])
    assert statuses["TMOBILE"][0] == "REJECTED" and "T-Mobile" in statuses["TMOBILE"][1]
    assert statuses["ATT"] == ("ACCEPTED", "")


def test_the_control_endpoint_suspends_resumes_and_expires_and_calls_back(carrier_sim, receiver):
    _, campaign_id = registered_campaign(carrier_sim, callback_url=receiver.url)
    carrier_sim.decide_pending()
    take(receiver.received, 2)  # the registry's decision and the operators' (both due at once here)
    status, view = call(
        carrier_sim,
        "POST",
        f"/control/campaigns/{campaign_id}/suspend",
        {"carrier": "TMOBILE", "reason": "Spam complaints"},
        api_key=None,
    )
    assert status == 200 and carriers(view)["TMOBILE"] == ("SUSPENDED", "Spam complaints")
    assert view["status"] == "ACTIVE"  # the registry still accepts it: one operator suspended it
    # Polls see it ...
    assert carriers(call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")[1])["TMOBILE"][0] == "SUSPENDED"
    # ... and the portal is called back, signed, with the campaign as it now is.
    ((headers, raw),) = take(receiver.received, 1)
    assert verify_webhook_signature(raw, headers["X-Carrier-Signature"])
    event = json.loads(raw)
    assert event["type"] == "campaign.updated"
    parsed = parse_campaign(event["payload"])
    assert ("TMOBILE", "SUSPENDED", "Spam complaints") in [(c.carrier, c.status, c.reason) for c in parsed.carriers]

    status, view = call(
        carrier_sim, "POST", f"/control/campaigns/{campaign_id}/resume", {"carrier": "TMOBILE"}, api_key=None
    )
    assert status == 200 and carriers(view)["TMOBILE"] == ("ACCEPTED", "")
    take(receiver.received, 1)

    status, view = call(
        carrier_sim, "POST", f"/control/campaigns/{campaign_id}/suspend", {"reason": "Dormant"}, api_key=None
    )
    assert status == 200 and view["status"] == "SUSPENDED" and view["reason"] == "Dormant"
    status, view = call(carrier_sim, "POST", f"/control/campaigns/{campaign_id}/resume", {}, api_key=None)
    assert view["status"] == "ACTIVE"
    status, view = call(carrier_sim, "POST", f"/control/campaigns/{campaign_id}/expire", {}, api_key=None)
    assert status == 200 and view["status"] == "EXPIRED" and view["reason"]
    take(receiver.received, 3)
    # An expired campaign takes no numbers any more.
    status, _ = call(
        carrier_sim,
        "POST",
        f"/v1/campaigns/{campaign_id}/numbers",
        {"numbers": ["+14155550123"]},
        idempotency_key="n",
    )
    assert status == 409


def test_the_control_endpoint_refuses_bad_events_and_changes_nothing(carrier_sim):
    _, campaign_id = registered_campaign(carrier_sim)
    carrier_sim.decide_pending()
    before = call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")[1]
    path = f"/control/campaigns/{campaign_id}"
    assert call(carrier_sim, "POST", f"{path}/suspend", {"carrier": "SPRINT", "reason": "x"}, api_key=None)[0] == 400
    assert call(carrier_sim, "POST", f"{path}/suspend", {"carrier": "ATT"}, api_key=None)[0] == 400  # no reason
    assert call(carrier_sim, "POST", f"{path}/suspend", {"carrier": "ATT", "reason": " "}, api_key=None)[0] == 400
    assert call(carrier_sim, "POST", "/control/campaigns/CNOSUCH/suspend", {"reason": "x"}, api_key=None)[0] == 404
    assert call(carrier_sim, "POST", f"{path}/suspend", raw=b"[1]", api_key=None)[0] == 400
    assert call(carrier_sim, "GET", f"/v1/campaigns/{campaign_id}")[1] == before
    # A campaign the registry has not accepted cannot be suspended.
    call(
        carrier_sim,
        "POST",
        "/v1/campaigns",
        {"reference": "p", "brand_id": before["brand_id"], "campaign": CAMPAIGN},
        idempotency_key="p",
    )
    carrier_sim.set_faults(delay_seconds=60)
    _, pending = call(
        carrier_sim,
        "POST",
        "/v1/campaigns",
        {"reference": "q", "brand_id": before["brand_id"], "campaign": CAMPAIGN},
        idempotency_key="q",
    )
    assert (
        call(
            carrier_sim, "POST", f"/control/campaigns/{pending['campaign_id']}/suspend", {"reason": "x"}, api_key=None
        )[0]
        == 409
    )


def test_in_process_controls_match_the_endpoint(carrier_sim):
    _, campaign_id = registered_campaign(carrier_sim)
    carrier_sim.decide_pending()
    view = carrier_sim.suspend_campaign(campaign_id, carrier="VERIZON", reason="Spam complaints")
    assert carriers(view)["VERIZON"] == ("SUSPENDED", "Spam complaints")
    assert carriers(carrier_sim.resume_campaign(campaign_id, carrier="VERIZON"))["VERIZON"] == ("ACCEPTED", "")
    assert carrier_sim.expire_campaign(campaign_id)["status"] == "EXPIRED"


def test_secondary_vetting_scores_an_approved_brand_once_per_request(carrier_sim):
    brand_id, _ = registered_campaign(carrier_sim, legal_name="Acme Score 80 Inc")
    client = gateway(carrier_sim)
    requested = client.request_vetting(reference="v-1", brand_id=brand_id, idempotency_key="v-1")
    assert requested.status == "PENDING" and requested.score is None and requested.vetting_id.startswith("V")
    # A retry with the same key is the same request; the registry bills per request.
    again = client.request_vetting(reference="v-1", brand_id=brand_id, idempotency_key="v-1")
    assert again.vetting_id == requested.vetting_id
    assert carrier_sim.stats()["writes_created"]["vettings"] == 1
    carrier_sim.decide_pending()
    decided = client.get_vetting(requested.vetting_id)
    assert (decided.status, decided.score, decided.brand_id) == ("VETTED", 80, brand_id)
    assert client.find_vetting("v-1") == decided and client.find_vetting("v-unknown") is None


def test_vetting_default_score_failure_and_refusals(carrier_sim):
    from carrier import CarrierRejected

    client = gateway(carrier_sim)
    brand_id, _ = registered_campaign(carrier_sim)
    carrier_sim.decide_pending()
    assert client.get_vetting(client.request_vetting(reference="d", brand_id=brand_id, idempotency_key="d").vetting_id)
    carrier_sim.decide_pending()
    assert client.find_vetting("d").score == 62
    _, unvettable = call(
        carrier_sim,
        "POST",
        "/v1/brands",
        {"reference": "u", "brand": {**BRAND, "legal_name": "Unvettable LLC"}},
        idempotency_key="u",
    )
    carrier_sim.decide_pending()
    client.request_vetting(reference="f", brand_id=unvettable["brand_id"], idempotency_key="f")
    carrier_sim.decide_pending()
    failed = client.find_vetting("f")
    assert failed.status == "FAILED" and failed.score is None and failed.reason
    with pytest.raises(CarrierRejected):
        client.request_vetting(reference="x", brand_id="BNOSUCH", idempotency_key="x")
    carrier_sim.set_faults(delay_seconds=60)
    _, pending = call(carrier_sim, "POST", "/v1/brands", {"reference": "p", "brand": BRAND}, idempotency_key="p")
    with pytest.raises(CarrierRejected, match="APPROVED"):
        client.request_vetting(reference="y", brand_id=pending["brand_id"], idempotency_key="y")
