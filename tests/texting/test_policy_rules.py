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


def test_a_long_invalid_destination_is_stored_visibly_cut_at_40_characters(org):
    user, _ = make_texter(org)
    given = "  " + "9" * 45 + "  "
    stored = Message.objects.get(pk=send(user, to=given).pk)
    assert stored.blocked_reason == BlockReason.INVALID_DESTINATION and stored.other_party == "9" * 39 + "…"


def test_an_old_webex_app_is_told_which_version_to_update_to(org):
    user, _ = make_texter(org)
    stored = Message.objects.get(pk=send(user, app_version="41.1").pk)
    assert stored.blocked_reason == BlockReason.APP_VERSION_TOO_OLD
    assert "update to Webex App 42.12 or later" in stored.status_detail


def test_another_organisations_licence_and_switch_do_not_let_ours_text(org, other_org):
    from provisioning.models import Licence
    from tests.texting.factories import enable_texting

    user, _ = make_texter(org, switch_on=False)
    enable_texting(other_org)
    assert Message.objects.get(pk=send(user).pk).blocked_reason == BlockReason.TEXTING_DISABLED
    enable_texting(org)
    Licence.objects.filter(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).delete()
    assert Message.objects.get(pk=send(user).pk).blocked_reason == BlockReason.NO_ADDON_LICENCE


def test_a_number_that_is_not_the_users_primary_one_does_not_make_them_a_texter(org):
    from provisioning.models import PhoneNumber

    user, number = make_texter(org)
    PhoneNumber.objects.filter(pk=number.pk).update(is_primary=False)
    stored = Message.objects.get(pk=send(user).pk)
    assert stored.blocked_reason == BlockReason.NOT_PRIMARY_NUMBER and stored.business_number == ""


def test_a_text_without_a_body_is_stored_as_zero_segments(org):
    user, _ = make_texter(org)
    stored = Message.objects.get(pk=send(user, body=None).pk)
    assert stored.blocked_reason == BlockReason.EMPTY_BODY and stored.segments == 0
