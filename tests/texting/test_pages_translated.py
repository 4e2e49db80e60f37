"""The Business Texting pages in French (Canada) and Slovak: the browser's language (Accept-Language) picks them,
and none of the page's own English words is left (product names such as Control Hub and Cisco Calling Plan stay)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.texting.factories import issue_token, make_text, make_texter
from texting import actions
from texting.models import Message, PurgeRun

pytestmark = pytest.mark.django_db

PAGES = {
    "activity": "/texting/activity/",
    "settings": "/calling/service-settings/",
    "tokens": "/texting/api-tokens/",
    "opt_outs": "/texting/opt-outs/",
    "import": "/texting/opt-outs/import/",
    "export": "/texting/activity/export/",
}
# What each page said in English before it was translated: none of it may be left in French or Slovak.
ENGLISH = {
    "activity": [
        "Texts per day",
        "Blocked texts by reason",
        "Busiest numbers",
        "Opt-outs",
        "automatic reply",
        "Days are UTC",
        "Last 30 days",
        "Every text is kept",
        "Purge started",
        ">Blocked<",
        ">Delivered<",
        "Recipient opted out",
    ],
    "settings": ["Turn off Business Texting", "What Business Texting supports", "Not supported", "or later"],
    "tokens": ["Messaging API tokens", "Issue a token", ">Revoke<", "No tokens issued yet", ">Active<"],
    "opt_outs": ["Opt-out registry", "Add a number", "Opted out", "People join it"],
    "import": ["Import a do-not-text list", "All or nothing"],
    "export": ["Export texts", "Download CSV", "First day"],
}
FRENCH = {
    "activity": ["Textos par jour", "Textos bloqués par raison", "réponse automatique", "30 derniers jours", "Bloqué"],
    "settings": [
        "Désactiver la Messagerie texte d'entreprise",
        "Ce que la Messagerie texte d'entreprise prend en charge",
        "Non pris en charge",
    ],
    "tokens": ["Jetons de l'API de messagerie", "Émettre un jeton", "Révoquer"],
    "opt_outs": ["Registre des désabonnements", "Ajouter un numéro", "Désabonné"],
    "import": ["Importer une liste d'exclusion", "Tout ou rien"],
    "export": ["Exporter les textos", "Télécharger le CSV", "Premier jour"],
}
SLOVAK = {
    "activity": ["Správy za deň", "Zablokované správy podľa dôvodu", "automatická odpoveď", "Posledných 30 dní"],
    "settings": ["Vypnúť firemné SMS", "Čo firemné SMS podporujú", "Nepodporuje sa"],
    "tokens": ["Tokeny rozhrania API na správy", "Vydať token", "Odvolať"],
    "opt_outs": ["Register odhlásení", "Pridať číslo", "Odhlásené"],
    "import": ["Importovať zoznam zákazu správ", "Všetko alebo nič"],
    "export": ["Exportovať správy", "Stiahnuť CSV", "Prvý deň"],
}


@pytest.fixture
def busy_org(org, admin):
    """Texts of every kind, an opt-out (by ARRÊT) with its automatic reply, a token and a purge run."""
    user, number = make_texter(org)
    make_text(org, number=number.e164, user=user)
    make_text(org, number=number.e164, status=Message.Status.BLOCKED, reason="recipient_opted_out", user=user)
    actions.receive_text(carrier_message_id="M1", sender="+15145550188", recipient=number.e164, body="ARRÊT")
    issue_token(admin, user)
    now = timezone.now()
    PurgeRun.objects.create(
        cutoff=now - timedelta(days=400), retention_days=400, batch_size=1000, outcome="completed", finished=now
    )
    return org


def main_of(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language,expected", [("fr-CA", FRENCH), ("sk", SLOVAK)])
def test_every_business_texting_page_speaks_the_browsers_language(admin, busy_org, page, language, expected):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(admin)
    response = client.get(PAGES[page])
    assert response.status_code == 200
    main = main_of(response.content.decode())
    for words in expected[page]:
        assert words in main, f"{words!r} missing from {page} in {language}"
    # The feature's name is translated too (Messagerie texte d'entreprise, Firemné SMS), as on the Calling card.
    for words in [*ENGLISH[page], "Business Texting"]:
        assert words not in main, f"English {words!r} left on {page} in {language}"


def test_the_chart_names_days_and_months_in_the_readers_language(admin, busy_org):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-CA")
    client.force_login(admin)
    html = client.get(PAGES["activity"]).content.decode()
    titles = re.findall(r'<g class="day"><title>([^<]*)</title>', html)
    assert titles and all(" envoyés, " in title and " reçus, " in title for title in titles)
    assert not any(re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", title) for title in titles)
    # The chart's coordinates stay SVG numbers in French ("12.5", never the reader's "12,5", which SVG reads as 12).
    svg = html[html.index("<svg") : html.index("</svg>")]
    coordinates = re.findall(r'\b(?:x|y|width|height|x1|x2|y1|y2)="([^"]*)"', svg)
    assert coordinates and all(re.fullmatch(r"-?\d+(\.\d+)?", value) for value in coordinates), coordinates


def test_english_stays_the_default(admin_client, busy_org):
    main = main_of(admin_client.get(PAGES["activity"]).content.decode())
    assert "Texts per day" in main and "Textos par jour" not in main


@pytest.mark.parametrize(
    "language,expected", [("fr-CA", "Suspendre l'envoi de textos"), ("sk", "Pozastaviť posielanie správ")]
)
def test_support_suspends_texting_in_its_own_language(support, busy_org, language, expected):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(support)
    main = main_of(client.get("/support/texting/suspensions/").content.decode())
    assert expected in main and "Suspend texting" not in main and "Nothing is suspended" not in main


@pytest.mark.parametrize(
    "bad_lines,french,slovak",
    [
        (1, "Le fichier contient 1 erreur :", "Súbor obsahuje 1 chybu:"),
        (3, "Le fichier contient 3 erreurs :", "Súbor obsahuje 3 chyby:"),
        (5, "Le fichier contient 5 erreurs :", "Súbor obsahuje 5 chýb:"),
    ],
)
def test_counts_take_each_languages_plural_forms(org, admin, bad_lines, french, slovak):
    """French has two forms (1, many), Slovak three (1; 2 to 4; 5 and more): a refused import says how many errors."""
    from django.utils import translation

    content = "".join(f"not a number {n}\n" for n in range(bad_lines)).encode()
    for language, expected in (("fr-ca", french), ("sk", slovak)):
        with translation.override(language), pytest.raises(actions.ImportRefused) as refused:
            actions.import_do_not_text_list(org, admin, content, "CRM list")
        assert str(refused.value).startswith(expected)
