"""In a real browser: a Canadian administrator (Maple Health, given the Business Texting Add-On here) switches the
portal to French in the user menu and walks Calling → PSTN → Business Texting → Manage → Authorize Business Texting,
choosing a location and ticking a number. No page on the way shows an English label: no visible text, and no
aria-label, title or placeholder, is the English source of a string the French catalogue translates."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from portal.models import Organisation, User
from provisioning.models import Licence
from tests.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

SEPARATORS = re.compile(r"\s*(?:\n|·|›|→)\s*")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
TAG = re.compile(r"<[^>]+>")


def english_sources(language="fr_CA"):
    """Patterns matching the English source of every string the catalogue translates differently (a string French
    writes the same, like "Canada", is no sign of English). Placeholders match any text; markup is dropped."""
    po = polib.pofile(str(Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"))
    patterns = {}
    for entry in po:
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for english in filter(None, (entry.msgid, entry.msgid_plural)):
            if english in translations:
                continue
            text = " ".join(TAG.sub("", english).split())
            pieces = [re.escape(piece) for piece in PLACEHOLDER.split(text)]
            patterns[text] = re.compile(".+?".join(pieces))
    return patterns


def english_on(page, sources) -> list[str]:
    """The visible texts and spoken attributes of `page` that are an English source string, whole."""
    texts = SEPARATORS.split(page.locator("body").inner_text())
    texts += page.evaluate(
        """() => [...document.querySelectorAll('[aria-label],[title],[placeholder],[alt]')]
                 .filter(e => e.offsetParent !== null || e.getAttribute('aria-label'))
                 .flatMap(e => ['aria-label', 'title', 'placeholder', 'alt'].map(a => e.getAttribute(a)))
                 .filter(Boolean)"""
    )
    found = []
    for text in {" ".join(t.split()) for t in texts if t and t.strip()}:
        found += [f"{text!r} (source {english!r})" for english, pattern in sources.items() if pattern.fullmatch(text)]
    return sorted(found)


@pytest.fixture
def maple_with_texting(settings, compiled_catalogues):
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = "browser-demo-pass"
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    maple = Organisation.objects.get(name="Maple Health")
    Licence.objects.create(organisation=maple, sku=Licence.Sku.BUSINESS_TEXTING_ADDON, quantity=20)
    return maple


def test_a_canadian_admin_walks_to_the_wizard_in_french_and_sees_no_english_label(page, maple_with_texting):
    sources = english_sources()
    login(page, "admin@maple.example", "browser-demo-pass")
    page.get_by_label("Language").select_option("fr-ca")
    page.get_by_role("button", name="Change language").click()
    page.get_by_text("Langue changée : Français (Canada).").wait_for()
    assert User.objects.get(email="admin@maple.example").language == "fr-ca"
    assert page.locator("html").get_attribute("lang") == "fr-ca"
    assert english_on(page, sources) == []

    page.get_by_role("navigation", name="Principal").get_by_role("link", name="Appels").click()
    card = page.locator("#business-texting")
    card.get_by_role("heading", name="Messagerie texte d'entreprise").wait_for()
    assert english_on(page, sources) == []

    card.get_by_role("button", name="Gérer").click()
    card.get_by_role("menuitem", name="Autoriser la messagerie texte d'entreprise").click()
    page.get_by_role("heading", name="Autoriser la messagerie texte d'entreprise").wait_for()
    assert english_on(page, sources) == []

    page.get_by_label("Emplacement Cisco Calling Plan").select_option(label="Toronto Clinic (Toronto, CA)")
    page.get_by_text(re.compile(r"^\d+ numéros peuvent être autorisés$")).wait_for()
    first = page.locator("#wizard-numbers tbody input[type=checkbox]").first
    first.check()
    page.get_by_text("1 numéro sélectionné").wait_for()
    assert english_on(page, sources) == []

    page.locator("#wizard-selection").get_by_role("link", name="Suivant").click()
    page.get_by_role("heading", name="Résumé de la commande").wait_for()
    assert english_on(page, sources) == []
    page.screenshot(path="/tmp/texting-hub-maple-fr-summary.png", full_page=True)


def test_the_check_finds_english_when_a_label_is_left_untranslated(page, maple_with_texting):
    """The check above can fail: the same wizard in English is full of the English sources."""
    login(page, "admin@maple.example", "browser-demo-pass")
    page.goto(reverse("provisioning:authorize"))
    found = english_on(page, english_sources())
    assert any("'Authorize Business Texting'" in f for f in found) and any("'Choose location'" in f for f in found)
