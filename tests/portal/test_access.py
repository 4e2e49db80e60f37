"""Scoping and roles: administrators see only their organisation; read-only administrators cannot change;
end users have no Control Hub; support staff view customers read-only through the switcher."""

import pytest
from django.test import Client
from django.urls import reverse

from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import AuditEvent, User
from tests.factories import PASSWORD, make_location, make_numbers, make_org, make_user

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("provisioning:calling_pstn"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "role, officer, lands_on",
    [
        (User.Role.FULL_ADMIN, False, "portal:overview"),
        (User.Role.END_USER, True, "compliance:discovery"),
        (User.Role.SUPPORT, False, "portal:switch_organisation"),
        (User.Role.OPERATOR, False, "admin:index"),
    ],
    ids=["administrator", "compliance officer", "support", "operator"],
)
def test_signing_in_at_the_front_door_lands_everyone_on_a_page_of_their_own(org, role, officer, lands_on):
    """http://127.0.0.1:8000 → Sign in → each kind of person on their own page, not on the overview they may not
    open (a compliance officer with no administrator role used to get "You can't do that here")."""
    client = Client()
    front = client.get("/")
    assert front.status_code == 302 and front["Location"] == f"{reverse('login')}?next=/"
    person = make_user(None if role in (User.Role.SUPPORT, User.Role.OPERATOR) else org, role=role)
    User.objects.filter(pk=person.pk).update(is_compliance_officer=officer, is_staff=role == User.Role.OPERATOR)

    signed_in = client.post(front["Location"], {"username": person.email, "password": PASSWORD}, follow=True)

    assert signed_in.status_code == 200
    assert signed_in.redirect_chain[-1][0] == reverse(lands_on)


def test_another_organisations_location_and_user_answer_404(admin_client, other_org):
    location = make_location(other_org)
    person = make_user(other_org, role=User.Role.END_USER)
    assert admin_client.get(reverse("provisioning:location", args=[location.pk])).status_code == 404
    assert admin_client.get(reverse("portal:user", args=[person.pk])).status_code == 404


def test_lists_show_only_the_own_organisation(admin_client, org, other_org):
    make_location(org, "Ours")
    make_location(other_org, "Theirs")
    make_user(other_org, email="spy@globex.test")
    locations = admin_client.get(reverse("provisioning:locations")).content.decode()
    users = admin_client.get(reverse("portal:users")).content.decode()
    assert "Ours" in locations and "Theirs" not in locations
    assert "spy@globex.test" not in users


def test_read_only_administrator_sees_but_cannot_post(readonly_client, org):
    make_location(org, "Main")
    assert readonly_client.get(reverse("provisioning:calling_pstn")).status_code == 200
    response = readonly_client.post(reverse("provisioning:calling_pstn"))
    assert response.status_code == 403
    assert b"only full administrators" in response.content


def test_end_users_have_no_control_hub(client, org):
    client.force_login(make_user(org, role=User.Role.END_USER))
    response = client.get(reverse("portal:overview"))
    assert response.status_code == 403 and b"Webex App" in response.content


def test_posts_need_a_csrf_token(org, support):
    other = make_org("Switch Target")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(support)
    url = reverse("portal:switch_organisation")
    refused = csrf_client.post(url, {"organisation": other.pk})
    assert refused.status_code == 403
    assert not AuditEvent.objects.filter(action="support.switch_organisation").exists()
    page = csrf_client.get(url)
    token = page.cookies["csrftoken"].value
    accepted = csrf_client.post(url, {"organisation": other.pk}, HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 302


def test_support_staff_switch_organisation_and_view_read_only(client, support, org):
    location = make_location(org, "Main")
    make_numbers(location, 2)
    client.force_login(support)
    assert client.get(reverse("portal:overview")).status_code == 302  # no organisation chosen yet
    client.post(reverse("portal:switch_organisation"), {"organisation": org.pk})
    html = client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert org.name in html and "support view" in html
    assert client.post(reverse("provisioning:calling_pstn")).status_code == 403
    event = AuditEvent.objects.get(action="support.switch_organisation")
    assert event.actor == support and event.organisation == org


@pytest.mark.parametrize("value", ["", "abc", "-1", "²", "9" * 30, "0"])
def test_support_switcher_refuses_an_organisation_not_in_the_list(client, support, org, value):
    client.force_login(support)
    response = client.post(reverse("portal:switch_organisation"), {"organisation": value}, follow=True)
    assert "Choose an organisation from the list." in response.content.decode()
    assert SUPPORT_ORG_SESSION_KEY not in client.session
    assert not AuditEvent.objects.filter(action="support.switch_organisation").exists()


def test_customer_admins_cannot_open_the_support_switcher(admin_client, other_org):
    response = admin_client.post(reverse("portal:switch_organisation"), {"organisation": other_org.pk})
    assert response.status_code == 403


def test_sign_in_and_out_are_audited(client, admin):
    from tests.factories import PASSWORD

    client.post(reverse("login"), {"username": admin.email, "password": PASSWORD})
    client.post(reverse("login"), {"username": admin.email, "password": "wrong"})
    client.post(reverse("logout"))
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["auth.login", "auth.login_failed", "auth.logout"]


def test_audit_events_are_append_only(admin):
    from django.core.exceptions import ValidationError

    from portal.audit import record

    event = record("test.action", actor=admin, organisation=admin.organisation)
    event.action = "changed"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        AuditEvent.objects.all().delete()
    with pytest.raises(ValidationError):
        AuditEvent.objects.update(action="x")
    assert AuditEvent.objects.get().action == "test.action"
