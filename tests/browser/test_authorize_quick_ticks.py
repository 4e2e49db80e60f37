"""Authorize Business Texting: an admin who ticks several numbers in quick succession (each tick posts the change
while the previous one may still be on its way) gets every one of them in the selection, not only the last."""

import pytest

from portal.models import User
from provisioning.models import AuthorisationOrder
from tests.conftest import login
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_numbers_ticked_in_quick_succession_are_all_selected(page):
    org = make_org("Acme Corp")
    make_location(org, "Boston Office")
    numbers = make_numbers(org.locations.get(), 6, start=1)
    make_user(org, role=User.Role.FULL_ADMIN, email="alex@acme.example")

    login(page, "alex@acme.example")
    page.goto("/calling/business-texting/authorize/")
    page.get_by_label("Cisco Calling Plan location").select_option(label="Boston Office (Springfield, US)")
    page.get_by_text("6 numbers can be authorised").wait_for()
    for number in numbers:  # no waiting between ticks, as a quick hand does
        page.get_by_label(f"Select {number.display}").check()
    page.locator("#selected-count", has_text="6 numbers selected").wait_for()

    # The summary (built from what the server kept) lists all six; so does the order.
    page.reload()
    page.locator("#selected-count", has_text="6 numbers selected").wait_for()
    page.locator("#wizard-selection").get_by_role("link", name="Next").click()
    summary = page.get_by_role("table", name="Numbers ordered")
    for number in numbers:
        assert number.display in summary.inner_text()
    assert not AuthorisationOrder.objects.exists()
