"""Bilingual texting (SPEC.md 4, issue 15): the French (Canada) keywords ARRÊT / ARRET and AIDE are recognised, in
any case and with or without the accent, and every automatic reply goes out in the language of the keyword."""

import itertools

import pytest

from compliance.models import RegistrationCase
from tests.compliance.factories import VALID_FORM, make_case
from tests.factories import make_location
from tests.texting.factories import make_texter, send
from texting.actions import receive_text
from texting.models import Message, OptOut

pytestmark = pytest.mark.django_db

# A Montréal mobile (area code 514) texting a Toronto number of the organisation (416, a location in Canada).
QUEBEC_PARTY = "+15145550188"
US_PARTY = "+14155550123"

FRENCH_CONFIRMATION = "Votre désabonnement est confirmé"
ENGLISH_CONFIRMATION = "You are unsubscribed"


@pytest.fixture
def canadian(org):
    """A texting user whose primary number is in the organisation's Canadian location."""
    return make_texter(org, location=make_location(org, country="CA"))


_MESSAGE_IDS = itertools.count()


def text_in(number, body, *, party=QUEBEC_PARTY):
    return receive_text(carrier_message_id=f"M{next(_MESSAGE_IDS)}", sender=party, recipient=number.e164, body=body)


def replies_to(party):
    return list(Message.objects.filter(other_party=party, is_automatic_reply=True).order_by("id"))


def test_a_french_stop_from_a_canadian_party_opts_out_with_one_french_confirmation(org, canadian):
    user, number = canadian
    assert number.e164.startswith("+1416")
    text_in(number, "ARRET")
    opt_out = OptOut.objects.get(organisation=org, party=QUEBEC_PARTY)
    assert opt_out.is_active and opt_out.keyword == "ARRET" and opt_out.business_number == number.e164
    (reply,) = replies_to(QUEBEC_PARTY)
    assert reply.body == (
        f"{org.name} : Votre désabonnement est confirmé. Vous ne recevrez plus de messages. "
        "Répondez START pour vous réabonner."
    )
    assert reply.business_number == number.e164 and reply.status == Message.Status.ACCEPTED
    # However many follow, in either language: still exactly one confirmation.
    text_in(number, "ARRÊT")
    text_in(number, "STOP")
    assert len(replies_to(QUEBEC_PARTY)) == 1


@pytest.mark.parametrize("body", ["ARRÊT", "arrêt", " Arrêt ", "arret", "Arret\n"])
def test_arret_is_recognised_in_any_case_with_or_without_the_accent(org, canadian, body):
    _, number = canadian
    text_in(number, body)
    assert OptOut.objects.get(party=QUEBEC_PARTY).is_active
    (reply,) = replies_to(QUEBEC_PARTY)
    assert FRENCH_CONFIRMATION in reply.body


def test_the_opt_out_applies_at_once_to_sending(org, canadian):
    user, number = canadian
    assert send(user, to=QUEBEC_PARTY).status == Message.Status.ACCEPTED
    text_in(number, "arrêt")
    refused = send(user, to=QUEBEC_PARTY, body="Rappel : votre rendez-vous est demain.")
    assert refused.status == Message.Status.BLOCKED and refused.blocked_reason == "recipient_opted_out"
    # A colleague on another of the organisation's numbers cannot text them either.
    colleague, _ = make_texter(org)
    assert send(colleague, to=QUEBEC_PARTY).blocked_reason == "recipient_opted_out"


def test_a_us_number_also_honours_arret_and_answers_in_french(org):
    """Decision (SPEC.md 4 lists ARRET among the opt-out keywords of the US and Canada): a US number that receives
    ARRET from a US party opts them out like STOP, with the confirmation in French."""
    user, number = make_texter(org)  # a US location, area code 415
    text_in(number, "ARRET", party=US_PARTY)
    assert OptOut.objects.get(party=US_PARTY).is_active
    (reply,) = replies_to(US_PARTY)
    assert FRENCH_CONFIRMATION in reply.body and ENGLISH_CONFIRMATION not in reply.body
    assert send(user, to=US_PARTY).blocked_reason == "recipient_opted_out"


def test_an_english_stop_from_a_canadian_party_is_answered_in_english(org, canadian):
    _, number = canadian
    text_in(number, "STOP")
    (reply,) = replies_to(QUEBEC_PARTY)
    assert ENGLISH_CONFIRMATION in reply.body and FRENCH_CONFIRMATION not in reply.body


def test_help_and_aide_are_answered_each_in_its_own_language(org, canadian):
    _, number = canadian
    text_in(number, "HELP")
    text_in(number, "aide")
    english, french = (reply.body for reply in replies_to(QUEBEC_PARTY))
    assert english == f"{org.name}: Reply STOP to unsubscribe. For help, contact {org.name}."
    assert french == (
        f"{org.name} : Répondez ARRET pour vous désabonner. Pour obtenir de l'aide, communiquez avec {org.name}."
    )
    assert not OptOut.objects.exists()
    # Written without the accent (the keyword is recognised either way) so the French replies stay GSM-7: one
    # segment, not the two that UCS-2 would need.
    assert [(reply.encoding, reply.segments) for reply in replies_to(QUEBEC_PARTY)] == [("gsm7", 1), ("gsm7", 1)]


def test_a_french_sentence_is_an_ordinary_text(org, canadian):
    _, number = canadian
    text_in(number, "Arrêt de bus à 17 h")
    assert not OptOut.objects.exists() and replies_to(QUEBEC_PARTY) == []


def test_a_campaigns_english_replies_answer_english_keywords_and_french_ones_get_french_with_its_contact(org, canadian):
    """The registration form stores one help and one opt-out reply, written in English: they answer HELP and STOP.
    AIDE and ARRÊT get our French replies, signed with the registered brand and its support contact."""
    _, number = canadian
    make_case(org, RegistrationCase.State.COMPLETED, numbers=[number])
    brand = VALID_FORM["dba_name"] or VALID_FORM["legal_name"]
    text_in(number, "HELP")
    text_in(number, "AIDE")
    text_in(number, "ARRÊT")
    english_help, french_help, french_stop = (reply.body for reply in replies_to(QUEBEC_PARTY))
    assert english_help == VALID_FORM["help_message"]
    assert french_help == (
        f"{brand} : Répondez ARRET pour vous désabonner. Pour obtenir de l'aide, "
        f"communiquez avec {VALID_FORM['support_phone']}."
    )
    assert french_stop.startswith(f"{brand} : {FRENCH_CONFIRMATION}")
    assert VALID_FORM["opt_out_message"] not in french_stop


def test_start_after_arret_opts_back_in_with_an_english_reply(org, canadian):
    """START is the only opt-in keyword (SPEC.md 4 has no French one): the French confirmation says to reply START,
    and START, an English keyword, is answered in English."""
    user, number = canadian
    text_in(number, "ARRÊT")
    text_in(number, "START")
    assert not OptOut.objects.get(party=QUEBEC_PARTY).is_active
    assert "subscribed again" in replies_to(QUEBEC_PARTY)[-1].body
    assert send(user, to=QUEBEC_PARTY).status == Message.Status.ACCEPTED
