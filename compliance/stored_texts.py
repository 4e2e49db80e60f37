"""Texts the portal stores and shows later: a case's timeline entries, and the reasons it writes on brands and
campaigns. They are stored in English, the source language, and translated when shown (the `stored` filter of
`compliance_text`), so each reader sees them in their own language whoever wrote them: support may read Slovak while
the customer reads French.

Each text is declared here once (`TEXTS`, marked for the catalogues); `store` renders one in English for the
database and `translate` recognises a stored text by its pattern and renders it again in the active language. A text
stored before it was declared here, or written by someone (a message, a note, the registry's own reason), is shown as
stored. Values inside a text that are themselves declared texts (who decided: "recorded by support") are translated
too; names, ids and the registry's reasons stay as they are.
"""

import re
from dataclasses import dataclass
from functools import cache

from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Text:
    singular: str
    plural: str | None = None  # texts with a %(count)s have both forms

    def render(self, params: dict) -> str:
        if self.plural is None:
            return gettext(self.singular) % params
        return ngettext(self.singular, self.plural, int(params["count"])) % params


def _plural(forms) -> Text:
    """A text with a singular and a plural: `forms` is `lambda n: ngettext(singular, plural, n)`, so makemessages
    finds both (as one plural entry) where they are written, and here they are read back in English."""
    with translation.override(None):
        return Text(forms(1), forms(2))


# The stored texts (English source).
BY_SUPPORT = Text(gettext_noop("recorded by support"))
BY_REGISTRY = Text(gettext_noop("reported by the registry"))
FORM_SUBMITTED = Text(gettext_noop("The registration form was submitted."))
FORM_SUBMITTED_AGAIN = Text(gettext_noop("The corrected form was submitted again."))
BRAND_APPROVED = Text(gettext_noop("Brand %(brand)s approved (%(by)s)."))
BRAND_APPROVED_IDENTITY = Text(gettext_noop("Brand %(brand)s approved (%(by)s). Identity status: %(identity)s."))
BRAND_APPROVED_REASON = Text(gettext_noop("Brand %(brand)s approved (%(by)s). %(reason)s"))
BRAND_APPROVED_IDENTITY_REASON = Text(
    gettext_noop("Brand %(brand)s approved (%(by)s). Identity status: %(identity)s. %(reason)s")
)
BRAND_REJECTED = Text(
    gettext_noop("Brand rejected (%(by)s): %(reason)s The form is back with the customer for correction.")
)
CAMPAIGN_APPROVED = Text(gettext_noop("Campaign %(campaign)s approved (%(by)s)."))
CAMPAIGN_REJECTED = Text(
    gettext_noop("Campaign rejected (%(by)s): %(reason)s The form is back with the customer for correction.")
)
CANCELLED = Text(gettext_noop("Cancelled: %(reason)s"))
WITHDRAWN = Text(gettext_noop("Withdrawn: case #%(case)s was cancelled before the registry decided."))
OPENED_ADD = _plural(
    lambda n: ngettext(
        "%(count)s number to add to campaign %(campaign)s.", "%(count)s numbers to add to campaign %(campaign)s.", n
    )
)
OPENED_REMOVE = _plural(
    lambda n: ngettext(
        "%(count)s number to remove from campaign %(campaign)s.",
        "%(count)s numbers to remove from campaign %(campaign)s.",
        n,
    )
)
OPENED_RESUBMIT = Text(gettext_noop("Campaign %(campaign)s to correct and resubmit."))
OPENED_RESUBMIT_NUMBERS = _plural(
    lambda n: ngettext(
        "Campaign %(campaign)s to correct and resubmit, with %(count)s number.",
        "Campaign %(campaign)s to correct and resubmit, with %(count)s numbers.",
        n,
    )
)
OPENED_NEW_CAMPAIGN = _plural(
    lambda n: ngettext(
        "A new campaign under the approved brand, for %(count)s number.",
        "A new campaign under the approved brand, for %(count)s numbers.",
        n,
    )
)
OPENED_REGISTER = _plural(lambda n: ngettext("%(count)s number to register.", "%(count)s numbers to register.", n))
NUMBERS_LEFT = _plural(
    lambda n: ngettext(
        "The carrier confirmed %(count)s number left campaign %(campaign)s.",
        "The carrier confirmed %(count)s numbers left campaign %(campaign)s.",
        n,
    )
)
NUMBERS_REGISTERED = _plural(
    lambda n: ngettext(
        "The carrier confirmed %(count)s number in campaign %(campaign)s: it is registered and can text.",
        "The carrier confirmed %(count)s numbers in campaign %(campaign)s: they are registered and can text.",
        n,
    )
)
ASKED_TO_ASSIGN = _plural(
    lambda n: ngettext(
        "Support asked the carrier to assign %(count)s number to campaign %(campaign)s.",
        "Support asked the carrier to assign %(count)s numbers to campaign %(campaign)s.",
        n,
    )
)
ASKED_TO_REMOVE = _plural(
    lambda n: ngettext(
        "Support asked the carrier to remove %(count)s number from campaign %(campaign)s.",
        "Support asked the carrier to remove %(count)s numbers from campaign %(campaign)s.",
        n,
    )
)
REGISTRY_REFUSED_BRAND = Text(gettext_noop("The registry refused the brand: %(error)s"))
REGISTRY_REFUSED_CAMPAIGN = Text(gettext_noop("The registry refused the campaign: %(error)s"))
REGISTRY_RECEIVED_BRAND = Text(gettext_noop("The registry received the brand as %(id)s (reference %(reference)s)."))
REGISTRY_RECEIVED_CAMPAIGN = Text(
    gettext_noop("The registry received the campaign as %(id)s (reference %(reference)s).")
)
REGISTRY_REPORTS_BRAND = Text(gettext_noop("The registry reports the brand as %(status)s."))
REGISTRY_REPORTS_CAMPAIGN = Text(gettext_noop("The registry reports the campaign as %(status)s."))
CARRIER_REFUSED_STATUS = Text(gettext_noop("The carrier refused the status request: %(error)s"))
REGISTERING_BRAND = Text(gettext_noop("Support is registering the brand with The Campaign Registry."))
REGISTERING_CAMPAIGN = Text(gettext_noop("Support is registering the campaign with The Campaign Registry."))
ACTIVE_AGAIN = Text(gettext_noop("The campaign is active again; the case had no numbers to add."))
FORM_READY = Text(gettext_noop("The 10DLC registration form is ready for the customer to fill in."))
CARRIER_UNREACHABLE = _plural(
    lambda n: ngettext(
        "The carrier could not be reached after %(count)s retry (%(error)s). The portal tries again every 10 minutes.",
        "The carrier could not be reached after %(count)s retries (%(error)s). "
        "The portal tries again every 10 minutes.",
        n,
    )
)
VETTING_REFUSED = Text(gettext_noop("The registry refused the vetting request: %(error)s"))
VETTING_FAILED = Text(gettext_noop("Vetting failed."))
ASSIGNMENT_REFUSED = Text(gettext_noop("The carrier refused the assignment: %(error)s"))
ASSIGNMENT_FAILED = Text(gettext_noop("The carrier could not assign the number."))
# A number's texting state reason (shown on the number's pages).
NUMBER_LEAVING_TO_DEAUTHORISE = Text(
    gettext_noop("De-authorised by an administrator: leaving the campaign, then no longer authorised")
)
NUMBER_DEAUTHORISED_BY = Text(gettext_noop("De-authorised by %(who)s"))
NUMBER_LEAVING_BEFORE_DEAUTHORISATION = Text(gettext_noop("Leaving its campaign before de-authorisation"))
NUMBER_REGISTERED_IN = Text(gettext_noop("Registered in campaign %(campaign)s"))
NUMBER_DEAUTHORISED_AFTER_LEAVING = Text(gettext_noop("De-authorised after leaving campaign %(campaign)s"))
NUMBER_REMOVED_FROM = Text(gettext_noop("Removed from campaign %(campaign)s"))
REGISTRY = Text(gettext_noop("The Campaign Registry"))
NOBODY = Text(gettext_noop("nobody"))
TODO_SUSPENDED = Text(gettext_noop("%(who)s suspended campaign %(campaign)s of %(organisation)s."))
TODO_SUSPENDED_REASON = Text(gettext_noop("%(who)s suspended campaign %(campaign)s of %(organisation)s: %(reason)s."))
TODO_EXPIRED = Text(gettext_noop("%(who)s expired campaign %(campaign)s of %(organisation)s."))
TODO_EXPIRED_REASON = Text(gettext_noop("%(who)s expired campaign %(campaign)s of %(organisation)s: %(reason)s."))
UNASSIGNED = Text(gettext_noop("Unassigned (was %(previous)s)."))
TOOK_CASE = Text(gettext_noop("%(owner)s took the case."))
ASSIGNED_TO = Text(gettext_noop("Assigned to %(owner)s."))


TEXTS = [value for value in list(globals().values()) if isinstance(value, Text)]


def store(text: Text, **params) -> str:
    """`text` in English with `params`, as the database keeps it (whatever language the request is in)."""
    with translation.override(None):
        return text.render({name: str(value) for name, value in params.items()})


@cache
def _patterns() -> list[tuple[re.Pattern, Text]]:
    """(regular expression of one stored form, its text), the most specific first: a pattern with more fixed
    words wins over one that would take them into a value."""
    found = []
    for text in TEXTS:
        for form in filter(None, (text.singular, text.plural)):
            fixed = PLACEHOLDER.split(form)[::2]
            regex = "".join(
                re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
                for index, part in enumerate(PLACEHOLDER.split(form))
            )
            found.append((sum(map(len, fixed)), re.compile(regex, re.DOTALL), text))
    found.sort(key=lambda item: -item[0])
    return [(pattern, text) for _length, pattern, text in found]


def translate(stored: str) -> str:
    """A stored text in the active language; anything not declared here comes back as it is."""
    found = _recognise(stored)
    if found is None:
        return stored
    text, params = found
    return text.render({name: _value(value) for name, value in params.items()})


def is_declared(stored: str) -> bool:
    """Whether `stored` is one of the texts declared here (else someone wrote it: a message, a note, a reason)."""
    return _recognise(stored) is not None


def _recognise(stored: str) -> tuple[Text, dict] | None:
    if not stored:
        return None
    for pattern, text in _patterns():
        match = pattern.fullmatch(stored)
        if match is None:
            continue
        params = match.groupdict()
        if text.plural is not None and not params.get("count", "").isdigit():
            continue
        return text, params
    return None


def _value(value: str) -> str:
    """A value inside a stored text: itself translated when it is a declared text without values."""
    for text in TEXTS:
        if text.plural is None and text.singular == value and not PLACEHOLDER.search(value):
            return gettext(value)
    return value
