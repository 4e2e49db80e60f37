"""Validation of the registration form's identifiers: tax numbers by country, postal codes, registry ids.

Each `normalise_*` returns the canonical form of a valid value or raises ValidationError saying what is wrong.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EIN_PATTERN = re.compile(r"^(\d{2})-?(\d{7})$")
BUSINESS_NUMBER_PATTERN = re.compile(r"^\d{9}$")
US_POSTAL_CODE = re.compile(r"^\d{5}(-\d{4})?$")
# Canadian postal codes never use D, F, I, O, Q or U, and W and Z never come first.
CA_POSTAL_CODE = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d$")
REGISTRY_ID = {"brand": re.compile(r"^B[A-Z0-9]{6}$"), "campaign": re.compile(r"^C[A-Z0-9]{6}$")}


def normalise_ein(raw: str) -> str:
    """A US Employer Identification Number as NN-NNNNNNN (nine digits; the hyphen may be left out)."""
    text = (raw or "").strip()
    match = EIN_PATTERN.match(text)
    if not match:
        raise ValidationError(_("Enter the EIN as NN-NNNNNNN (nine digits), for example 12-3456789."), code="ein")
    prefix, serial = match.groups()
    if prefix == "00":
        raise ValidationError(_("No EIN starts with 00: check the number on your IRS letter."), code="ein")
    return f"{prefix}-{serial}"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalise_business_number(raw: str) -> str:
    """A Canadian Business Number (the CRA's nine-digit BN; spaces allowed), checked with its Luhn check digit."""
    text = re.sub(r"[\s-]", "", raw or "")
    if not BUSINESS_NUMBER_PATTERN.match(text):
        raise ValidationError(_("Enter the Canadian Business Number: 9 digits, for example 123456782."), code="bn")
    if not luhn_valid(text):
        raise ValidationError(
            _(
                "This is not a valid Business Number: its last digit (the check digit) does not "
                "match. Check the number on your CRA documents."
            ),
            code="bn",
        )
    return text


def normalise_tax_number(raw: str, country: str) -> str:
    """The brand's tax number for its country: US EIN or Canadian Business Number."""
    if country == "CA":
        return normalise_business_number(raw)
    return normalise_ein(raw)


def normalise_postal_code(raw: str, country: str) -> str:
    text = (raw or "").strip().upper()
    if country == "CA":
        if not CA_POSTAL_CODE.match(text):
            raise ValidationError(_("Enter a Canadian postal code, for example M5V 1L9."), code="postal_code")
        compact = text.replace(" ", "")
        return f"{compact[:3]} {compact[3:]}"
    if not US_POSTAL_CODE.match(text):
        raise ValidationError(_("Enter a US ZIP code: 5 digits, or ZIP+4 such as 94105-1234."), code="postal_code")
    return text


def normalise_registry_id(raw: str, kind: str) -> str:
    """A Campaign Registry id: B (brand) or C (campaign) and six upper-case letters or digits."""
    text = (raw or "").strip().upper()
    if not REGISTRY_ID[kind].match(text):
        raise ValidationError(
            _("A brand id is B and 6 letters or digits, for example B4K9Q2X.")
            if kind == "brand"
            else _("A campaign id is C and 6 letters or digits, for example C4K9Q2X."),
            code="registry_id",
        )
    return text
