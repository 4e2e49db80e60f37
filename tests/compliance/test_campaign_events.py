"""A campaign's life after registration, end to end against the carrier simulator: the operators' statuses arrive by
poll and by signed callback; an operator's suspension or the registry's expiry stops the campaign's numbers (the
messaging API answers `campaign_suspended` / `campaign_expired`), e-mails the organisation's contacts once, audits
the change and gives support a to-do; lifting it lets the numbers send again. Duplicates change nothing twice."""

import json
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from carrier import SIGNATURE_HEADER, sign_webhook_body
from compliance import tasks
from compliance.models import Campaign, CampaignCarrierStatus, RegistrationCase, SupportTodo
from portal.models import AuditEvent, User
from tests.compliance.brand_factories import make_brand, make_campaign, registered_at_sim
from tests.compliance.factories import make_case
from tests.factories import make_user
from tests.texting.conftest import _texting_isolation  # noqa: F401 — clean volume counters, a webhook secret
from tests.texting.factories import APP_VERSION, issue_token, make_texter, send
from texting.models import BlockReason, Message

pytestmark = pytest.mark.django_db

SEND_URL = "/api/texting/messages"
_capture = None


@pytest.fixture
def live(org, admin, carrier_sim):
    """Acme's brand and campaign, registered at the simulator (every operator accepted it), with one texting user's
    number in the campaign, and an open case whose contact is not an administrator."""
    brand_id, campaign_id = registered_at_sim(carrier_sim)
    user, number = make_texter(org)
    brand = make_brand(org, registry_id=brand_id)
    campaign = make_campaign(brand, registry_id=campaign_id, numbers=[number])
    make_case(org, RegistrationCase.State.FORM_SENT, contact_email="casey@acme.example")
    make_case(org, RegistrationCase.State.COMPLETED, contact_email="old-contact@acme.example")  # closed: not told
    make_user(org, role=User.Role.READONLY_ADMIN, email="reader@acme.example")  # not a full admin: not told
    poll()  # the operators' acceptances arrive
    mail.outbox.clear()
    return SimpleNamespace(sim=carrier_sim, user=user, number=number, brand=brand, campaign=campaign, id=campaign_id)


@pytest.fixture(autouse=True)
def _committed(django_capture_on_commit_callbacks):
    """Work scheduled after commit (the e-mails) runs, as it does outside a test's transaction."""
    global _capture
    _capture = django_capture_on_commit_callbacks


def poll():
    with _capture(execute=True):
        tasks.poll_live_campaigns.delay()


def callback(client, sim, campaign_id):
    with _capture(execute=True):
        return _callback(client, sim, campaign_id)


def _callback(client, sim, campaign_id):
    """The carrier's signed callback with the campaign as the carrier now shows it."""
    from carrier import get_gateway

    view = get_gateway()._http.get(f"/v1/campaigns/{campaign_id}").json()
    raw = json.dumps({"type": "campaign.updated", "id": campaign_id, "reference": view["reference"], "payload": view})
    from django.conf import settings

    signature = sign_webhook_body(raw.encode(), settings.CARRIER_WEBHOOK_SECRET)
    return client.post(
        reverse("compliance:registration_callback"),
        data=raw,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": signature},
    )


def post_text(user):
    token = issue_token(User.objects.get(email="admin@acme.test"), user)
    return Client(enforce_csrf_checks=True).post(
        SEND_URL,
        data=json.dumps({"to": "+14155550123", "body": "Your table is ready."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
    )


def carrier_status(campaign, carrier):
    return CampaignCarrierStatus.objects.get(campaign=campaign, carrier=carrier)


def test_the_operators_statuses_arrive_by_poll(live):
    statuses = dict(CampaignCarrierStatus.objects.filter(campaign=live.campaign).values_list("carrier", "status"))
    assert statuses == {"att": "accepted", "tmobile": "accepted", "verizon": "accepted", "uscellular": "accepted"}
    assert AuditEvent.objects.filter(action="campaign.operator_status", target_id=str(live.campaign.pk)).count() == 4
    assert mail.outbox == []  # an acceptance is not news for the customer
    poll()  # nothing new: nothing written again
    assert AuditEvent.objects.filter(action="campaign.operator_status", target_id=str(live.campaign.pk)).count() == 4


def test_an_operator_rejection_marker_is_stored_with_its_reason(org, carrier_sim):
    brand_id, campaign_id = registered_at_sim(carrier_sim, description="Support texts. Declined by Verizon.")
    campaign = make_campaign(make_brand(org, registry_id=brand_id), registry_id=campaign_id)
    poll()
    verizon = carrier_status(campaign, "verizon")
    assert verizon.status == "rejected" and "Verizon" in verizon.reason
    campaign = Campaign.objects.prefetch_related("carrier_statuses").get(pk=campaign.pk)
    assert campaign.is_usable is False


def test_a_suspension_stops_the_numbers_and_a_resumption_restarts_them(live, client):
    assert send(live.user).status == Message.Status.ACCEPTED

    live.sim.suspend_campaign(live.id, carrier="TMOBILE", reason="Spam complaints")
    poll()
    tmobile = carrier_status(live.campaign, "tmobile")
    assert (tmobile.status, tmobile.reason) == ("suspended", "Spam complaints")

    # The messaging API refuses with the clear reason, and the text is stored as blocked.
    answer = post_text(live.user)
    assert answer.status_code == 403 and answer.json()["reason"] == "campaign_suspended"
    assert "T-Mobile" in answer.json()["detail"] and "Spam complaints" in answer.json()["detail"]

    # The organisation's full administrators and the contact of its open case hear it, once.
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["admin@acme.test", "casey@acme.example"]
    assert live.id in mail.outbox[0].subject and "Spam complaints" in mail.outbox[0].body
    # Support gets one to-do; the change is audited.
    todo = SupportTodo.objects.get()
    assert todo.kind == SupportTodo.Kind.CAMPAIGN_SUSPENDED and todo.carrier == "tmobile" and todo.done_at is None
    assert AuditEvent.objects.filter(action="campaign.suspended", target_id=str(live.campaign.pk)).count() == 1

    # The same event again (a poll, then the callback, then a duplicate callback) changes nothing.
    poll()
    assert callback(client, live.sim, live.id).json() == {"applied": False, "known": True}
    callback(client, live.sim, live.id)
    assert len(mail.outbox) == 1 and SupportTodo.objects.count() == 1
    assert AuditEvent.objects.filter(action="campaign.suspended").count() == 1

    # T-Mobile lifts it: the callback brings the news; the numbers send again.
    live.sim.resume_campaign(live.id, carrier="TMOBILE")
    assert callback(client, live.sim, live.id).json()["applied"] is True
    assert carrier_status(live.campaign, "tmobile").status == "accepted"
    assert send(live.user).status == Message.Status.ACCEPTED
    assert len(mail.outbox) == 2 and "can send again" in mail.outbox[1].subject
    todo.refresh_from_db()
    assert todo.resumed_at is not None and todo.done_at is None  # noted; support closes it
    assert AuditEvent.objects.filter(action="campaign.resumed", target_id=str(live.campaign.pk)).count() == 1
    poll()
    assert len(mail.outbox) == 2


def test_the_registry_suspends_and_expires_a_campaign(live):
    live.sim.suspend_campaign(live.id, reason="Dormant: no traffic for 90 days")
    poll()
    live.campaign.refresh_from_db()
    assert live.campaign.status == Campaign.Status.SUSPENDED and "Dormant" in live.campaign.reason
    blocked = send(live.user)
    assert blocked.blocked_reason == BlockReason.CAMPAIGN_SUSPENDED and "registry" in blocked.status_detail

    live.sim.expire_campaign(live.id)
    poll()
    live.campaign.refresh_from_db()
    assert live.campaign.status == Campaign.Status.EXPIRED
    assert send(live.user).blocked_reason == BlockReason.CAMPAIGN_EXPIRED
    assert [todo.kind for todo in SupportTodo.objects.all()] == ["campaign_suspended", "campaign_expired"]
    assert len(mail.outbox) == 2 and "cannot send" in mail.outbox[1].subject
    poll()  # expired is final: later polls change nothing
    assert len(mail.outbox) == 2


def test_a_number_in_no_campaign_keeps_todays_rule(org, carrier_sim):
    """Not in any campaign: the texting state alone decides, as before campaigns were kept (nothing loosened)."""
    user, _ = make_texter(org)
    assert send(user).status == Message.Status.ACCEPTED
    unregistered, _ = make_texter(org, state="authorised")
    assert send(unregistered).blocked_reason == BlockReason.NUMBER_NOT_REGISTERED


def test_a_bad_callback_changes_nothing(live, client):
    from django.conf import settings

    live.sim.suspend_campaign(live.id, carrier="ATT", reason="Spam complaints")
    view = {"campaign_id": live.id, "reference": "x", "status": "ACTIVE", "carriers": "ATT"}
    raw = json.dumps({"type": "campaign.updated", "payload": view}).encode()
    header = {
        f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook_body(raw, settings.CARRIER_WEBHOOK_SECRET)
    }
    url = reverse("compliance:registration_callback")
    assert client.post(url, data=raw, content_type="application/json", **header).status_code == 400
    unsigned = json.dumps({"type": "campaign.updated", "payload": {**view, "carriers": []}}).encode()
    assert client.post(url, data=unsigned, content_type="application/json").status_code == 403
    assert carrier_status(live.campaign, "att").status == "accepted"
    assert SupportTodo.objects.count() == 0 and mail.outbox == []


# --- support's to-dos -------------------------------------------------------------------------------------------


@pytest.fixture
def todo(live):
    live.sim.suspend_campaign(live.id, carrier="VERIZON", reason="Spam complaints")
    poll()
    return SupportTodo.objects.get()


def test_support_sees_the_todo_at_the_top_of_the_queue_and_marks_it_done(todo, client, support):
    client.force_login(support)
    page = client.get(reverse("compliance:support_queue")).content.decode()
    assert "Spam complaints" in page and "Verizon" in page
    assert page.index('id="support-todos"') < page.index('id="queue"')
    brand_page = client.get(reverse("compliance:support_brand", args=[todo.campaign.brand_id])).content.decode()
    assert "Verizon Wireless: Suspended (Spam complaints)" in brand_page and "Cannot send" in brand_page
    done = client.post(reverse("compliance:support_todo_done", args=[todo.pk]), follow=True)
    assert "marked done" in done.content.decode()
    todo.refresh_from_db()
    assert todo.done_at is not None and todo.done_by == support
    assert AuditEvent.objects.filter(action="support_todo.done", actor=support, target_id=str(todo.pk)).exists()
    assert 'id="support-todos"' not in client.get(reverse("compliance:support_queue")).content.decode()
    again = client.post(reverse("compliance:support_todo_done", args=[todo.pk]), follow=True)
    assert "already marked done" in again.content.decode()
    assert AuditEvent.objects.filter(action="support_todo.done").count() == 1


def test_customers_never_see_or_close_todos(todo, admin_client):
    url = reverse("compliance:support_todo_done", args=[todo.pk])
    assert admin_client.post(url).status_code in (403, 404)
    assert admin_client.get(reverse("compliance:support_queue")).status_code in (403, 404)
    todo.refresh_from_db()
    assert todo.done_at is None


def test_done_needs_a_post_and_an_existing_todo(todo, client, support):
    client.force_login(support)
    assert client.get(reverse("compliance:support_todo_done", args=[todo.pk])).status_code == 405
    assert client.post(reverse("compliance:support_todo_done", args=[todo.pk + 999])).status_code == 404
    todo.refresh_from_db()
    assert todo.done_at is None


def test_a_text_waiting_for_the_carrier_is_not_sent_once_the_campaign_is_suspended(live):
    from carrier import get_gateway
    from texting.actions.sending import hand_to_carrier

    waiting = send(live.user)  # accepted; its hand-over to the carrier runs after commit
    assert waiting.status == Message.Status.ACCEPTED
    live.sim.suspend_campaign(live.id, carrier="ATT", reason="Spam complaints")
    poll()
    handed = hand_to_carrier(waiting.pk, get_gateway())
    assert handed.status == Message.Status.FAILED and "AT&T suspended" in handed.status_detail
    assert live.sim.stats()["writes_created"]["messages"] == 0
