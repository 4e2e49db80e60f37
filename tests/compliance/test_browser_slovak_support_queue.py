"""In Chromium, on the demo data: the demo support user (support@pstn.example) switches the portal to Slovak and works
the 10DLC case queue — filters it to the unread cases, opens one — and no English label is left on those pages.

"No English label" is checked against the English page itself: the same page is read in English and in Slovak, and
every text a person sees or hears (text, aria-label, placeholder, title, the options of a list) that is the same in
both is either data (names, e-mail addresses, ids, dates, numbers) or a word that stays English by design; anything
else is an English label the Slovak reader got.

The language is set the way Django's LocaleMiddleware reads it here, the `django_language` cookie; once the user menu
has its language chooser, the journey should choose Slovak there instead."""

import os
import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command

from compliance import stored_texts
from compliance.models import Brand, Campaign, CaseEvent, RegistrationCase
from portal.models import Organisation, User
from provisioning.models import Location
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Words that read the same in Slovak on purpose: product and programme names, acronyms and the units of the registry.
SAME_IN_EVERY_LANGUAGE = {
    "10DLC",
    "PSTN",
    "TCR",
    "UTC",
    "Business Texting",
    "The Campaign Registry",
    "Texting Hub",
    "—",
}
# Labels of other apps shown on these pages, translated in their own branch (provisioning: the number's texting state).
# TODO(merge): empty this set once provisioning's catalogue entries are merged in.
TRANSLATED_ELSEWHERE: set[str] = set()

SEEN_TEXTS = """() => {
  const main = document.querySelector("main");
  const seen = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const element = walker.currentNode.parentElement;
    if (!text || element.closest("script, style, template, noscript")) continue;
    if (element.closest("option") || element.checkVisibility()) seen.push(text);
  }
  for (const element of main.querySelectorAll("[aria-label], [placeholder], [title]")) {
    for (const name of ["aria-label", "placeholder", "title"]) {
      const value = element.getAttribute(name);
      if (value && value.trim()) seen.push(value.trim());
    }
  }
  return seen;
}"""


def seen_texts(page) -> set[str]:
    return {re.sub(r"\s+", " ", text) for text in page.evaluate(SEEN_TEXTS)}


def data_values() -> set[str]:
    """What the demo data says, the same in any language."""
    values = set()
    values |= set(Organisation.objects.values_list("name", flat=True))
    values |= set(Location.objects.values_list("name", flat=True))
    for name, email in User.objects.values_list("full_name", "email"):
        values |= {name, email, f"{name} ({email})"}
    for legal, dba, registry_id in Brand.objects.values_list("legal_name", "dba_name", "registry_id"):
        values |= {legal, dba, registry_id}
    values |= set(Campaign.objects.values_list("registry_id", flat=True))
    for contact, note in RegistrationCase.objects.values_list("contact_name", "note"):
        values |= {contact, note}  # the customer typed both
    # What people wrote: messages and notes (not the texts the portal writes, which are translated when shown).
    values |= {text for text in CaseEvent.objects.values_list("text", flat=True) if not stored_texts.is_declared(text)}
    return {value for value in values if value}


def english_left(english: set[str], slovak: set[str]) -> set[str]:
    data = data_values()

    def is_data(text: str) -> bool:
        if not re.search(r"[A-Za-z]{2}", text):  # numbers, dates, counts, punctuation
            return True
        words = re.split(r"[\s·,;:()/]+", text)
        return all(word in data or not re.search(r"[A-Za-z]{2}", word) for word in words) or text in data

    return {
        text
        for text in english & slovak
        if not is_data(text)
        and text not in SAME_IN_EVERY_LANGUAGE | TRANSLATED_ELSEWHERE
        and not _only_kept_words(text, data)
    }


def _only_kept_words(text: str, data: set[str]) -> bool:
    """A text made only of data and of words kept in every language ("10DLC", a registry id)."""
    rest = text
    for kept in sorted(SAME_IN_EVERY_LANGUAGE | data, key=len, reverse=True):
        rest = rest.replace(kept, " ")
    return not re.search(r"[A-Za-z]{2}", rest)


def read_in(page, language: str, path: str) -> set[str]:
    host = urlsplit(page.url).hostname
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "domain": host, "path": "/"}])
    page.goto(path)
    return seen_texts(page)


def test_support_works_the_case_queue_in_slovak_with_no_english_label(page, compiled_catalogues):
    call_command("seed_demo", force=True, stdout=open(os.devnull, "w"))
    login(page, "support@pstn.example", settings.PORTAL_DEMO_PASSWORD)

    english = read_in(page, "en", "/support/cases/")
    assert "10DLC case queue" in english and "Expected completion" in english  # the English page is what we think
    slovak = read_in(page, "sk", "/support/cases/")
    assert page.locator("h1").inner_text() == "Front prípadov 10DLC"
    assert {"Očakávané dokončenie", "Neprečítané", "Formulár odoslaný"} <= slovak
    assert english_left(english, slovak) == set()

    # The unread cases (the customer opened or submitted something), as support works through them.
    page.locator("nav.counts a[href='?read=unread']").click()
    page.wait_for_url(re.compile(r"read=unread"))
    unread = page.locator("#queue tbody tr.unread")
    assert unread.count() > 0
    assert re.search(r"\d+ prípad(y|ov)?", page.locator("#queue p.muted").first.inner_text())
    english_unread = read_in(page, "en", page.url)
    slovak_unread = read_in(page, "sk", page.url)
    assert english_left(english_unread, slovak_unread) == set()

    # One case: its state, steps, timeline (stored in English, shown in Slovak) and actions.
    link = page.locator("#queue tbody tr.unread a").first
    case_path = link.get_attribute("href")
    english_case = read_in(page, "en", case_path)
    slovak_case = read_in(page, "sk", case_path)
    assert re.match(r"Prípad č\. \d+ · ", page.locator("h1").inner_text())
    assert "Časová os" in slovak_case and "Ďalší krok:" in slovak_case
    assert english_left(english_case, slovak_case) == set()
    page.screenshot(path="/tmp/texting-hub-support-queue-sk.png", full_page=True)
