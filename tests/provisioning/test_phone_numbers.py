"""Telephone numbers are stored in E.164 and only US and Canadian numbers are accepted (SPEC.md 5, 6)."""

import phonenumbers
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.models import PhoneNumber
from provisioning.phone import display_tn, normalise_tn
from tests.factories import make_location, make_org


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("(415) 555-0123", "+14155550123"),
        ("415.555.0123", "+14155550123"),
        ("+1 416 555 0123", "+14165550123"),
        ("1-212-555-0100", "+12125550100"),
    ],
)
def test_us_and_canadian_numbers_are_stored_in_e164(raw, e164):
    assert normalise_tn(raw) == e164


@pytest.mark.parametrize(
    "raw, words",
    [
        ("+44 20 7946 0958", "not a US or Canadian number"),
        ("+1 876 555 0123", "belongs to JM"),  # Jamaica shares +1 but is international
        ("555-0123", "not a valid"),
        ("hello", "not a telephone number"),
        ("", "Enter a telephone number"),
    ],
)
def test_anything_else_is_refused_with_a_message(raw, words):
    with pytest.raises(ValidationError) as exc:
        normalise_tn(raw)
    assert words in " ".join(exc.value.messages)


nanp_numbers = st.builds(
    lambda npa, nxx, line: f"{npa}{nxx}{line:04d}",
    st.sampled_from(["415", "212", "312", "512", "416", "604", "514", "647"]),
    st.integers(200, 999).map(str),
    st.integers(0, 9999),
)


@given(national=nanp_numbers, style=st.sampled_from(["plain", "dashed", "plus1", "parens"]))
def test_property_valid_nanp_numbers_round_trip_to_e164(national, style):
    parsed = phonenumbers.parse(national, "US")
    text = {
        "plain": national,
        "dashed": f"{national[:3]}-{national[3:6]}-{national[6:]}",
        "plus1": f"+1{national}",
        "parens": f"({national[:3]}) {national[3:6]} {national[6:]}",
    }[style]
    if phonenumbers.is_valid_number(parsed) and phonenumbers.region_code_for_number(parsed) in ("US", "CA"):
        assert normalise_tn(text) == f"+1{national}"
    else:
        with pytest.raises(ValidationError):
            normalise_tn(text)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.text(max_size=30))
def test_property_arbitrary_text_is_either_a_valid_us_ca_number_or_refused_and_not_saved(raw):
    location = make_location(make_org())
    before = PhoneNumber.objects.count()
    try:
        e164 = normalise_tn(raw)
    except ValidationError as exc:
        assert exc.messages and all(m.strip() for m in exc.messages)
        number = PhoneNumber(e164=raw, location=location)
        with pytest.raises(ValidationError):
            number.full_clean()
        assert PhoneNumber.objects.count() == before
    else:
        parsed = phonenumbers.parse(e164)
        assert phonenumbers.region_code_for_number(parsed) in ("US", "CA")
        assert e164.startswith("+1") and len(e164) == 12


@pytest.mark.django_db
def test_database_refuses_a_duplicate_or_non_e164_number():
    location = make_location(make_org())
    PhoneNumber.objects.create(e164="+14155550123", location=location)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(e164="+14155550123", location=location)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(e164="415-555-0124", location=location)
    assert PhoneNumber.objects.count() == 1


@pytest.mark.django_db
def test_a_user_has_at_most_one_primary_number():
    from tests.factories import make_user

    org = make_org()
    location = make_location(org)
    user = make_user(org)
    PhoneNumber.objects.create(e164="+14155550123", location=location, assigned_user=user, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(e164="+14155550124", location=location, assigned_user=user, is_primary=True)
    PhoneNumber.objects.create(e164="+14155550125", location=location, assigned_user=user, is_primary=False)
    assert user.numbers.filter(is_primary=True).count() == 1


@given(area=st.integers(200, 999), exchange=st.integers(200, 999), line=st.integers(0, 9999))
def test_display_of_a_north_american_number_is_what_phonenumbers_shows(area, exchange, line):
    e164 = f"+1{area}{exchange}{line:04d}"
    expected = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    assert display_tn(e164) == expected


@pytest.mark.parametrize(
    "e164, shown",
    [("+442079460000", "+44 20 7946 0000"), ("not a number", "not a number"), ("+14१5555०१२३", "+1 415-555-0123")],
)  # Devanagari digits: read as digits
def test_display_of_other_numbers_goes_through_phonenumbers(e164, shown):
    assert display_tn(e164) == shown
