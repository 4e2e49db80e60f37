"""The registration form's validation: tax numbers by country (property tests), postal codes, registry ids, the
required fields, public companies, samples, keywords, and the pre-submission checks."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from compliance.checks import presubmission_warnings, values_of
from compliance.forms import RegistrationFormForm
from compliance.models import RegistrationCase, RegistrationForm
from compliance.validation import (
    luhn_valid,
    normalise_business_number,
    normalise_ein,
    normalise_postal_code,
    normalise_registry_id,
    normalise_tax_number,
)

from .factories import VALID_FORM

digits = st.text(alphabet="0123456789", min_size=1, max_size=12)


# --- tax numbers ------------------------------------------------------------------------------------------------------


@given(st.integers(1, 99), st.integers(0, 9_999_999))
def test_every_ein_is_accepted_with_or_without_its_hyphen(prefix, serial):
    canonical = f"{prefix:02d}-{serial:07d}"
    assert normalise_ein(canonical) == canonical
    assert normalise_ein(canonical.replace("-", "")) == canonical
    assert normalise_ein(f"  {canonical} ") == canonical


@given(digits)
def test_digit_strings_other_than_nine_long_are_not_eins(text):
    if len(text) == 9:
        return
    with pytest.raises(ValidationError, match="NN-NNNNNNN"):
        normalise_ein(text)


@given(st.text(max_size=12))
def test_ein_validation_accepts_exactly_the_two_forms(text):
    stripped = text.strip()
    compact = stripped.replace("-", "", 1) if len(stripped) == 10 and stripped[2:3] == "-" else stripped
    looks_valid = len(compact) == 9 and compact.isascii() and compact.isdigit() and compact[:2] != "00"
    try:
        result = normalise_ein(text)
    except ValidationError:
        assert not looks_valid
    else:
        assert looks_valid and result == f"{compact[:2]}-{compact[2:]}"


def test_ein_never_starts_with_00():
    with pytest.raises(ValidationError, match="No EIN starts with 00"):
        normalise_ein("00-1234567")


def luhn_complete(eight: str) -> str:
    return next(eight + str(d) for d in range(10) if luhn_valid(eight + str(d)))


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_business_numbers_with_a_right_check_digit_are_accepted(eight):
    bn = luhn_complete(eight)
    assert normalise_business_number(bn) == bn
    assert normalise_business_number(f"{bn[:3]} {bn[3:6]} {bn[6:]}") == bn
    wrong = bn[:8] + str((int(bn[8]) + 1) % 10)
    with pytest.raises(ValidationError, match="check digit"):
        normalise_business_number(wrong)


@given(digits)
def test_business_numbers_are_nine_digits(text):
    if len(text) == 9:
        return
    with pytest.raises(ValidationError, match="9 digits"):
        normalise_business_number(text)


def test_tax_number_follows_the_brand_country():
    assert normalise_tax_number("123456789", "US") == "12-3456789"
    assert normalise_tax_number("123456782", "CA") == "123456782"
    with pytest.raises(ValidationError, match="Business Number"):
        normalise_tax_number("12-3456789", "CA")


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94105", "US", "94105"),
        ("94105-1234", "US", "94105-1234"),
        ("m5v1l9", "CA", "M5V 1L9"),
        ("M5V 1L9", "CA", "M5V 1L9"),
    ],
)
def test_postal_codes(raw, country, expected):
    assert normalise_postal_code(raw, country) == expected


@pytest.mark.parametrize(("raw", "country"), [("9410", "US"), ("M5V 1L9", "US"), ("94105", "CA"), ("D5V 1L9", "CA")])
def test_bad_postal_codes(raw, country):
    with pytest.raises(ValidationError):
        normalise_postal_code(raw, country)


def test_registry_ids():
    assert normalise_registry_id(" b1a2b3c ", "brand") == "B1A2B3C"
    for bad, kind in (("C1A2B3C", "brand"), ("B12345", "brand"), ("B1A2B3C", "campaign")):
        with pytest.raises(ValidationError):
            normalise_registry_id(bad, kind)


# --- the form ---------------------------------------------------------------------------------------------------------


def bound(**changes):
    return RegistrationFormForm(
        {**VALID_FORM, **changes},
        instance=RegistrationForm(),
        case=RegistrationCase(state=RegistrationCase.State.FORM_SENT),
    )


def errors(**changes):
    form = bound(**changes)
    form.is_valid()
    return {field: " ".join(messages) for field, messages in form.errors.items()}


def test_the_valid_form_is_valid_and_normalised():
    form = bound(
        tax_number="123456789", support_phone="(415) 555-0100", postal_code="94105", opt_out_keywords="stop, quit, stop"
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["tax_number"] == "12-3456789"
    assert form.cleaned_data["support_phone"] == "+14155550100"
    assert form.cleaned_data["opt_out_keywords"] == "STOP, QUIT"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"legal_name": ""}, "legal_name", "required"),
        ({"tax_number": ""}, "tax_number", "Enter the tax number"),
        ({"tax_number": "1234"}, "tax_number", "NN-NNNNNNN"),
        ({"country": "CA", "tax_number": "12-3456789", "postal_code": "M5V 1L9"}, "tax_number", "Business Number"),
        ({"website": "http://www.acme.example"}, "website", "https://"),
        ({"website": "https://"}, "website", "https://"),
        ({"support_email": "support@"}, "support_email", "valid email"),
        ({"support_phone": "+44 20 7946 0958"}, "support_phone", "not a US or Canadian number"),
        ({"support_phone": "12"}, "support_phone", "not a valid"),
        ({"entity_type": "PUBLIC_PROFIT"}, "stock_symbol", "stock symbol"),
        ({"entity_type": "PUBLIC_PROFIT", "stock_symbol": "CSCO"}, "stock_exchange", "exchange"),
        ({"entity_type": "PUBLIC_PROFIT", "stock_symbol": "$$$", "stock_exchange": "NASDAQ"}, "stock_symbol", "ticker"),
        ({"entity_type": "TRUST"}, "entity_type", "valid choice"),
        ({"use_case": "SPAM"}, "use_case", "valid choice"),
        ({"sample_2": ""}, "sample_2", "at least two sample messages"),
        ({"sample_1": "Too short"}, "sample_1", "20 to 1024 characters"),
        ({"sample_3": "x" * 1025}, "sample_3", "20 to 1024 characters"),
        ({"description": "Texts."}, "description", "40 to 4096"),
        ({"message_flow": ""}, "message_flow", "required"),
        ({"opt_out_keywords": "UNSUBSCRIBE"}, "opt_out_keywords", "must include STOP"),
        ({"opt_out_keywords": "STOP, OPT OUT"}, "opt_out_keywords", "not a keyword"),
        ({"help_keywords": "INFO"}, "help_keywords", "must include HELP"),
        ({"opt_out_message": "Bye"}, "opt_out_message", "20 to 320"),
        ({"help_message": "x" * 321}, "help_message", "20 to 320"),
        ({"monthly_volume": ""}, "monthly_volume", "required"),
    ],
)
def test_bad_input_is_named_next_to_its_field(changes, field, message):
    found = errors(**changes)
    assert field in found and message in found[field], found


def test_a_sole_proprietor_needs_no_tax_number_and_a_canadian_brand_a_business_number():
    assert errors(entity_type="SOLE_PROPRIETOR", tax_number="") == {}
    assert errors(country="CA", tax_number="123456782", postal_code="M5V 1L9", support_phone="416 555 0100") == {}


def test_samples_may_be_in_any_two_slots():
    assert errors(sample_1="", sample_3=VALID_FORM["sample_1"]) == {}


# --- pre-submission checks ----------------------------------------------------------------------------------------


def warnings_for(**changes):
    return [
        (w.field, w.message) for w in presubmission_warnings(values_of(RegistrationForm(**{**VALID_FORM, **changes})))
    ]


def test_a_good_form_has_no_warnings():
    assert warnings_for() == []


def test_samples_that_do_not_name_the_brand():
    found = warnings_for(
        sample_1="Your ticket 4512 was updated. Reply STOP to opt out.",
        sample_2="Your part ships tomorrow, thank you for your patience.",
    )
    assert found == [
        (
            "sample_1",
            "Sample messages 1, 2 do not name your brand (“Acme”). Carriers reject messages "
            "that do not say who is sending.",
        )
    ]


def test_the_legal_name_without_its_suffix_counts_as_naming_the_brand():
    found = warnings_for(dba_name="", sample_2="Acme Test here: your part ships tomorrow, thanks!")
    assert (
        "sample_1",
        "Sample message 1 does not name your brand (“Acme Test Inc.”). Carriers reject messages that "
        "do not say who is sending.",
    ) in found  # "Acme" alone is not the legal name
    assert not any("2" in message for field, message in found if field.startswith("sample"))


def test_no_opt_out_language_in_any_sample():
    found = warnings_for(sample_1="Acme: your ticket 4512 was updated today, thank you.")
    assert [field for field, _ in found] == ["sample_1"] and "Reply STOP to opt out" in found[0][1]


def test_opt_out_reply_without_the_brand():
    assert [f for f, _ in warnings_for(opt_out_message="You are unsubscribed. No more messages.")] == [
        "opt_out_message"
    ]


@pytest.mark.parametrize("website", ["http://acme.example", "acme.example", "https://acme"])
def test_website_not_a_valid_https_url(website):
    assert [f for f, _ in warnings_for(website=website)] == ["website"]


def test_no_warning_about_a_field_nobody_has_filled_yet():
    # The form's "required" errors say what is missing; a warning would only repeat it, on a blank form too.
    assert warnings_for(website="", use_case="MARKETING", message_flow="", opt_out_message="") == []
    blank_samples = {f"sample_{n}": "" for n in range(1, 6)}
    assert warnings_for(**blank_samples) == []


@pytest.mark.parametrize("use_case", ["MARKETING", "MIXED"])
def test_marketing_without_an_opt_in_description(use_case):
    assert [f for f, _ in warnings_for(use_case=use_case, message_flow="Web form.")] == ["message_flow"]
    assert warnings_for(use_case="CUSTOMER_CARE", message_flow="") == []
