"""Throughput from the 10DLC registration (SPEC.md 8), not one global setting: a number in a usable campaign may send
what its brand's vetting tier allows — texts per minute for the whole campaign, texts per day for the whole brand
(reset at midnight Pacific time) — on top of the per-number limits. Refusals say which limit with a clear code."""

import pytest
import time_machine

from compliance.models import throughput_for_score
from tests.compliance.brand_factories import make_brand, make_campaign
from tests.texting.factories import bulk_texts, make_texter, send
from texting import policy, volume
from texting.models import BlockReason, Message

pytestmark = pytest.mark.django_db

UNVETTED_PER_MINUTE, UNVETTED_PER_DAY = throughput_for_score(None)  # 75, 2,000


@pytest.fixture(params=["redis", "database"])
def counters(request, settings):
    """Run each test with the Redis counters and with the database fallback; per-number limits out of the way."""
    settings.TEXTING_BURST_PER_MINUTE = 10_000
    settings.TEXTING_DAILY_CAP_PER_NUMBER = 100_000
    settings.REDIS_URL = request.getfixturevalue("on_redis") if request.param == "redis" else ""
    return request.param


def registered_texters(org, count=2, *, vetting_score=None):
    """`count` texting users whose numbers are all in one active campaign of one brand."""
    texters = [make_texter(org) for _ in range(count)]
    brand = make_brand(org, vetting_score=vetting_score)
    campaign = make_campaign(brand, numbers=[number for _user, number in texters])
    return [user for user, _number in texters], brand, campaign


def test_the_campaign_per_minute_limit_is_shared_by_its_numbers(org, counters):
    (alice, bob), _brand, campaign = registered_texters(org)
    with time_machine.travel("2025-03-04 10:20:05+00:00", tick=False) as clock:
        assert {send(alice).status for _ in range(40)} == {"accepted"}
        assert {send(bob).status for _ in range(UNVETTED_PER_MINUTE - 40)} == {"accepted"}
        refused = send(bob)
        assert refused.status == Message.Status.BLOCKED
        assert refused.blocked_reason == BlockReason.CAMPAIGN_RATE_LIMITED
        assert campaign.registry_id in refused.status_detail and str(UNVETTED_PER_MINUTE) in refused.status_detail
        assert send(alice).blocked_reason == BlockReason.CAMPAIGN_RATE_LIMITED  # the whole campaign, not one number
        clock.shift(60)
        assert send(alice).status == Message.Status.ACCEPTED  # a new minute


def test_a_vetted_brand_sends_more_per_minute_than_an_unvetted_one(org, counters):
    (vetted,), _brand, _campaign = registered_texters(org, 1, vetting_score=30)
    assert throughput_for_score(30)[0] > UNVETTED_PER_MINUTE
    with time_machine.travel("2025-03-04 10:20:05+00:00", tick=False):
        statuses = [send(vetted).status for _ in range(UNVETTED_PER_MINUTE + 5)]
    assert set(statuses) == {"accepted"}


def fill_brand_day(texters, campaign, count, at, counters):
    """`count` texts already sent today by the brand's numbers: stored (database) or counted (Redis)."""
    number = campaign.campaign_numbers.select_related("number").first().number.e164
    if counters == "database":
        bulk_texts(texters[0].organisation, count, created_at=at, number=number)
    else:
        limits = policy._registration_limits(campaign)
        with time_machine.travel(at, tick=False):
            for minute in range(count // 50 + 1):  # under the per-minute limit, each batch in its own minute
                batch = min(50, count - minute * 50)
                for _ in range(batch):
                    assert volume.reserve(number, at.replace(minute=minute % 60), limits) is None


def test_the_brand_daily_cap_counts_from_midnight_pacific(org, counters):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    texters, brand, campaign = registered_texters(org)
    pacific = ZoneInfo("America/Los_Angeles")
    # 4 March, 20:00 Pacific (5 March 04:00 UTC): the brand has sent all but one text of its day.
    fill_brand_day(texters, campaign, UNVETTED_PER_DAY - 1, datetime(2025, 3, 4, 20, 0, tzinfo=pacific), counters)
    with time_machine.travel(datetime(2025, 3, 4, 23, 30, tzinfo=pacific), tick=False) as clock:
        assert send(texters[1]).status == Message.Status.ACCEPTED
        refused = send(texters[1])
        assert refused.blocked_reason == BlockReason.BRAND_DAILY_CAP_REACHED
        assert f"{UNVETTED_PER_DAY:,}" in refused.status_detail and "Pacific" in refused.status_detail
        clock.move_to(datetime(2025, 3, 4, 23, 59, tzinfo=pacific))  # 07:59 UTC on 5 March: same Pacific day
        assert send(texters[0]).blocked_reason == BlockReason.BRAND_DAILY_CAP_REACHED
        clock.move_to(datetime(2025, 3, 5, 0, 1, tzinfo=pacific))  # the same UTC day, but a new Pacific day
        assert send(texters[0]).status == Message.Status.ACCEPTED


def test_a_vetted_brand_has_a_higher_daily_cap(org, counters):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    texters, brand, campaign = registered_texters(org, vetting_score=80)
    at = datetime(2025, 3, 4, 9, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    fill_brand_day(texters, campaign, UNVETTED_PER_DAY, at, counters)
    with time_machine.travel(at.replace(hour=10), tick=False):
        assert send(texters[1]).status == Message.Status.ACCEPTED


def test_the_per_number_limits_still_apply_inside_a_campaign(org, counters, settings):
    settings.TEXTING_BURST_PER_MINUTE = 3
    (alice,), _brand, _campaign = registered_texters(org, 1, vetting_score=90)
    with time_machine.travel("2025-03-04 10:20:05+00:00", tick=False):
        assert [send(alice).status for _ in range(4)] == ["accepted"] * 3 + ["blocked"]
        assert Message.objects.filter(status="blocked").get().blocked_reason == BlockReason.BURST_LIMIT_EXCEEDED
