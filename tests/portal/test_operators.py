"""The Django admin belongs to a separate portal operator; support staff work through the support console only; and
everyone changes their password inside Control Hub, never on a Django admin page."""

import os

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from portal.models import User

pytestmark = pytest.mark.django_db


def templates_used(response) -> set[str]:
    return {t.name for t in response.templates if t.name}


def test_a_customer_admin_changes_their_password_inside_the_control_hub_shell(admin_client, admin, org):
    response = admin_client.get(reverse("password_change"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "base.html" in templates_used(response) and not any(t.startswith("admin/") for t in templates_used(response))
    assert "Django administration" not in page and "Django site admin" not in page
    assert "Change your password" in page and org.name in page and "Sign out" in page  # the Control Hub shell

    wrong = admin_client.post(reverse("password_change"), {"old_password": "nope", "new_password1": "x"})
    assert wrong.status_code == 200 and 'class="errorlist' in wrong.content.decode()
    new = "Brand-New-Passw0rd!"
    done = admin_client.post(
        reverse("password_change"),
        {"old_password": "correct-horse-battery", "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert done.status_code == 200 and "Password changed" in done.content.decode()
    assert not any(t.startswith("admin/") for t in templates_used(done))
    admin.refresh_from_db()
    assert admin.check_password(new)


def test_support_staff_have_no_django_admin_but_keep_the_support_console(support, org):
    client = Client()
    client.force_login(support)
    for url in ("/admin/", "/admin/portal/user/", f"/admin/provisioning/licence/{org.licences.first().pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    # The support console needs none of it.
    assert client.get(reverse("compliance:support_queue")).status_code == 200
    assert client.post(reverse("portal:switch_organisation"), {"organisation": org.pk}).status_code == 302
    assert client.get(reverse("portal:overview")).status_code == 200

    # And nobody but an operator can be made a Django admin again, not even by a stray update.
    for flag in ("is_staff", "is_superuser"):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.filter(pk=support.pk).update(**{flag: True})


def test_the_operator_from_createsuperuser_has_the_django_admin_and_no_control_hub(org, monkeypatch):
    monkeypatch.setitem(os.environ, "DJANGO_SUPERUSER_PASSWORD", "Operator-Passw0rd!")
    call_command("createsuperuser", interactive=False, email="ops@hub.test", stdout=open(os.devnull, "w"))
    operator = User.objects.get(email="ops@hub.test")
    assert operator.role == User.Role.OPERATOR and operator.organisation is None
    assert operator.is_staff and operator.is_superuser

    client = Client()
    client.force_login(operator)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/portal/user/").status_code == 200
    assert client.get(reverse("home"))["Location"] == "/admin/"
    for name in ("portal:overview", "portal:users", "compliance:support_queue", "portal:switch_organisation"):
        assert client.get(reverse(name)).status_code == 403, name


def test_every_change_an_operator_makes_in_the_django_admin_is_in_the_audit_log(org):
    from portal.models import AuditEvent

    operator = User.objects.create_superuser(email="ops@hub.test", password="Operator-Passw0rd!")
    licence = org.licences.first()
    client = Client()
    client.force_login(operator)
    url = f"/admin/provisioning/licence/{licence.pk}/change/"
    form = {
        "organisation": org.pk,
        "sku": licence.sku,
        "quantity": licence.quantity + 5,
        "status": licence.status,
        "starts": licence.starts.isoformat(),
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    licence.refresh_from_db()
    event = AuditEvent.objects.get(action="admin.changed")
    assert event.actor == operator and event.organisation == org
    assert event.details["model"] == "provisioning.Licence" and event.details["object_id"] == str(licence.pk)
    assert "Quantity" in event.details["change"]

    client.post(f"/admin/provisioning/licence/{licence.pk}/delete/", {"post": "yes"})
    deleted = AuditEvent.objects.get(action="admin.deleted")
    assert deleted.actor == operator and deleted.details["object_id"] == str(licence.pk)
