"""Who may see and do what, for every case view and role: a customer's full administrator, read-only
administrator, end user, another organisation's administrator, support staff (with and without a customer
organisation switched to) and anonymous visitors."""

import json

import pytest
from django.urls import reverse

from carrier import sign_webhook_body
from compliance.models import RegistrationCase
from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import User
from tests.factories import make_user

from .factories import VALID_FORM, make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State

ROLES = ["full_admin", "readonly", "end_user", "other_org_admin", "support", "support_switched", "anonymous"]


@pytest.fixture
def case(org):
    make_authorised_numbers(org, 2)
    return make_case(org, State.FORM_SENT)


@pytest.fixture
def as_role(client, org, other_org):
    def login(role):
        users = {
            "full_admin": lambda: make_user(org, role=User.Role.FULL_ADMIN),
            "readonly": lambda: make_user(org, role=User.Role.READONLY_ADMIN),
            "end_user": lambda: make_user(org, role=User.Role.END_USER),
            "other_org_admin": lambda: make_user(other_org, role=User.Role.FULL_ADMIN),
            "support": lambda: make_user(None, role=User.Role.SUPPORT),
            "support_switched": lambda: make_user(None, role=User.Role.SUPPORT),
        }
        if role != "anonymous":
            client.force_login(users[role]())
        if role == "support_switched":
            session = client.session
            session[SUPPORT_ORG_SESSION_KEY] = org.pk
            session.save()
        return client

    return login


# (view, method) -> expected status per role. 302 for anonymous is the login redirect; for support without an
# organisation, the redirect to the organisation switcher.
CUSTOMER_READ = {
    "full_admin": 200,
    "readonly": 200,
    "end_user": 403,
    "other_org_admin": 404,
    "support": 302,
    "support_switched": 200,
    "anonymous": 302,
}
CUSTOMER_ACT = {
    "full_admin": 302,
    "readonly": 403,
    "end_user": 403,
    "other_org_admin": 404,
    "support": 403,
    "support_switched": 403,
    "anonymous": 302,
}
SUPPORT_ONLY = {
    "full_admin": 403,
    "readonly": 403,
    "end_user": 403,
    "other_org_admin": 403,
    "support": 200,
    "support_switched": 200,
    "anonymous": 302,
}

MATRIX = [
    ("compliance:cases", False, "get", {**CUSTOMER_READ, "other_org_admin": 200}),
    # Another organisation's admin opens cases for their own organisation: our number is refused (200 + message).
    ("compliance:case_open", False, "get", {**CUSTOMER_ACT, "full_admin": 200, "other_org_admin": 200}),
    ("compliance:case_open", False, "post", {**CUSTOMER_ACT, "full_admin": 302, "other_org_admin": 200}),
    ("compliance:case", True, "get", CUSTOMER_READ),
    ("compliance:case_form", True, "post", CUSTOMER_ACT),
    ("compliance:case_message", True, "post", CUSTOMER_ACT),
    ("compliance:case_cancel", True, "post", CUSTOMER_ACT),
    ("compliance:support_queue", False, "get", SUPPORT_ONLY),
    ("compliance:support_case", True, "get", SUPPORT_ONLY),
    ("compliance:support_action", True, "post", {**SUPPORT_ONLY, "support": 302, "support_switched": 302}),
]


def post_data(name, org):
    if name == "compliance:case_open":
        numbers = make_authorised_numbers(org, 1)
        return {"numbers": numbers[0].pk, "contact_name": "C", "contact_email": "c@acme.test"}
    return {
        "compliance:case_form": {**VALID_FORM, "save": "1"},
        "compliance:case_message": {"message-text": "Hello"},
        "compliance:case_cancel": {"cancel-reason": "No longer needed"},
        "compliance:support_action": {"message-text": "Hello"},
    }[name]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("name", "with_case", "method", "expected"),
    MATRIX,
    ids=[f"{name.split(':')[1]}-{method}" for name, _w, method, _e in MATRIX],
)
def test_every_view_for_every_role(as_role, org, case, role, name, with_case, method, expected):
    args = [case.pk] if with_case else []
    if name == "compliance:support_action":
        args.append("message")
    url = reverse(name, args=args)
    client = as_role(role)
    response = client.post(url, post_data(name, org)) if method == "post" else client.get(url)
    assert response.status_code == expected[role]
    if name == "compliance:case_open" and role == "other_org_admin" and method == "post":
        assert "not numbers of your organisation" in response.content.decode()
        assert RegistrationCase.objects.count() == 1
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    if role == "support" and expected[role] == 302 and name.startswith("compliance:case"):
        assert response["Location"] == reverse("portal:switch_organisation")


def test_refused_customer_actions_change_nothing(as_role, org, case):
    before = RegistrationCase.objects.filter(pk=case.pk).values().get()
    events = case.events.count()
    for role in ("readonly", "end_user", "support_switched"):
        client = as_role(role)
        client.post(reverse("compliance:case_form", args=[case.pk]), {**VALID_FORM, "submit": "1"})
        client.post(reverse("compliance:case_cancel", args=[case.pk]), {"cancel-reason": "x"})
        client.logout()
    assert RegistrationCase.objects.filter(pk=case.pk).values().get() == before
    assert case.events.count() == events
    assert case.registration.legal_name == VALID_FORM["legal_name"]


CUSTOMER_FORMS = ("Save draft", "Cancel case", "Send message")


def test_support_switched_reads_the_customer_case_without_forms(as_role, client, case):
    url = reverse("compliance:case", args=[case.pk])
    response = as_role("support_switched").get(url)
    html = response.content.decode()
    assert response.status_code == 200 and f"Case #{case.pk}: 10DLC registration" in html
    assert VALID_FORM["legal_name"] in html  # the customer's form, read-only
    assert not any(button in html for button in CUSTOMER_FORMS)
    client.logout()
    # The customer's own administrator sees the same page with its forms: their absence above is the role's doing.
    customer_html = as_role("full_admin").get(url).content.decode()
    assert all(button in customer_html for button in CUSTOMER_FORMS)


def test_another_organisations_case_is_not_listed(as_role, case, other_org):
    theirs = make_case(other_org, State.FORM_SENT)
    response = as_role("other_org_admin").get(reverse("compliance:cases"))
    html = response.content.decode()
    assert response.status_code == 200 and "10DLC registration cases" in html
    assert f'href="{reverse("compliance:case", args=[theirs.pk])}"' in html  # their own case is listed
    assert f'href="{reverse("compliance:case", args=[case.pk])}"' not in html and f"Case #{case.pk}" not in html


def test_unsigned_carrier_callback_is_refused_and_changes_nothing(client, org, settings):
    """A callback that would approve a brand, unsigned or signed with another secret: 403 and the case is as it was.
    The same body signed with our secret is applied, so the refusals are the signature's doing."""
    settings.CARRIER_WEBHOOK_SECRET = "test-secret"
    submitted = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="BSCOPE1")
    body = json.dumps(
        {
            "type": "brand.updated",
            "payload": {
                "brand_id": "BSCOPE1",
                "reference": submitted.brand_reference,
                "status": "APPROVED",
                "identity_status": "VERIFIED",
            },
        }
    ).encode()
    url = reverse("compliance:registration_callback")
    before = RegistrationCase.objects.filter(pk=submitted.pk).values().get()
    events = submitted.events.count()
    for headers in ({}, {"HTTP_X_CARRIER_SIGNATURE": sign_webhook_body(body, "not-our-secret")}):
        assert client.post(url, data=body, content_type="application/json", **headers).status_code == 403
        assert RegistrationCase.objects.filter(pk=submitted.pk).values().get() == before
        assert submitted.events.count() == events
    signed = {"HTTP_X_CARRIER_SIGNATURE": sign_webhook_body(body, "test-secret")}
    assert client.post(url, data=body, content_type="application/json", **signed).status_code == 200
    submitted.refresh_from_db()
    assert submitted.state == State.BRAND_APPROVED
