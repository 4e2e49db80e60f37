"""A compliance officer's legal hold in headless Chromium: place a hold on a user's texts, see it listed with the
count of texts it holds, open it, release it with the confirmation."""

from datetime import UTC, datetime, timedelta

import pytest

from compliance.models import LegalHold
from portal.models import AuditEvent, User
from tests.conftest import login
from tests.factories import make_compliance_officer, make_org, make_user
from tests.texting.factories import make_text

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_an_officer_places_a_hold_sees_its_count_and_releases_it(page, live_server):
    org = make_org("Hold Journey Corp")
    make_compliance_officer(org, role=User.Role.READONLY_ADMIN, email="officer@hold.test")
    texter = make_user(org, role=User.Role.END_USER, email="texter@hold.test")
    User.objects.filter(pk=texter.pk).update(full_name="Terry Texter")
    make_user(org, role=User.Role.END_USER, email="bystander@hold.test")
    old = datetime.now(UTC) - timedelta(days=500)
    for _ in range(3):
        make_text(org, user=texter, created_at=old)
    make_text(org, user=texter)
    make_text(org, created_at=old)  # nobody's: not held

    login(page, "officer@hold.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Legal holds").click()
    page.get_by_role("heading", name="Legal holds").wait_for()
    page.get_by_text("No legal holds yet.").wait_for()
    page.get_by_role("link", name="Place a legal hold").click()

    page.get_by_label("Matter name").fill("Texter v Hold Journey")
    page.get_by_label("Reference").fill("LIT-2026-042")
    page.get_by_label("Users").select_option(label="Terry Texter <texter@hold.test>")
    page.get_by_role("button", name="Place hold").click()

    page.get_by_role("heading", name="Texter v Hold Journey").wait_for()
    page.get_by_text("Legal hold placed").wait_for()
    assert page.locator("strong.held-count").inner_text() == "4"
    assert "3 of them are past the retention period" in page.locator("#held-texts").inner_text()
    assert "texter@hold.test" in page.locator("#custodian-users").inner_text()

    page.get_by_role("link", name="Legal holds").first.click()
    row = page.get_by_role("row", name="Texter v Hold Journey")
    row.wait_for()
    assert "LIT-2026-042" in row.inner_text() and "Active" in row.inner_text()
    assert row.locator("td.held-count").inner_text().startswith("4")
    page.screenshot(path="/tmp/texting-hub-legal-holds.png", full_page=True)

    row.get_by_role("link", name="Texter v Hold Journey").click()
    page.get_by_role("link", name="Release hold").click()
    page.get_by_role("heading", name="Release legal hold").wait_for()
    page.get_by_role("button", name="Release hold").click()  # not confirmed yet: refused, nothing released
    page.get_by_text("Tick the box to confirm the release.").wait_for()
    assert LegalHold.objects.get().is_active
    page.get_by_label("Why is the hold released?").fill("Matter settled")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Release hold").click()
    page.get_by_text("Legal hold released").wait_for()
    assert "Released" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Release hold").count() == 0

    hold = LegalHold.objects.get()
    assert hold.status == LegalHold.Status.RELEASED and hold.release_note == "Matter settled"
    assert list(AuditEvent.objects.filter(target_id=str(hold.pk)).values_list("action", flat=True).order_by("id")) == [
        "legal_hold.placed",
        "legal_hold.released",
    ]
