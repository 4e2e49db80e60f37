"""Telephone numbers: parsed and validated with `phonenumbers`, stored in E.164. US and Canada only (SPEC.md 5)."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TEXTING_REGIONS = frozenset({"US", "CA"})
# The North American Numbering Plan country code both countries share.
NANP_COUNTRY_CODE = 1
# +1, an area code and an exchange code (neither starting with 0 or 1), four digits.
NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")  # ASCII digits: \d would match any script's digits


def normalise_tn(raw: str, default_region: str = "US") -> str:
    """Return the E.164 form of a valid US or Canadian number, or raise ValidationError saying what is wrong."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a telephone number."), code="required")
    if len(text) > 40:
        raise ValidationError(_("That is too long to be a telephone number."), code="invalid")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise ValidationError(_("“%(text)s” is not a telephone number.") % {"text": text}, code="invalid") from None
    if parsed.country_code != NANP_COUNTRY_CODE:
        raise ValidationError(
            _("“%(text)s” is not a US or Canadian number: Business Texting supports only US and Canadian numbers.")
            % {"text": text},
            code="international",
        )
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            _("“%(text)s” is not a valid US or Canadian telephone number.") % {"text": text}, code="invalid"
        )
    region = phonenumbers.region_code_for_number(parsed)
    if region not in TEXTING_REGIONS:
        raise ValidationError(
            _("“%(text)s” belongs to %(region)s: Business Texting supports only US and Canadian numbers.")
            % {"text": text, "region": region or _("another country")},
            code="international",
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """US or CA for a stored number."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164))


def display_tn(e164: str) -> str:
    """How Control Hub shows a number: +1 415-555-0123.

    A well-formed NANP number formats by slicing, exactly as `phonenumbers` formats it: parsing each one took a fifth
    of the time of a 50-row page of numbers (benchmarks/load.py). Anything else is parsed."""
    if NANP_E164.fullmatch(e164):
        return f"+1 {e164[2:5]}-{e164[5:8]}-{e164[8:]}"
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


def validate_e164_tn(value: str) -> None:
    """Model field validator: the stored value must already be the canonical E.164 of a US/CA number."""
    canonical = normalise_tn(value)
    if canonical != value:
        raise ValidationError(f"Store numbers in E.164 form ({canonical}).", code="not_e164")
