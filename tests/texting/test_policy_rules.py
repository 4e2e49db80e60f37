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


# --- suspensions by Cisco PSTN support and the opt-out registry (issue 11) -------------------------------------------


def _suspend(org, *, number=None, reason="Spam complaints", lifted=False):
    from texting.models import Suspension

    return Suspension.objects.create(
        organisation=org, number=number, reason=reason, lifted_at=timezone.now() if lifted else None
    )


def test_only_an_active_suspension_of_this_organisation_or_this_number_refuses(org, other_org):
    from tests.factories import make_location, make_numbers

    user, number = make_texter(org)
    _suspend(other_org)  # another organisation's
    _suspend(org, lifted=True)  # lifted
    _suspend(org, number=number, lifted=True)
    _suspend(org, number=make_numbers(make_location(org), 1)[0])  # another of our numbers
    assert send(user).status == Message.Status.ACCEPTED
    _suspend(org, number=number, reason="Bursts")
    stored = Message.objects.get(pk=send(user).pk)
    assert stored.blocked_reason == BlockReason.SUSPENDED_BY_CISCO
    assert stored.status_detail == (
        f"Cisco PSTN support suspended texting from {number.display}: Bursts. "
        "Contact Cisco PSTN support through your partner."
    )


@pytest.mark.parametrize("reason, shown", [("Spam", "Spam."), (" Spam! ", "Spam!"), ("Is this spam?", "Is this spam?")])
def test_a_suspended_organisation_is_told_supports_reason_as_a_sentence(org, reason, shown):
    user, _ = make_texter(org)
    _suspend(org, reason=reason)
    stored = Message.objects.get(pk=send(user).pk)
    assert stored.blocked_reason == BlockReason.SUSPENDED_BY_CISCO
    assert stored.status_detail == (
        f"Cisco PSTN support suspended Business Texting for {org.name}: {shown} "
        "Contact Cisco PSTN support through your partner."
    )


@pytest.mark.parametrize("source", [OptOut.Source.MANUAL, OptOut.Source.IMPORT])
def test_a_number_an_administrator_put_on_the_registry_is_refused_in_those_words(org, other_org, source):
    user, _ = make_texter(org)
    OptOut.objects.create(organisation=other_org, party=RECIPIENT, source=source)  # another organisation's list
    OptOut.objects.create(organisation=org, party="+14155550177", source=source)  # another number
    assert send(user).status == Message.Status.ACCEPTED
    OptOut.objects.create(organisation=org, party=RECIPIENT, source=source, reason="By phone")
    stored = Message.objects.get(pk=send(user).pk)
    assert stored.blocked_reason == BlockReason.RECIPIENT_OPTED_OUT
    assert stored.status_detail == (
        f"+1 415-555-0123 is on {org.name}'s do-not-text list (its opt-out registry): "
        "they receive no texts from the organisation."
    )


def test_a_stop_is_refused_in_its_own_words(org):
    user, number = make_texter(org)
    OptOut.objects.create(organisation=org, party=RECIPIENT, business_number=number.e164, keyword="STOP")
    stored = Message.objects.get(pk=send(user).pk)
    assert stored.status_detail == (
        f"+1 415-555-0123 replied STOP to {org.name}: they receive no texts until they reply START."
    )
