"""Calling → PSTN, the Business Texting card, and the Locations pages, as administrators see them."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import User
from provisioning.models import Licence, Location
from tests.factories import make_location, make_numbers, make_org, make_user

pytestmark = pytest.mark.django_db


def test_card_with_checklist_shows_when_the_organisation_has_the_addon(admin_client, org):
    make_location(org, "Main Office")
    response = admin_client.get(reverse("provisioning:calling_pstn"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Business Texting" in html and "Manage" in html
    assert "Authorize Business Texting" in html and "Open Cisco Calling Plan Support Case" in html
    assert 'data-requirement="enterprise"' in html and "Business Texting Add-On licence" in html
    assert "meets the prerequisites" in html
    assert "does not support HIPAA" in html
    assert "Main Office" in html and "Cisco Calling Plan" in html


def test_no_card_at_all_without_the_addon_licence(client):
    org = make_org(addon=False)
    make_location(org)
    client.force_login(make_user(org))
    html = client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert 'id="business-texting"' not in html
    assert "Manage" not in html and "Authorize Business Texting" not in html
    assert "PSTN connections" in html


def test_card_lists_unmet_prerequisites_in_words(client):
    org = make_org(customer_type="online")
    make_location(org, pstn=Location.PstnConnection.CLOUD_CONNECTED)
    Licence.objects.filter(organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).update(status="suspended")
    client.force_login(make_user(org))
    html = client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert "does not yet meet every prerequisite" in html
    assert "available only to Enterprise customers" in html
    assert "No location uses Cisco Calling Plan" in html
    assert "Business Texting Add-On licence is not active" in html


def test_locations_list_searches_and_counts_numbers(admin_client, org):
    austin = make_location(org, "Austin Office")
    make_location(org, "Boston Office")
    make_numbers(austin, 7)
    response = admin_client.get(reverse("provisioning:locations"), {"q": "austin"})
    html = response.content.decode()
    assert "Austin Office" in html and "Boston Office" not in html
    assert ">7<" in html


def test_locations_search_answers_a_partial_to_htmx(admin_client, org):
    make_location(org, "Austin Office")
    response = admin_client.get(reverse("provisioning:locations"), {"q": "aus"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="location-rows"' in html and "Austin Office" in html
    assert "<html" not in html  # only the rows partial


def test_location_numbers_are_paginated_and_searchable_by_digits(admin_client, org):
    location = make_location(org)
    numbers = make_numbers(location, 120)
    url = reverse("provisioning:location", args=[location.pk])
    first = admin_client.get(url).content.decode()
    assert "120 numbers" in first and "Page 1 of 3" in first
    assert numbers[0].display in first and numbers[60].display not in first
    second = admin_client.get(url, {"page": 2}).content.decode()
    assert numbers[60].display in second
    wanted = numbers[77]
    found = admin_client.get(url, {"q": wanted.e164[-4:]}).content.decode()
    assert wanted.display in found and "1 number" in found


def test_list_page_queries_do_not_grow_with_rows(admin_client, org):
    def shown(locations: int) -> tuple[str, int]:
        """The locations page with `locations` rows (all on its first page of 25), and the queries it took."""
        for i in range(Location.objects.filter(organisation=org).count(), locations):
            make_numbers(make_location(org, f"Site {i:02d}"), i % 4 + 1)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse("provisioning:locations"))
        assert response.status_code == 200
        return response.content.decode(), len(queries)

    few_html, few = shown(2)
    many_html, many = shown(24)
    assert len(re.findall(r'href="/locations/\d+/"', few_html)) == 2
    assert len(re.findall(r'href="/locations/\d+/"', many_html)) == 24
    # Each row with its own count of numbers (Site 03 has 4).
    assert re.search(r'Site 03</a></td>.*?<td class="num">(\d+)</td>', many_html, re.S).group(1) == "4"
    assert many == few, f"{few} queries for 2 locations, {many} for 24: a query per row"


def test_users_page_lists_primary_numbers(admin_client, org):
    location = make_location(org, "Main Office")
    number = make_numbers(location, 1)[0]
    person = make_user(org, role=User.Role.END_USER, email="kim@acme.test")
    number.assigned_user, number.is_primary = person, True
    number.save()
    html = admin_client.get(reverse("portal:users"), {"q": "kim"}).content.decode()
    html = html[html.index('id="user-rows"') :]
    assert "1 user matching" in html
    assert "kim@acme.test" in html and number.display in html and "Main Office" in html
    assert "admin@acme.test" not in html
