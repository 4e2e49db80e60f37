"""Numbers joining and leaving campaigns through the carrier client against the simulator: per-number answers
(assigned, failed with a reason, pending while the carrier works), polling, idempotent removal, and the refusals."""

import pytest

from carrier import CampaignNumberStatus, CarrierRejected, get_gateway
from carrier.client import parse_campaign_numbers
from carrier.simulator.rules import NUMBER_IN_ANOTHER_CAMPAIGN

from .test_carrier_client import register_brand, register_campaign

GOOD, OTHER, TAKEN = "+14155550123", "+14155550124", "+14155559999"


@pytest.fixture
def gateway(carrier_sim):
    return get_gateway()


@pytest.fixture
def campaign_id(gateway):
    return register_campaign(gateway, register_brand(gateway).registry_id).registry_id


def test_each_number_gets_its_own_answer(gateway, campaign_id):
    results = gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD, TAKEN], idempotency_key="a-1")
    assert results == [
        CampaignNumberStatus(GOOD, "ASSIGNED"),
        CampaignNumberStatus(TAKEN, "FAILED_ASSIGNMENT", NUMBER_IN_ANOTHER_CAMPAIGN),
    ]
    assert gateway.get_campaign_numbers(campaign_id) == results
    # The failed number is not in the campaign's list of numbers it holds.
    assert gateway.assign_numbers_to_campaign(campaign_id=campaign_id, numbers=[OTHER], idempotency_key="a-2") == [
        GOOD,
        OTHER,
    ]


def test_assignment_is_pending_until_the_carrier_decides(gateway, campaign_id, carrier_sim):
    carrier_sim.set_faults(delay_seconds=3600)
    results = gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD], idempotency_key="a-1")
    assert results == [CampaignNumberStatus(GOOD, "PENDING_ASSIGNMENT")]
    # Asking again while pending changes nothing (and a repeated key replays the first answer).
    again = gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD], idempotency_key="a-2")
    assert again == results
    carrier_sim.decide_pending()
    assert gateway.get_campaign_numbers(campaign_id) == [CampaignNumberStatus(GOOD, "ASSIGNED")]


def test_removal_is_idempotent(gateway, campaign_id, carrier_sim):
    gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD], idempotency_key="a-1")
    carrier_sim.set_faults(delay_seconds=3600)
    removed = gateway.remove_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD, OTHER], idempotency_key="r-1")
    assert removed == [CampaignNumberStatus(GOOD, "PENDING_UNASSIGNMENT"), CampaignNumberStatus(OTHER, "UNASSIGNED")]
    carrier_sim.decide_pending()
    again = gateway.remove_campaign_numbers(campaign_id=campaign_id, numbers=[GOOD], idempotency_key="r-2")
    assert again == [CampaignNumberStatus(GOOD, "UNASSIGNED")]
    assert carrier_sim.stats()["requests"]["POST /v1/campaigns/{id}/numbers/remove"] == 2


def test_a_failed_number_is_tried_again_when_asked_again(gateway, campaign_id, carrier_sim):
    gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[TAKEN], idempotency_key="a-1")
    carrier_sim.set_faults(assignment_failures=False)
    assert gateway.add_campaign_numbers(campaign_id=campaign_id, numbers=[TAKEN], idempotency_key="a-2") == [
        CampaignNumberStatus(TAKEN, "ASSIGNED")
    ]


def test_numbers_join_only_an_active_campaign_and_unknown_campaigns_are_refused(gateway, carrier_sim):
    brand = register_brand(gateway, reference="b-2")
    carrier_sim.set_faults(delay_seconds=3600)
    pending = register_campaign(gateway, brand.registry_id, reference="c-2")
    with pytest.raises(CarrierRejected, match="numbers can only join an ACTIVE campaign"):
        gateway.add_campaign_numbers(campaign_id=pending.registry_id, numbers=[GOOD], idempotency_key="x")
    with pytest.raises(CarrierRejected, match="Unknown campaign"):
        gateway.add_campaign_numbers(campaign_id="C000000", numbers=[GOOD], idempotency_key="y")
    with pytest.raises(CarrierRejected, match="Unknown campaign"):
        gateway.get_campaign_numbers("C000000")


def test_a_campaign_number_answer_that_cannot_be_read_is_unavailable():
    with pytest.raises(ValueError):
        parse_campaign_numbers({"results": [{"e164": GOOD, "status": "MAYBE"}]})
    with pytest.raises(TypeError):
        parse_campaign_numbers({"results": "none"})
