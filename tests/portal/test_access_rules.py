"""Edges of who may see and change what that `make mutation` showed no test noticed (portal/access.py)."""

import pytest
from django.urls import reverse

from portal.middleware import SUPPORT_ORG_SESSION_KEY

pytestmark = pytest.mark.django_db


def test_only_full_administrators_open_a_page_that_changes_the_organisation(admin_client, readonly_client):
    url = reverse("provisioning:authorize")
    assert admin_client.get(url).status_code == 200
    refused = readonly_client.get(url)
    assert refused.status_code == 403
    assert "Only full administrators of this organisation can make this change." in refused.content.decode()


@pytest.mark.parametrize("method", ["head", "options"])
def test_read_only_administrators_may_make_requests_that_change_nothing(readonly_client, method):
    assert getattr(readonly_client, method)(reverse("provisioning:calling_pstn")).status_code == 200


def test_support_staff_who_switched_to_an_organisation_still_cannot_change_it(client, support, org):
    client.force_login(support)
    session = client.session
    session[SUPPORT_ORG_SESSION_KEY] = org.pk
    session.save()
    assert client.get(reverse("provisioning:calling_pstn")).status_code == 200
    assert client.get(reverse("provisioning:authorize")).status_code == 403


def test_the_support_console_is_for_support_staff_only(client, admin_client, support):
    refused = admin_client.get(reverse("portal:switch_organisation"))
    assert refused.status_code == 403 and "for Cisco PSTN support staff" in refused.content.decode()
    client.force_login(support)
    assert client.get(reverse("portal:switch_organisation")).status_code == 200
