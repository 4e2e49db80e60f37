"""Pre-submission checks: the common reasons carriers reject a 10DLC registration, caught while the customer can
still fix them. Warnings, not errors: the customer may submit anyway (support sees the same warnings)."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models.registration import MARKETING_USE_CASES, SAMPLE_FIELDS, RegistrationForm

OPT_OUT_LANGUAGE = re.compile(r"\b(stop|stopall|unsubscribe|opt[ -]?out)\b", re.IGNORECASE)
# Legal-form suffixes a brand is rarely called by in a text ("Acme Corp, Inc." is "Acme Corp" to recipients).
LEGAL_SUFFIX = re.compile(
    r"[,\s]+(inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|co|company|plc|lp|llp|"
    r"ulc|ltée|ltee)\.?$",
    re.IGNORECASE,
)
MIN_OPT_IN_DESCRIPTION = 40
https_url = URLValidator(schemes=["https"])


@dataclass(frozen=True)
class Warning:
    field: str  # the form field it is about, to show the warning next to it
    message: str


def values_of(registration: RegistrationForm) -> dict[str, str]:
    """A saved form's text fields, as `presubmission_warnings` reads them."""
    return {
        field.name: getattr(registration, field.name)
        for field in RegistrationForm._meta.fields
        if not field.is_relation
    }


def brand_names(values: Mapping[str, str]) -> list[str]:
    """Names recipients may know the brand by: DBA, legal name, legal name without its legal-form suffix."""
    names = []
    for name in (text(values, "dba_name"), text(values, "legal_name")):
        if name:
            names.append(name)
            short = LEGAL_SUFFIX.sub("", name).strip()
            if short and short != name:
                names.append(short)
    return names


def text(values: Mapping[str, str], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def names_brand(message: str, names: list[str]) -> bool:
    lowered = message.lower()
    return any(name.lower() in lowered for name in names)


def presubmission_warnings(values: Mapping[str, str]) -> list[Warning]:
    """The warnings for the form's fields (`values`: as on screen, or as saved, `values_of`), in the order the form
    shows the fields. A field nobody has filled in yet gets no warning: the form's errors say what is missing."""
    warnings = []
    names = brand_names(values)
    shown = names[0] if names else ""

    samples = [(name, text(values, name)) for name in SAMPLE_FIELDS]
    samples = [(name, sample) for name, sample in samples if sample]
    if names:
        unnamed = [index for index, (_name, sample) in enumerate(samples, start=1) if not names_brand(sample, names)]
        if unnamed:
            which = ", ".join(str(i) for i in unnamed)
            warnings.append(
                Warning(
                    samples[unnamed[0] - 1][0],
                    ngettext(
                        "Sample message %(which)s does not name your brand (“%(brand)s”). "
                        "Carriers reject messages that do not say who is sending.",
                        "Sample messages %(which)s do not name your brand (“%(brand)s”). "
                        "Carriers reject messages that do not say who is sending.",
                        len(unnamed),
                    )
                    % {"which": which, "brand": shown},
                )
            )
    if samples and not any(OPT_OUT_LANGUAGE.search(sample) for _name, sample in samples):
        warnings.append(
            Warning(
                samples[0][0],
                _(
                    "No sample message tells recipients how to opt out. Add opt-out "
                    "language such as “Reply STOP to opt out” to at least one sample."
                ),
            )
        )
    opt_out = text(values, "opt_out_message")
    if opt_out and names and not names_brand(opt_out, names):
        warnings.append(
            Warning(
                "opt_out_message",
                _(
                    "The opt-out reply does not name your brand (“%(brand)s”): "
                    "recipients must know whom they unsubscribed from."
                )
                % {"brand": shown},
            )
        )
    website = text(values, "website")
    try:
        if website:
            https_url(website)
    except ValidationError:
        warnings.append(
            Warning(
                "website",
                _(
                    "The website is not a valid https:// address. The registry checks that "
                    "the brand's website exists and is secure."
                ),
            )
        )
    message_flow = text(values, "message_flow")
    if values.get("use_case") in MARKETING_USE_CASES and 0 < len(message_flow) < MIN_OPT_IN_DESCRIPTION:
        warnings.append(
            Warning(
                "message_flow",
                _(
                    "A marketing campaign needs an opt-in description: explain how "
                    "recipients agree to receive your texts (web form, keyword, paper "
                    "form...), in at least a sentence or two."
                ),
            )
        )
    return warnings
