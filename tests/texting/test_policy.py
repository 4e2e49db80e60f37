"""The sending policy: every rule allows and refuses, and every refusal is stored as a blocked text with its reason."""

import pytest
import time_machine

from provisioning.models import Licence, PhoneNumber
from tests.factories import make_numbers, make_user
from tests.texting.factories import RECIPIENT, enable_texting, make_texter, send
from texting.models import BlockReason, Message, OptOut
from texting.policy import ForeignNumber

pytestmark = pytest.mark.django_db


def assert_blocked(message, reason):
    stored = Message.objects.get(pk=message.pk)
    assert stored.status == Message.Status.BLOCKED
    assert stored.blocked_reason == reason
    assert stored.status_detail  # in words, too
    return stored


def test_a_text_that_meets_every_rule_is_accepted_and_stored(org):
    user, number = make_texter(org)
    message = send(user, to="(415) 555-0123", body="Your order shipped.")
    stored = Message.objects.get(pk=message.pk)
    assert stored.status == Message.Status.ACCEPTED and stored.blocked_reason == ""
    assert stored.business_number == number.e164 and stored.other_party == RECIPIENT
    assert stored.direction == Message.Direction.OUTBOUND and stored.user == user and stored.organisation == org
    assert stored.body == "Your order shipped." and stored.segments == 1 and stored.encoding == "gsm7"


def test_a_canadian_destination_is_allowed(org):
    user, _ = make_texter(org)
    assert send(user, to="+1 416 555 0123").status == Message.Status.ACCEPTED


def test_no_addon_licence_is_refused(org):
    user, _ = make_texter(org)
    Licence.objects.filter(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).update(
        status=Licence.Status.SUSPENDED
    )
    assert_blocked(send(user), BlockReason.NO_ADDON_LICENCE)


def test_texting_switched_off_is_refused_and_on_again_is_allowed(org):
    user, _ = make_texter(org, switch_on=False)
    assert_blocked(send(user), BlockReason.TEXTING_DISABLED)
    enable_texting(org)
    assert send(user).status == Message.Status.ACCEPTED
    enable_texting(org, on=False)
    assert_blocked(send(user), BlockReason.TEXTING_DISABLED)
    assert Message.objects.filter(organisation=org).count() == 3  # turning it off deleted nothing


def test_a_user_without_a_primary_number_is_refused(org):
    enable_texting(org)
    from portal.models import User

    user = make_user(org, role=User.Role.END_USER)
    stored = assert_blocked(send(user), BlockReason.NOT_PRIMARY_NUMBER)
    assert stored.business_number == ""


def test_sending_from_another_number_of_the_organisation_is_refused(org):
    user, primary = make_texter(org)
    other = make_numbers(primary.location, 1)[0]
    stored = assert_blocked(send(user, from_number=other.e164), BlockReason.NOT_PRIMARY_NUMBER)
    assert stored.business_number == other.e164
    assert send(user, from_number=primary.e164).status == Message.Status.ACCEPTED


def test_sending_from_another_organisations_number_is_refused_and_not_stored(org, other_org):
    user, _ = make_texter(org)
    _, theirs = make_texter(other_org)
    with pytest.raises(ForeignNumber):
        send(user, from_number=theirs.e164)
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    "state",
    [
        PhoneNumber.TextingState.NOT_AUTHORISED,
        PhoneNumber.TextingState.PENDING,
        PhoneNumber.TextingState.AUTHORISED,
        PhoneNumber.TextingState.FAILED,
    ],
)
def test_a_number_not_registered_in_a_campaign_is_refused(org, state):
    user, _ = make_texter(org, state=state)
    assert_blocked(send(user), BlockReason.NUMBER_NOT_REGISTERED)


@pytest.mark.parametrize(
    "version,allowed",
    [
        ("42.12", True),
        ("42.12.0.1", True),
        ("43.1.0", True),
        ("42.11.9.9999", False),
        ("41.12", False),
        ("", False),
        ("garbage", False),
    ],
)
def test_the_webex_app_must_be_42_12_or_later(org, version, allowed):
    user, _ = make_texter(org)
    message = send(user, app_version=version)
    if allowed:
        assert message.status == Message.Status.ACCEPTED
    else:
        assert_blocked(message, BlockReason.APP_VERSION_TOO_OLD)


@pytest.mark.parametrize(
    "to,reason",
    [
        ("12345", BlockReason.INVALID_DESTINATION),
        ("", BlockReason.INVALID_DESTINATION),
        (None, BlockReason.INVALID_DESTINATION),
        ("+1 555 0100", BlockReason.INVALID_DESTINATION),
        ("+44 7911 123456", BlockReason.INTERNATIONAL_DESTINATION),
        ("+52 55 1234 5678", BlockReason.INTERNATIONAL_DESTINATION),
        ("+1 876 555 0123", BlockReason.INTERNATIONAL_DESTINATION),  # Jamaica shares +1 but is not the US or Canada
    ],
)
def test_only_valid_us_and_canadian_destinations(org, to, reason):
    user, _ = make_texter(org)
    stored = assert_blocked(send(user, to=to), reason)
    assert stored.other_party == (to or "").strip()


def test_media_is_refused(org):
    user, _ = make_texter(org)
    assert_blocked(send(user, media=["https://example.com/cat.jpg"]), BlockReason.MEDIA_NOT_SUPPORTED)
    assert send(user, media=[]).status == Message.Status.ACCEPTED


def test_empty_and_overlong_texts_are_refused(org):
    user, _ = make_texter(org)
    assert_blocked(send(user, body="   "), BlockReason.EMPTY_BODY)
    assert_blocked(send(user, body=None), BlockReason.EMPTY_BODY)
    stored = assert_blocked(send(user, body="a" * (153 * 10 + 1)), BlockReason.BODY_TOO_LONG)
    assert stored.segments == 11
    assert send(user, body="a" * (153 * 10)).status == Message.Status.ACCEPTED


def test_a_recipient_who_opted_out_of_the_organisation_is_refused(org):
    user, _ = make_texter(org)
    colleague, _ = make_texter(org)
    OptOut.objects.create(organisation=org, party=RECIPIENT, business_number="+15125550100", keyword="STOP")
    assert_blocked(send(user), BlockReason.RECIPIENT_OPTED_OUT)
    # The opt-out is from the whole organisation, not only the number the STOP reached.
    assert_blocked(send(colleague), BlockReason.RECIPIENT_OPTED_OUT)
    assert send(user, to="+14155550124").status == Message.Status.ACCEPTED


def test_an_opt_out_from_another_organisation_does_not_apply(org, other_org):
    user, _ = make_texter(org)
    OptOut.objects.create(organisation=other_org, party=RECIPIENT, business_number="+15125550100", keyword="STOP")
    assert send(user).status == Message.Status.ACCEPTED


@pytest.fixture(params=["redis", "database"])
def counters(request, settings):
    """Run a volume test with the Redis counters and with the database fallback."""
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("on_redis")
    else:
        settings.REDIS_URL = ""
    return request.param


def test_burst_limit_per_minute(org, settings, counters):
    settings.TEXTING_BURST_PER_MINUTE = 3
    user, _ = make_texter(org)
    with time_machine.travel("2025-03-04 10:20:05+00:00", tick=False):
        results = [send(user).status for _ in range(5)]
        assert results == ["accepted"] * 3 + ["blocked"] * 2
        assert_blocked(Message.objects.filter(status="blocked").first(), BlockReason.BURST_LIMIT_EXCEEDED)
    with time_machine.travel("2025-03-04 10:21:00+00:00", tick=False):
        assert send(user).status == Message.Status.ACCEPTED  # a new minute


def test_daily_cap_per_number(org, settings, counters):
    settings.TEXTING_DAILY_CAP_PER_NUMBER = 4
    user, _ = make_texter(org)
    colleague, _ = make_texter(org)
    with time_machine.travel("2025-03-04 23:50:00+00:00", tick=False) as clock:
        statuses = []
        for _ in range(5):
            statuses.append(send(user).status)
            clock.shift(60)  # a minute apart: the burst limit never applies
        assert statuses == ["accepted"] * 4 + ["blocked"]
        assert Message.objects.get(status="blocked").blocked_reason == BlockReason.DAILY_CAP_EXCEEDED
        # The cap is per number: a colleague's number still has its allowance.
        assert send(colleague).status == Message.Status.ACCEPTED
        clock.shift(600)  # 00:05 UTC: a new day, a new allowance
        assert send(user).status == Message.Status.ACCEPTED


def test_texts_refused_for_another_reason_do_not_use_the_allowance(org, settings, counters):
    settings.TEXTING_BURST_PER_MINUTE = 2
    user, _ = make_texter(org)
    with time_machine.travel("2025-03-04 10:20:05+00:00", tick=False):
        for _ in range(3):
            assert_blocked(send(user, to="+44 7911 123456"), BlockReason.INTERNATIONAL_DESTINATION)
        assert [send(user).status for _ in range(3)] == ["accepted", "accepted", "blocked"]
