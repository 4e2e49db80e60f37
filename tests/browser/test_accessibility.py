"""WCAG 2.1 AA in headless Chromium: axe-core (tests/browser/accessibility.py) runs on every page of every role, in
English and in French (Canada), and finds no violation of WCAG 2.1 A/AA nor of axe's best practices.

The pages, on the demo data plus what the demo does not have (an order, a legal hold, an export, a suspension, an
API token): a full administrator's, a read-only administrator's (the Manage menu's disabled entries, the 403 page),
a compliance officer's (eDiscovery, exports, legal holds), Cisco PSTN support's (the queue, a case, a brand,
suspensions, an organisation seen read-only), and the signed-out pages (sign in, password reset, 404, the expired-form
403). Menus and the wizard are checked in the states a user brings them to (menu open, numbers
ticked). French is chosen the way the language chooser does, with Django's language cookie; every page must then say
so in `<html lang>` (WCAG 3.1.1), which proves the French run really was French.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from compliance.actions.discovery import request_export
from compliance.actions.holds import place_hold
from compliance.discovery import Search
from compliance.models import Brand, DiscoveryExport, LegalHold, RegistrationCase
from portal.models import Organisation, User
from provisioning.models import AuthorisationOrder, Location, PhoneNumber
from tests.browser.accessibility import axe_violations, describe, with_axe
from texting.actions import issue_api_token, suspend_texting
from texting.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-demo-pass"


@pytest.fixture
def demo(settings, live_server, carrier_sim):
    """The demo organisations, plus one of everything the demo lacks; DEBUG off so 404 and 403 are our pages."""
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = PASSWORD
    settings.CARRIER_CALLBACK_BASE_URL = live_server.url
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    settings.DEBUG = False
    acme = Organisation.objects.get(name="Acme Corp")
    admin = User.objects.get(email="admin@acme.example")
    officer = User.objects.get(email="compliance@acme.example")
    support = User.objects.get(email="support@pstn.example")
    texter = Message.objects.filter(organisation=acme, user__isnull=False).first().user
    place_hold(acme, officer, name="Accessibility v Acme", reference="A11Y-1", user_ids=[texter.pk])
    today = timezone.localdate()
    request_export(acme, officer, Search(start=today - timedelta(days=30), end=today))
    issue_api_token(acme, admin, texter, label="Booking system")
    suspend_texting(
        support, acme, "Spam complaints from recipients", number=PhoneNumber.objects.get(e164="+15125550101")
    )
    return acme


def pages_of_admin(acme) -> list[tuple[str, str]]:
    new_york = Location.objects.get(organisation=acme, name="New York Office")
    rejected = RegistrationCase.objects.get(organisation=acme, state=RegistrationCase.State.CAMPAIGN_REJECTED)
    completed = RegistrationCase.objects.filter(organisation=acme, state=RegistrationCase.State.COMPLETED).first()
    return [
        ("overview", reverse("portal:overview")),
        ("users", reverse("portal:users")),
        ("user detail", reverse("portal:user", args=[User.objects.filter(organisation=acme).last().pk])),
        ("audit log", reverse("portal:audit_log")),
        ("Calling → PSTN", reverse("provisioning:calling_pstn")),
        ("service settings", reverse("texting:service_settings")),
        ("locations", reverse("provisioning:locations")),
        ("location detail", reverse("provisioning:location", args=[new_york.pk])),
        ("cases", reverse("compliance:cases")),
        ("case detail (registration form)", reverse("compliance:case", args=[rejected.pk])),
        ("case detail (completed)", reverse("compliance:case", args=[completed.pk])),
        ("case open", reverse("compliance:case_open")),
        ("10DLC registration", reverse("compliance:registration")),
        ("texting activity", reverse("texting:activity")),
        ("texts export", reverse("texting:export_texts")),
        ("texts export, refused filters", reverse("texting:export_texts") + "?first_day=2026-13-40"),
        ("API tokens", reverse("texting:api_tokens")),
        ("opt-outs", reverse("texting:opt_outs")),
        ("opt-out import", reverse("texting:opt_out_import")),
        ("password change", reverse("password_change")),
        ("404 (signed in)", "/no-such-page/"),
    ]


def pages_of_readonly(acme) -> list[tuple[str, str]]:
    return [
        ("overview", reverse("portal:overview")),
        ("Calling → PSTN", reverse("provisioning:calling_pstn")),
        ("API tokens", reverse("texting:api_tokens")),
        ("opt-outs", reverse("texting:opt_outs")),
        ("403", reverse("provisioning:authorize")),
    ]


def pages_of_officer(acme) -> list[tuple[str, str]]:
    hold = LegalHold.objects.get(organisation=acme)
    export = DiscoveryExport.objects.get(organisation=acme)
    text = Message.objects.filter(organisation=acme).order_by("-created_at").first()
    today = timezone.localdate()
    search = f"?start={today - timedelta(days=30)}&end={today}&keywords=table"
    return [
        ("eDiscovery", reverse("compliance:discovery")),
        ("eDiscovery results", reverse("compliance:discovery") + search),
        ("eDiscovery text", reverse("compliance:discovery_text", args=[text.pk])),
        ("exports", reverse("compliance:exports")),
        ("export detail", reverse("compliance:export", args=[export.pk])),
        ("legal holds", reverse("compliance:holds")),
        ("hold form (new)", reverse("compliance:hold_new")),
        ("hold detail", reverse("compliance:hold", args=[hold.pk])),
        ("hold form (edit)", reverse("compliance:hold_edit", args=[hold.pk])),
        ("hold release", reverse("compliance:hold_release", args=[hold.pk])),
    ]


def pages_of_support(acme) -> list[tuple[str, str]]:
    overdue = RegistrationCase.objects.get(organisation=acme, state=RegistrationCase.State.BRAND_SUBMITTED)
    rejected = RegistrationCase.objects.get(organisation=acme, state=RegistrationCase.State.CAMPAIGN_REJECTED)
    return [
        ("support queue", reverse("compliance:support_queue")),
        ("support case (brand submitted)", reverse("compliance:support_case", args=[overdue.pk])),
        ("support case (campaign rejected)", reverse("compliance:support_case", args=[rejected.pk])),
        ("support brand", reverse("compliance:support_brand", args=[Brand.objects.filter(organisation=acme)[0].pk])),
        ("suspensions", reverse("texting:support_suspensions")),
        ("overview (support view)", reverse("portal:overview")),
        ("locations (support view)", reverse("provisioning:locations")),
        ("texting activity (support view)", reverse("texting:activity")),
    ]


class Walk:
    """One browser context walking pages in one language, collecting axe's findings per page."""

    def __init__(self, browser, base_url, language, axe_script):
        self.context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        with_axe(self.context, axe_script)
        self.base_url, self.language = base_url, language
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.found: dict[str, list[dict]] = {}
        self.checked: list[str] = []
        self._choose_language()

    def _choose_language(self):
        cookie = {"name": django_settings.LANGUAGE_COOKIE_NAME, "value": self.language, "url": self.base_url}
        self.context.add_cookies([cookie])

    def check(self, where: str, expect_status: int = 200, response=None, styled=True):
        page = self.page
        if response is not None:
            assert response.status == expect_status, f"{where}: {page.url} answered {response.status}"
        lang = page.evaluate("document.documentElement.lang")
        assert lang == self.language, f"{where}: <html lang={lang!r}>, expected {self.language!r}"
        # The stylesheet loaded (colour contrast is judged on it): the page background is the portal's grey.
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert not styled or background == "rgb(247, 247, 247)", f"{where}: portal.css did not apply"
        self.checked.append(where)
        if violations := axe_violations(page):
            self.found[where] = violations
        # What folds away (a decision's form, a removal's confirmation) is checked unfolded too.
        if page.evaluate("document.querySelectorAll('details:not([open])').length"):
            page.evaluate("document.querySelectorAll('details:not([open])').forEach((d) => { d.open = true; })")
            if violations := axe_violations(page):
                self.found[f"{where}, folded parts opened"] = violations

    def visit(self, where: str, url: str, expect_status: int = 200):
        self.check(where, expect_status, self.page.goto(url))

    def sign_in(self, email):
        self.context.clear_cookies()
        self._choose_language()
        self.page.goto(reverse("login"))
        self.page.locator("#id_username").fill(email)
        self.page.locator("#id_password").fill(PASSWORD)
        self.page.locator("form button[type=submit]").click()
        self.page.wait_for_url(lambda url: "/accounts/login" not in url)


@pytest.mark.parametrize("language", ["en", "fr-ca"])
def test_every_page_of_every_role_passes_axe_wcag_21_aa(browser, live_server, axe_script, demo, language):
    acme = demo
    walk = Walk(browser, live_server.url, language, axe_script)
    page = walk.page

    # Signed out.
    walk.visit("sign in", reverse("login"))
    walk.visit("password reset", reverse("password_reset"))
    page.locator("#id_email").fill("admin@acme.example")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: url.endswith(reverse("password_reset_done")))
    walk.check("password reset sent")
    page.goto(reverse("login"))
    page.locator("#id_username").fill("admin@acme.example")
    page.locator("#id_password").fill("not-the-password")
    with page.expect_navigation():
        page.locator("form button[type=submit]").click()
    walk.check("sign in, wrong password")
    walk.visit("404 (signed out)", "/no-such-page/", 404)
    page.goto(reverse("login"))
    walk.context.clear_cookies(name="csrftoken")
    walk._choose_language()
    page.locator("#id_username").fill("admin@acme.example")
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator("form button[type=submit]").click()
    walk.check("403 form expired (CSRF)", 403, answer.value, styled=False)

    # A full administrator: every page, the Manage menu open, the Authorize wizard through to an order.
    walk.sign_in("admin@acme.example")
    for where, url in pages_of_admin(acme):
        walk.visit(where, url, 404 if where.startswith("404") else 400 if "refused" in where else 200)
    new_york = Location.objects.get(organisation=acme, name="New York Office")
    page.goto(reverse("provisioning:location", args=[new_york.pk]))
    page.locator("#numbers-form input[type=checkbox][name=number]").first.check()
    with page.expect_navigation():
        page.locator("#numbers-form .toolbar button[type=submit]").first.click()
    assert "/deauthorise/" in page.url
    walk.check("de-authorise confirmation")
    page.goto(reverse("provisioning:calling_pstn"))
    page.locator("#business-texting summary").click()
    walk.check("Calling → PSTN, Manage menu open")
    walk.visit("wizard: choose location", reverse("provisioning:authorize"))
    sf = Location.objects.get(organisation=acme, name="San Francisco HQ")
    walk.visit("wizard: select numbers", f"{reverse('provisioning:authorize')}?location={sf.pk}")
    for ticked, box in enumerate(page.locator("#selection-form input[type=checkbox][name=number]").all()[:3], 1):
        box.check()
        expect(page.locator("#selected-count")).to_contain_text(str(ticked))
    walk.check("wizard: numbers ticked")
    walk.visit("wizard: summary", reverse("provisioning:authorize_summary"))
    page.locator("form[data-submit-once] button[type=submit]").click()
    page.wait_for_url(lambda url: "/orders/" in url)
    walk.check("order detail")
    assert AuthorisationOrder.objects.filter(organisation=acme).exists()
    walk.visit("orders", reverse("provisioning:orders"))

    walk.sign_in("readonly@acme.example")
    for where, url in pages_of_readonly(acme):
        walk.visit(f"read-only: {where}", url, 403 if where == "403" else 200)
    page.goto(reverse("provisioning:calling_pstn"))
    page.locator("#business-texting summary").click()
    walk.check("read-only: Calling → PSTN, Manage menu open (entries disabled)")

    walk.sign_in("compliance@acme.example")
    for where, url in pages_of_officer(acme):
        walk.visit(f"compliance officer: {where}", url)

    walk.sign_in("support@pstn.example")
    walk.visit("support: switch organisation", reverse("portal:switch_organisation"))
    page.get_by_role("row").filter(has_text="Acme Corp").locator("button").click()
    page.wait_for_url(lambda url: url.endswith(reverse("portal:overview")))
    for where, url in pages_of_support(acme):
        walk.visit(f"support: {where}", url)

    # The pages served without a request (database down, a server error): their markup, as they are served.
    for where, template in (("503 (database down)", "503.html"), ("500", "500.html")):
        page.set_content(render_to_string(template, {"request_id": "r-1234"}))
        page.wait_for_load_state()
        walk.found.update({where: v} if (v := axe_violations(page)) else {})

    walk.context.close()
    count = sum(len(v["targets"]) for violations in walk.found.values() for v in violations)
    assert not walk.found, (
        f"axe-core found {count} failing elements (WCAG 2.1 A/AA, best practice) on {len(walk.found)} of "
        f"{len(walk.checked)} pages "
        f"({language}):\n{describe(walk.found)}"
    )
