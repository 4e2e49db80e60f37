"""Every search box and filter that takes typed text, given a NUL character (PostgreSQL refuses it even in a query;
these answered 500 there): the page answers, the NUL is dropped from what it searches for and shows back."""

import pytest
from django.test import Client
from django.urls import reverse

from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers

pytestmark = pytest.mark.django_db

NUL = "41\x005"


@pytest.fixture
def location(org):
    location = make_location(org, "Search Site")
    make_numbers(location, 3)
    make_numbers(location, 2, start=100, texting_state=PhoneNumber.TextingState.AUTHORISED)  # can join a 10DLC case
    return location


SEARCHES = [  # (who, URL name, URL kwargs from the location, query)
    ("admin", "portal:users", None, {"q": NUL}),
    ("admin", "provisioning:locations", None, {"q": NUL}),
    ("admin", "provisioning:location", "pk", {"q": NUL}),
    ("admin", "provisioning:authorize", "location", {"q": NUL}),
    ("admin", "compliance:case_open", None, {"q": NUL}),
    ("support", "portal:switch_organisation", None, {"q": NUL}),
    ("support", "compliance:support_queue", None, {"q": NUL}),
    ("admin", "texting:opt_outs", None, {"q": NUL}),
]


@pytest.mark.parametrize("who, name, key, query", SEARCHES, ids=[name for _, name, _, _ in SEARCHES])
def test_a_nul_in_a_search_is_dropped(admin, support, location, who, name, key, query):
    client = Client()
    client.force_login(admin if who == "admin" else support)
    if key == "location":
        query = {**query, "location": location.pk}
    url = reverse(name, kwargs={"pk": location.pk} if key == "pk" else None)
    response = client.get(url, query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "\x00" not in page and 'value="415"' in page  # searched for, and shown back, without the NUL


def test_a_nul_in_the_open_case_search_posted_is_dropped(admin_client, location):
    response = admin_client.post(reverse("compliance:case_open"), {"q": NUL, "location": location.pk})
    assert response.status_code == 200 and 'value="415"' in response.content.decode()


def test_a_nul_in_the_activity_number_filter_is_dropped_before_the_number_is_checked(admin_client, org):
    typed = "+1 415\x00 555 0101"
    response = admin_client.get(reverse("texting:activity"), {"number": typed})
    assert response.status_code == 200 and 'value="+1 415 555 0101"' in response.content.decode()
    refused = admin_client.get(reverse("texting:activity"), {"number": NUL})  # 415: not a telephone number
    page = refused.content.decode()
    assert refused.status_code == 400 and "\x00" not in page and 'value="415"' in page
