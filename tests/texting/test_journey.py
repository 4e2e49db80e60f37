"""In Chromium: an administrator switches Business Texting on, issues a user's API token, the user's Webex App sends
a text with it, and the activity page counts it without showing what it said."""

import re

import pytest

from portal.models import User
from provisioning.models import PhoneNumber
from tests.conftest import login
from tests.factories import make_location, make_org, make_user
from tests.texting.factories import APP_VERSION, make_texter

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_switch_on_issue_a_token_send_and_see_the_activity(page, settings):
    org = make_org("Journey Texting Corp")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="admin@journey.test")
    user, number = make_texter(org, email="texter@journey.test", switch_on=False, location=make_location(org, "Austin"))
    assert number.texting_state == PhoneNumber.TextingState.REGISTERED
    login(page, admin.email)

    page.goto("/calling/pstn/")
    page.get_by_role("link", name="Service Settings").click()
    page.get_by_text("HIPAA").wait_for()
    page.get_by_role("button", name="Turn on Business Texting").click()
    page.get_by_text("Business Texting is on").wait_for()

    page.goto("/texting/api-tokens/")
    page.get_by_label("User's email").fill("texter@journey.test")
    page.get_by_label("Label").fill("Webex App")
    page.get_by_role("button", name="Issue token").click()
    token = page.locator("code.token-value").inner_text()
    assert re.fullmatch(r"thx_[A-Za-z0-9_-]{40,}", token)
    page.screenshot(path="/tmp/texting-journey-token.png", full_page=True)

    sent = page.request.post(
        "/api/texting/messages",
        data={"to": "+1 415 555 0123", "body": "JOURNEY-SECRET"},
        headers={"Authorization": f"Bearer {token}", "X-Webex-App-Version": APP_VERSION},
    )
    assert sent.status == 202 and sent.json()["status"] == "accepted"
    refused = page.request.post(
        "/api/texting/messages",
        data={"to": "+44 7911 123456", "body": "hi"},
        headers={"Authorization": f"Bearer {token}", "X-Webex-App-Version": APP_VERSION},
    )
    assert refused.status == 422 and refused.json()["reason"] == "international_destination"

    page.goto("/texting/api-tokens/")
    assert token not in page.content()  # shown once only

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Texting activity").click()
    page.wait_for_url("**/texting/activity/")
    page.locator("#blocked").get_by_text("international_destination").wait_for()
    assert "JOURNEY-SECRET" not in page.content()
    assert page.locator("svg.chart rect.bar-blocked").count() == 1
    page.locator("#texts select[name=status]").select_option("blocked")
    page.locator("#texts").get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"status=blocked"))
    assert page.locator("#texts tbody tr").count() == 1
    page.screenshot(path="/tmp/texting-journey-activity.png", full_page=True)
