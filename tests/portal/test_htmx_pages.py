"""Every page that htmx swaps a piece of answers with that piece only for a swap: a history restore (htmx 2 sends
it with HX-Request when Back finds no copy in its cache) and a boosted request get the whole page with the Control
Hub shell, and every answer says Vary: HX-Request so no cache mixes the two up (portal/htmx.py)."""

import uuid
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from compliance.discovery import Search
from compliance.models import DiscoveryExport
from portal.models import User
from provisioning.actions import place_authorisation_order
from tests.compliance.factories import make_authorised_numbers, make_case
from tests.factories import make_compliance_officer, make_location, make_numbers
from tests.texting.factories import make_text, make_texter

pytestmark = pytest.mark.django_db

SHELL = 'aria-label="Main"'  # the sidebar navigation: only the whole page has it


@pytest.fixture
def pages(org, admin, support):
    """(who asks, URL, id of the piece htmx swaps) for every page with a swappable piece."""
    location = make_location(org, "Swap Site")
    numbers = make_numbers(location, 60)
    make_authorised_numbers(org, 2)
    make_case(org)
    _, texting_number = make_texter(org)
    make_text(org, number=texting_number.e164)
    order, _ = place_authorisation_order(org, admin, location, [numbers[0].pk], str(uuid.uuid4()))
    officer = make_compliance_officer(org, role=User.Role.END_USER, email="officer@swap.test")
    export = DiscoveryExport.objects.create(
        organisation=org, requested_by=officer, criteria=Search(start=date(2026, 1, 1), end=date(2026, 1, 31)).as_json()
    )
    return {
        "users": ("admin", reverse("portal:users") + "?q=user", "user-rows"),
        "locations": ("admin", reverse("provisioning:locations") + "?q=swap", "location-rows"),
        "location": ("admin", reverse("provisioning:location", args=[location.pk]) + "?page=2", "number-rows"),
        "authorize": ("admin", reverse("provisioning:authorize") + f"?location={location.pk}&page=2", "wizard-numbers"),
        "order": ("admin", reverse("provisioning:order", args=[order.pk]), "order-live"),
        "cases": ("admin", reverse("compliance:cases") + "?page=1", "case-rows"),
        "case_open": ("admin", reverse("compliance:case_open") + "?q=415", "case-numbers"),
        "support_queue": ("support", reverse("compliance:support_queue") + "?state=all", "queue"),
        "activity": ("admin", reverse("texting:activity") + "?status=sent", "texts"),
        "export": ("officer@swap.test", reverse("compliance:export", args=[export.pk]), "export-live"),
        "opt_outs": ("admin", reverse("texting:opt_outs") + "?state=all&q=415", "registry"),
    }


PAGES = [
    "users",
    "locations",
    "location",
    "authorize",
    "order",
    "cases",
    "case_open",
    "support_queue",
    "activity",
    "export",
    "opt_outs",
]
SWAP = {"HTTP_HX_REQUEST": "true"}
# What htmx 2 sends when Back lands on a URL it pushed and its history cache has no copy of the page.
HISTORY_RESTORE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}
BOOSTED = {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"}


@pytest.mark.parametrize("name", PAGES)
def test_only_a_swap_gets_the_piece_and_every_answer_varies_on_hx_request(pages, name, admin, support):
    who, url, target = pages[name]
    client = Client()
    client.force_login({"admin": admin, "support": support}.get(who) or User.objects.get(email=who))

    def answer(headers):
        response = client.get(url, **headers)
        assert response.status_code == 200
        assert "HX-Request" in response.get("Vary", ""), f"no Vary: HX-Request with {headers}"
        html = response.content.decode()
        assert f'id="{target}"' in html
        return html

    piece = answer({**SWAP, "HTTP_HX_TARGET": target})
    assert "<html" not in piece and SHELL not in piece
    for headers in (HISTORY_RESTORE, BOOSTED, {}):
        page = answer(headers)
        assert page.lstrip().startswith("<!doctype html>") and SHELL in page, f"not the whole page with {headers}"
