"""Edges of the sending policy that `make mutation` showed no test noticed: what is stored, what is refused."""

import pytest
from django.utils import timezone

from tests.texting.factories import RECIPIENT, make_texter, send
from texting.models import BlockReason, Message, OptOut
from texting.policy import ForeignNumber

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("from_number", ["not a number", "+44 20 7946 0000"])
def test_a_sender_number_that_is_no_number_of_ours_is_refused_and_nothing_is_stored(org, from_number):
    user, _ = make_texter(org)
    with pytest.raises(ForeignNumber, match=org.name):
        send(user, from_number=from_number)
    assert not Message.objects.exists()


def test_a_recipient_who_opted_back_in_receives_texts_again(org):
    user, number = make_texter(org)
    OptOut.objects.create(
        organisation=org, party=RECIPIENT, business_number=number.e164, keyword="STOP", opted_in_at=timezone.now()
    )
    assert send(user).status == Message.Status.ACCEPTED


def test_a_long_invalid_destination_is_stored_as_given_up_to_40_characters(org):
    user, _ = make_texter(org)
    given = "  " + "9" * 45 + "  "
    stored = Message.objects.get(pk=send(user, to=given).pk)
    assert stored.blocked_reason == BlockReason.INVALID_DESTINATION and stored.other_party == "9" * 40


def test_an_old_webex_app_is_told_which_version_to_update_to(org):
    user, _ = make_texter(org)
    stored = Message.objects.get(pk=send(user, app_version="41.1").pk)
    assert stored.blocked_reason == BlockReason.APP_VERSION_TOO_OLD
    assert "update to Webex App 42.12 or later" in stored.status_detail
