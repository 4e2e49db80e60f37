"""Abuse controls (issue 11): Cisco PSTN support suspends texting for one number or a whole organisation from the
support console, with a reason; the sending API refuses with `suspended_by_cisco` and the reason; the customer's
administrators see it; lifting it allows texting again. Every change is audited; bad input changes nothing."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from carrier import get_gateway
from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import AuditEvent, User
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_user
from tests.security.snapshot import differences, fingerprint
from tests.texting.factories import APP_VERSION, RECIPIENT, issue_token, make_texter, send
from texting import actions
from texting.models import Message, OptOut, Suspension

pytestmark = pytest.mark.django_db

CONSOLE = "/support/texting/suspensions/"
SUSPEND = "/support/texting/suspensions/suspend/"


def lift_url(suspension):
    return f"/support/texting/suspensions/{suspension.pk}/lift/"


def post_text(token, to=RECIPIENT):
    return Client(enforce_csrf_checks=True).post(
        "/api/texting/messages",
        data=json.dumps({"to": to, "body": "Your table is ready."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
    )


@pytest.fixture
def support_client(support):
    client = Client()
    client.force_login(support)
    return client


@pytest.fixture
def texter(org, admin):
    user, number = make_texter(org)
    return user, number, issue_token(admin, user)


def scopes(*orgs):
    return {org.pk: f"org{i}" for i, org in enumerate(orgs)}


def test_the_urls_are_the_documented_ones():
    assert reverse("texting:support_suspensions") == CONSOLE
    assert reverse("texting:support_suspend") == SUSPEND


def test_support_suspends_an_organisation_and_every_text_is_refused_with_the_reason(
    support_client, support, org, texter
):
    _, _, token = texter
    assert post_text(token).status_code == 202
    response = support_client.post(
        SUSPEND, {"organisation": org.pk, "number": "", "reason": "Spam complaints from T-Mobile"}
    )
    assert response.status_code == 302
    suspension = Suspension.objects.get(organisation=org)
    assert suspension.number is None and suspension.suspended_by == support and suspension.is_active
    event = AuditEvent.objects.get(action="texting.suspended")
    assert event.actor == support and event.organisation == org
    assert event.details["reason"] == "Spam complaints from T-Mobile"

    refused = post_text(token)
    assert refused.status_code == 403
    data = refused.json()
    assert data["reason"] == "suspended_by_cisco" and "Spam complaints from T-Mobile" in data["detail"]
    assert "Cisco PSTN support suspended Business Texting for Acme Test" in data["detail"]
    stored = Message.objects.get(pk=data["id"])
    assert stored.status == "blocked" and stored.blocked_reason == "suspended_by_cisco"


def test_lifting_the_suspension_allows_texting_again_and_is_audited(support_client, support, org, texter):
    _, _, token = texter
    suspension = actions.suspend_texting(support, org, "Spam complaints")
    assert post_text(token).json()["reason"] == "suspended_by_cisco"
    response = support_client.post(lift_url(suspension), {"lift-reason": "Customer removed the bulk sender"})
    assert response.status_code == 302
    suspension.refresh_from_db()
    assert not suspension.is_active and suspension.lifted_by == support
    assert suspension.lift_reason == "Customer removed the bulk sender"
    event = AuditEvent.objects.get(action="texting.suspension_lifted")
    assert event.actor == support and event.organisation == org
    assert post_text(token).status_code == 202


def test_a_suspended_number_is_refused_while_its_neighbours_still_text(support_client, support, org, admin, texter):
    _, number, token = texter
    neighbour, _ = make_texter(org, email="neighbour@acme.test")
    neighbour_token = issue_token(admin, neighbour)
    response = support_client.post(
        SUSPEND, {"organisation": org.pk, "number": number.display, "reason": "Bursts of 500 texts a minute"}
    )
    assert response.status_code == 302
    assert Suspension.objects.get().number == number
    data = post_text(token).json()
    assert data["reason"] == "suspended_by_cisco" and number.display in data["detail"]
    assert "Bursts of 500 texts a minute." in data["detail"]
    assert post_text(neighbour_token).status_code == 202


def test_the_customer_admin_sees_the_suspension_and_its_reason(admin_client, readonly_client, support, org, texter):
    _, number, _ = texter
    actions.suspend_texting(support, org, "Fraud reported by AT&T")
    actions.suspend_texting(support, org, "Inappropriate content", number=number)
    for client in (admin_client, readonly_client):
        for url in (reverse("texting:service_settings"), reverse("texting:activity")):
            page = client.get(url).content.decode()
            assert "Suspended by Cisco" in page and "Fraud reported by AT&amp;T" in page, url
            assert "Inappropriate content" in page and number.display in page, url


def test_another_organisations_suspension_is_not_shown(admin_client, support, other_org):
    actions.suspend_texting(support, other_org, "Globex spam wave")
    for url in (reverse("texting:service_settings"), reverse("texting:activity")):
        page = admin_client.get(url).content.decode()
        assert "Globex spam wave" not in page and "Suspended by Cisco" not in page


def test_a_lifted_suspension_is_no_longer_shown_to_the_customer(admin_client, support, org):
    suspension = actions.suspend_texting(support, org, "Spam complaints")
    actions.lift_suspension(support, suspension.pk, "Resolved")
    assert "Spam complaints" not in admin_client.get(reverse("texting:service_settings")).content.decode()


def test_the_console_lists_suspensions_in_effect_and_lifted(support_client, support, org, other_org):
    actions.suspend_texting(support, org, "Acme spam")
    lifted = actions.suspend_texting(support, other_org, "Globex bursts")
    actions.lift_suspension(support, lifted.pk, "Globex fixed it")
    page = support_client.get(CONSOLE).content.decode()
    assert "Acme spam" in page and "Globex bursts" in page and "Globex fixed it" in page
    only_acme = support_client.get(CONSOLE, {"organisation": org.pk}).content.decode()
    assert "Acme spam" in only_acme and "Globex bursts" not in only_acme


def test_a_text_accepted_before_the_suspension_is_not_handed_to_the_carrier(carrier_sim, support, org):
    user, _ = make_texter(org)
    message = send(user)
    assert message.status == "accepted"
    actions.suspend_texting(support, org, "Spam complaints")
    actions.hand_to_carrier(message.pk, get_gateway())
    message.refresh_from_db()
    assert message.status == "failed" and "suspended" in message.status_detail and message.carrier_message_id == ""
    assert carrier_sim.stats()["writes_created"].get("messages", 0) == 0


def test_a_stop_while_suspended_is_recorded_but_gets_no_reply(support, org, texter):
    _, number, _ = texter
    actions.suspend_texting(support, org, "Spam complaints", number=number)
    actions.receive_text(carrier_message_id="M1", sender="+14155550177", recipient=number.e164, body="STOP")
    assert OptOut.objects.get(party="+14155550177").is_active
    assert not Message.objects.filter(is_automatic_reply=True).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        (lambda org, other: {"organisation": org.pk, "reason": ""}, "Say why texting is suspended"),
        (lambda org, other: {"organisation": org.pk, "reason": "x" * 301}, "at most 300 characters"),
        (lambda org, other: {"organisation": "", "reason": "Spam"}, "Choose the organisation."),
        (lambda org, other: {"organisation": "999999", "reason": "Spam"}, "Choose an organisation from the list."),
        (lambda org, other: {"organisation": "1 OR 1=1", "reason": "Spam"}, "Choose an organisation from the list."),
        (lambda org, other: {"organisation": org.pk, "number": "555", "reason": "Spam"}, "not a valid US or Canadian"),
        (
            lambda org, other: {"organisation": org.pk, "number": other.number.e164, "reason": "Spam"},
            "Acme Test has no number",
        ),
    ],
)
def test_bad_input_to_suspend_is_refused_with_a_message_and_changes_nothing(
    support_client, org, other_org, data, message
):
    other = type("Other", (), {"number": make_numbers(make_location(other_org), 1)[0]})
    before = fingerprint(scopes(org, other_org))
    response = support_client.post(SUSPEND, data(org, other))
    assert response.status_code == 422 and message in response.content.decode()
    assert differences(before, fingerprint(scopes(org, other_org))) == []


def test_suspending_what_is_already_suspended_says_so_and_changes_nothing(support_client, support, org):
    actions.suspend_texting(support, org, "Spam complaints")
    before = fingerprint(scopes(org))
    response = support_client.post(SUSPEND, {"organisation": org.pk, "reason": "Again"})
    assert response.status_code == 422 and "already suspended" in response.content.decode()
    assert differences(before, fingerprint(scopes(org))) == []


def test_lifting_without_a_reason_or_twice_changes_nothing(support_client, support, org):
    suspension = actions.suspend_texting(support, org, "Spam complaints")
    before = fingerprint(scopes(org))
    page = support_client.post(lift_url(suspension), {"lift-reason": ""}, follow=True).content.decode()
    assert "is not lifted" in page and "Say why the suspension is lifted." in page
    assert differences(before, fingerprint(scopes(org))) == []
    actions.lift_suspension(support, suspension.pk, "Resolved")
    before = fingerprint(scopes(org))
    page = support_client.post(lift_url(suspension), {"lift-reason": "Again"}, follow=True).content.decode()
    assert "already lifted" in page
    assert differences(before, fingerprint(scopes(org))) == []


def test_customers_cannot_open_the_console_suspend_or_lift(admin_client, readonly_client, support, org):
    suspension = actions.suspend_texting(support, org, "Spam complaints")
    end_user = Client()
    end_user.force_login(make_user(org, role=User.Role.END_USER))
    before = fingerprint(scopes(org))
    for who in (admin_client, readonly_client, end_user):
        assert who.get(CONSOLE).status_code == 403
        assert who.post(SUSPEND, {"organisation": org.pk, "reason": "Mine"}).status_code == 403
        assert who.post(lift_url(suspension), {"lift-reason": "Lifting my own"}).status_code == 403
    assert Client().post(lift_url(suspension), {"lift-reason": "Anonymous"}).status_code == 302  # to sign in
    assert differences(before, fingerprint(scopes(org))) == []


def test_support_suspends_but_cannot_edit_the_customers_registry(support_client, org):
    session = support_client.session
    session[SUPPORT_ORG_SESSION_KEY] = org.pk
    session.save()
    add = support_client.post("/texting/opt-outs/add/", {"add-number": "+14155550177", "add-reason": "Support"})
    assert add.status_code == 403 and not OptOut.objects.exists()
    assert support_client.post(SUSPEND, {"organisation": org.pk, "reason": "Spam"}).status_code == 302


def test_suspend_and_lift_are_post_only_and_need_the_csrf_token(support, org):
    suspension = actions.suspend_texting(support, org, "Spam complaints")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(support)
    assert browser.get(SUSPEND).status_code == 405 and browser.get(lift_url(suspension)).status_code == 405
    assert browser.post(lift_url(suspension), {"lift-reason": "x"}).status_code == 403
    assert browser.post(SUSPEND, {"organisation": org.pk, "number": "", "reason": "x"}).status_code == 403
    suspension.refresh_from_db()
    assert suspension.is_active and Suspension.objects.count() == 1


def test_the_actions_refuse_anyone_but_support(admin, org):
    with pytest.raises(actions.TextingError):
        actions.suspend_texting(admin, org, "I suspend myself")
    assert not Suspension.objects.exists()


def test_a_number_of_another_organisation_is_refused_by_the_action(support, org, other_org):
    theirs = make_numbers(make_location(other_org), 1)[0]
    with pytest.raises(actions.TextingError):
        actions.suspend_texting(support, org, "Spam", number=PhoneNumber.objects.get(pk=theirs.pk))
    assert not Suspension.objects.exists()


def test_the_limits_say_what_the_article_says_and_link_the_spam_report_form(admin_client):
    settings_page = admin_client.get(reverse("texting:service_settings")).content.decode()
    assert 'href="http://cs.co/spam"' in settings_page
    assert "Texting is not unlimited" in settings_page
    assert "fraud, excessive volume or bursts, spam, unauthorised or inappropriate content" in settings_page
    assert "same compliance and retention capabilities as the other Webex modalities" in settings_page
    assert 'href="http://cs.co/spam"' in admin_client.get(reverse("texting:activity")).content.decode()


def test_where_the_suspension_stands_among_the_policy_rules(support, org):
    """The switch comes first (off says nothing about Cisco); an organisation's suspension comes before the sender's
    own number is looked at; a number's suspension before its 10DLC registration."""
    from tests.texting.factories import enable_texting

    user, number = make_texter(org, state=PhoneNumber.TextingState.AUTHORISED)
    actions.suspend_texting(support, org, "Spam", number=number)
    assert send(user).blocked_reason == "suspended_by_cisco"  # not number_not_registered
    actions.suspend_texting(support, org, "Whole organisation")
    PhoneNumber.objects.filter(pk=number.pk).update(is_primary=False)
    assert "Whole organisation." in send(user).status_detail  # not not_primary_number
    enable_texting(org, on=False)
    assert send(user).blocked_reason == "texting_disabled"
