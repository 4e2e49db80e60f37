"""Calling → Service Settings (the switch), the activity page and API tokens: who sees and changes what."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from portal.models import AuditEvent, User
from tests.factories import make_org, make_user
from tests.security.snapshot import differences, fingerprint
from tests.texting.factories import issue_token, make_text, make_texter, send
from texting.actions import authenticate_api_token
from texting.models import ApiToken, Message, OptOut, PurgeRun, ServiceSettings, hash_token

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/calling/service-settings/"
ACTIVITY_URL = "/texting/activity/"
TOKENS_URL = "/texting/api-tokens/"


def no_inline_styles_or_scripts(html):
    assert not re.search(r"\sstyle=", html), "inline style attribute"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"


def test_the_navigation_says_what_each_business_texting_place_is(admin_client):
    # The sidebar item opens the activity page, and says so; the Manage menu lives on the card under Calling.
    activity = admin_client.get(ACTIVITY_URL).content.decode()
    sidebar = activity[activity.index('aria-label="Main"') : activity.index("</nav>")]
    assert f'href="{ACTIVITY_URL}" aria-current="page">Texting activity</a>' in sidebar
    assert ">Business Texting<" not in sidebar
    calling_card = f'href="{reverse("provisioning:calling_pstn")}#business-texting"'
    assert calling_card in activity and "has the Manage menu" in activity
    calling = admin_client.get(reverse("provisioning:calling_pstn")).content.decode()
    card = calling[calling.index('id="business-texting"') :]
    assert "Manage" in card and f'<a href="{ACTIVITY_URL}">Texting activity</a>' in card


# --- service settings ----------------------------------------------------------------------------------------


def test_service_settings_tab_and_nav_link(admin_client):
    assert reverse("texting:service_settings") == SETTINGS_URL
    calling = admin_client.get(reverse("provisioning:calling_pstn")).content.decode()
    assert f'href="{SETTINGS_URL}"' in calling and "Service Settings" in calling
    assert f'href="{ACTIVITY_URL}"' in calling and "Business Texting" in calling


def test_the_switch_is_off_by_default_and_the_page_states_the_limits(admin_client, org):
    response = admin_client.get(SETTINGS_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Turn on Business Texting" in html and "state-off" in html
    assert "HIPAA" in html and "Not supported" in html
    assert "400 days" in html and "cannot be changed" in html
    assert "MMS" in html and "US and Canadian numbers only" in html
    no_inline_styles_or_scripts(html)
    # Reading the page writes nothing: off is the default, not a row.
    assert not ServiceSettings.objects.filter(organisation=org).exists()
    admin_client.get(ACTIVITY_URL)
    assert not ServiceSettings.objects.filter(organisation=org).exists()


def test_a_full_admin_switches_texting_on_and_off_audited(admin_client, org, admin):
    response = admin_client.post(reverse("texting:set_business_texting"), {"enabled": "on"}, follow=True)
    assert "Business Texting is on" in response.content.decode()
    assert ServiceSettings.objects.get(organisation=org).business_texting_enabled
    admin_client.post(reverse("texting:set_business_texting"), {"enabled": "off"})
    row = ServiceSettings.objects.get(organisation=org)
    assert not row.business_texting_enabled and row.changed_by == admin
    assert list(
        AuditEvent.objects.filter(organisation=org, action__startswith="texting.")
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["texting.enabled", "texting.disabled"]


def test_turning_texting_off_stops_sending_and_deletes_nothing(admin_client, org):
    user, _ = make_texter(org)
    assert send(user).status == "accepted"
    admin_client.post(reverse("texting:set_business_texting"), {"enabled": "off"})
    assert send(user).blocked_reason == "texting_disabled"
    assert Message.objects.count() == 2


def test_only_full_admins_toggle(readonly_client, org, client, support):
    assert "Turn on Business Texting" not in readonly_client.get(SETTINGS_URL).content.decode()
    assert readonly_client.post(reverse("texting:set_business_texting"), {"enabled": "on"}).status_code == 403
    client.force_login(support)
    client.post(reverse("portal:switch_organisation"), {"organisation": org.pk})
    assert client.get(SETTINGS_URL).status_code == 200
    assert client.post(reverse("texting:set_business_texting"), {"enabled": "on"}).status_code == 403
    assert not ServiceSettings.objects.filter(business_texting_enabled=True).exists()


def test_the_switch_changes_only_by_post(admin_client):
    assert admin_client.get(reverse("texting:set_business_texting")).status_code == 405


def test_texting_cannot_be_switched_on_without_the_addon(client):
    org = make_org("No Addon Test", addon=False)
    client.force_login(make_user(org, role=User.Role.FULL_ADMIN))
    html = client.get(SETTINGS_URL).content.decode()
    assert "needs the Business Texting Add-On licence" in html
    response = client.post(reverse("texting:set_business_texting"), {"enabled": "on"}, follow=True)
    assert "needs the Business Texting Add-On licence" in response.content.decode()
    assert not ServiceSettings.objects.filter(organisation=org, business_texting_enabled=True).exists()


@pytest.mark.parametrize("enabled", ["on", "off"])
def test_switching_without_the_addon_writes_nothing(client, enabled):
    """Refused (on) or already so (off): either way the POST leaves every table as it was."""
    org = make_org("No Addon Test", addon=False)
    client.force_login(make_user(org, role=User.Role.FULL_ADMIN))
    before = fingerprint({org.pk: "org"})
    response = client.post(reverse("texting:set_business_texting"), {"enabled": enabled})
    assert response.status_code == 302
    assert differences(before, fingerprint({org.pk: "org"})) == []


# --- activity --------------------------------------------------------------------------------------------------


@pytest.fixture
def activity_data(org, other_org):
    user, number = make_texter(org, email="texter@acme.test")
    now = datetime.now(UTC)
    make_text(org, number=number.e164, body="SECRET-BODY-1", created_at=now - timedelta(days=1), user=user)
    make_text(org, number=number.e164, body="SECRET-BODY-2", created_at=now - timedelta(days=2), user=user)
    make_text(org, number=number.e164, direction="inbound", status="received", body="SECRET-BODY-3")
    make_text(
        org,
        number=number.e164,
        status="blocked",
        reason="international_destination",
        body="SECRET-4",
        party="+447911123456",
    )
    make_text(org, number=number.e164, status="blocked", reason="recipient_opted_out", body="SECRET-5")
    make_text(org, number=number.e164, status="blocked", reason="recipient_opted_out", body="SECRET-6")
    OptOut.objects.create(organisation=org, party="+14155550177", business_number=number.e164, keyword="STOP")
    _, theirs = make_texter(other_org, email="texter@globex.test")
    make_text(other_org, number=theirs.e164, body="GLOBEX-BODY", party="+14155550166")
    OptOut.objects.create(organisation=other_org, party="+14155550155", business_number=theirs.e164, keyword="QUIT")
    PurgeRun.objects.create(
        cutoff=now - timedelta(days=400),
        retention_days=400,
        batch_size=1000,
        rows_deleted=123456,
        batches=7,
        outcome="completed",
        finished=now,
    )
    return number, theirs


def test_activity_shows_counts_and_metadata_never_bodies(admin_client, activity_data):
    number, theirs = activity_data
    response = admin_client.get(ACTIVITY_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "SECRET" not in html and "GLOBEX" not in html
    assert number.display in html and "texter@acme.test" in html
    # Per day chart: server-rendered SVG with a bar per non-empty series.
    assert "<svg" in html and 'class="bar bar-outbound"' in html and 'class="bar bar-blocked"' in html
    assert "2 sent" in html and "1 received" in html and "3 blocked" in html
    # Blocked by reason.
    assert "recipient_opted_out" in html and "international_destination" in html
    # Opt-outs of this organisation only.
    assert "+1 415-555-0177" in html and "+1 415-555-0155" not in html
    # Retention policy and the last purge (counts across organisations only for support staff).
    assert "400 days" in html and "Completed" in html and "123,456" not in html
    no_inline_styles_or_scripts(html)


def test_activity_is_scoped_to_the_organisation(client, activity_data, other_org):
    number, theirs = activity_data
    client.force_login(make_user(other_org, role=User.Role.FULL_ADMIN))
    html = client.get(ACTIVITY_URL).content.decode()
    assert theirs.display in html and number.display not in html
    assert "texter@acme.test" not in html and "+1 415-555-0177" not in html
    # Filtering by the other organisation's number finds nothing either.
    html = client.get(ACTIVITY_URL, {"number": number.e164}).content.decode()
    assert "No texts match." in html


def test_support_staff_view_activity_read_only(client, support, org, activity_data):
    client.force_login(support)
    client.post(reverse("portal:switch_organisation"), {"organisation": org.pk})
    html = client.get(ACTIVITY_URL).content.decode()
    assert "support view" in html and "SECRET" not in html
    assert "123,456" in html  # support staff see the purge's row counts


def test_end_users_have_no_activity_page(client, org):
    user, _ = make_texter(org)
    client.force_login(user)
    assert client.get(ACTIVITY_URL).status_code == 403


def test_the_texts_list_filters_and_swaps_as_a_partial(admin_client, activity_data):
    number, _ = activity_data
    response = admin_client.get(
        ACTIVITY_URL, {"status": "blocked", "number": number.display}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="texts"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="texts">')
    assert html.count("<tr>") == 1 + 3  # header + three blocked texts
    assert "<svg" not in html and "SECRET" not in html
    full = admin_client.get(ACTIVITY_URL, {"status": "blocked"}).content.decode()
    assert '<section class="card" id="texts">' in full and "<svg" in full  # bookmarkable as a full page


def test_activity_query_count_does_not_grow_with_data(admin_client, org, django_assert_max_num_queries):
    user, number = make_texter(org)
    make_text(org, number=number.e164, user=user)
    make_text(org, number=number.e164, status="blocked", reason="media_not_supported")
    admin_client.get(ACTIVITY_URL)
    with django_assert_max_num_queries(15) as small:
        admin_client.get(ACTIVITY_URL)
    for i in range(40):
        other_user, other_number = make_texter(org, location=number.location)
        make_text(org, number=other_number.e164, user=other_user, party=f"+1415555{1000 + i}")
        OptOut.objects.create(
            organisation=org, party=f"+1415555{2000 + i}", business_number=number.e164, keyword="STOP"
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = admin_client.get(ACTIVITY_URL).content.decode()
    assert html.count("automatic reply") == 0 and html.count('class="bar bar-outbound"') >= 1


def test_activity_period_choice(admin_client, org):
    make_texter(org)
    html = admin_client.get(ACTIVITY_URL, {"days": "7"}).content.decode()
    assert "last 7 days" in html and html.count('<g class="day">') == 7
    refused = admin_client.get(ACTIVITY_URL, {"days": "9999"})
    html = refused.content.decode()
    assert refused.status_code == 400 and html.count('<g class="day">') == 30
    assert "Choose a period of 7, 30 or 90 days. That filter is not applied." in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"number": "call me"}, "“call me” is not a telephone number."),
        ({"number": "+44 7911 123456"}, "is not a US or Canadian number"),
        ({"status": "lost"}, "Choose a status from the list."),
        ({"days": "-7"}, "Choose a period of 7, 30 or 90 days."),
    ],
)
def test_a_bad_filter_is_refused_with_a_message_and_not_applied(admin_client, activity_data, params, message):
    number, _ = activity_data
    for headers in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "texts"}):
        response = admin_client.get(ACTIVITY_URL, {**params, "days": params.get("days", "30")}, **headers)
        html = response.content.decode()
        assert response.status_code == 400 and 'role="alert"' in html
        assert message in html and "That filter is not applied." in html
        assert html.count('<td class="tn">') >= 2 * 6  # every text of the period is listed: nothing was filtered


# --- API tokens -----------------------------------------------------------------------------------------------


def test_an_admin_issues_a_token_shown_once_and_stored_as_a_hash(admin_client, org, admin):
    user, _ = make_texter(org, email="texter@acme.test")
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "Texter@acme.test", "label": "Laptop"})
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    token = re.search(r'<code class="token-value">([^<]+)</code>', response.content.decode()).group(1)
    row = ApiToken.objects.get()
    assert row.user == user and row.label == "Laptop" and row.created_by == admin
    assert row.token_hash == hash_token(token) and token not in str(ApiToken.objects.values().get())
    listing = admin_client.get(TOKENS_URL).content.decode()
    assert token not in listing and row.hint in listing and "texter@acme.test" in listing
    no_inline_styles_or_scripts(listing)
    event = AuditEvent.objects.get(action="texting.api_token.issued")
    assert event.actor == admin and token not in str(event.details)


def test_a_token_for_someone_outside_the_organisation_is_refused(admin_client, other_org):
    make_user(other_org, role=User.Role.END_USER, email="outsider@globex.test")
    response = admin_client.post(reverse("texting:issue_api_token"), {"email": "outsider@globex.test"})
    assert response.status_code == 422
    assert "Enter the email of a user of this organisation." in response.content.decode()
    assert not ApiToken.objects.exists()
    assert admin_client.post(reverse("texting:issue_api_token"), {"email": ""}).status_code == 422


def test_an_admin_revokes_a_token_and_it_stops_working(admin_client, org, admin):
    user, _ = make_texter(org)
    token = issue_token(admin, user)
    row = ApiToken.objects.get()
    response = admin_client.post(reverse("texting:revoke_api_token", args=[row.pk]), follow=True)
    assert "is revoked" in response.content.decode()
    assert authenticate_api_token(token) is None
    assert AuditEvent.objects.filter(action="texting.api_token.revoked", actor=admin).count() == 1


def test_tokens_are_scoped_and_only_full_admins_change_them(admin_client, readonly, org, other_org):
    theirs_admin = make_user(other_org, role=User.Role.FULL_ADMIN)
    theirs_user = make_user(other_org, role=User.Role.END_USER, email="theirs@globex.test")
    issue_token(theirs_admin, theirs_user)
    theirs = ApiToken.objects.get()
    assert "theirs@globex.test" not in admin_client.get(TOKENS_URL).content.decode()
    assert admin_client.post(reverse("texting:revoke_api_token", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active
    readonly_client = Client()
    readonly_client.force_login(readonly)
    assert readonly_client.get(TOKENS_URL).status_code == 200
    assert readonly_client.post(reverse("texting:issue_api_token"), {"email": "readonly@acme.test"}).status_code == 403
