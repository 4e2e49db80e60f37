"""Texting activity reporting: delivered / failed counts with the carriers' failure reasons for the page's period
and number, and the CSV export of text metadata (never bodies) for a date range, a number or a user: for the
organisation's full and read-only administrators, audited, streamed, bad filters refused with a message."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import AuditEvent, User
from tests.factories import make_user
from tests.texting.factories import make_text, make_texter

pytestmark = pytest.mark.django_db

ACTIVITY_URL = "/texting/activity/"
EXPORT_URL = "/texting/activity/export/"
# Every text is stamped from this one instant and every date window is computed from it, so a run that crosses
# midnight UTC (the module imported on one day, a test run on the next) still finds its texts in the window.
NOW = datetime.now(UTC)


@pytest.fixture
def texts(org, other_org):
    user, number = make_texter(org, email="texter@acme.test")
    other_user, other_number = make_texter(org, email="second@acme.test", location=number.location)
    day = timedelta(days=1)
    made = {
        "delivered": make_text(org, number=number.e164, user=user, created_at=NOW - day, body="SECRET-A"),
        "delivered2": make_text(org, number=other_number.e164, user=other_user, created_at=NOW - day, body="SECRET-B"),
        "failed_a": make_text(org, number=number.e164, user=user, status="failed", created_at=NOW - 2 * day),
        "failed_b": make_text(org, number=number.e164, user=user, status="failed", created_at=NOW - 3 * day),
        "failed_c": make_text(org, number=other_number.e164, status="failed", created_at=NOW - 3 * day),
        "old_failed": make_text(org, number=number.e164, status="failed", created_at=NOW - 60 * day),
        "received": make_text(
            org, number=number.e164, direction="inbound", status="received", body="SECRET-C", created_at=NOW
        ),
        "formula": make_text(
            org,
            number=number.e164,
            party="=HYPERLINK(1)",
            status="blocked",
            reason="invalid_destination",
            created_at=NOW,
        ),
    }
    from texting.models import Message

    Message.objects.filter(pk__in=[made["failed_a"].pk, made["failed_b"].pk]).update(
        status_detail="Handset unreachable"
    )
    Message.objects.filter(pk=made["failed_c"].pk).update(status_detail="Carrier filtered as spam")
    Message.objects.filter(pk=made["old_failed"].pk).update(status_detail="Old reason")
    _, theirs = make_texter(other_org, email="texter@globex.test")
    make_text(other_org, number=theirs.e164, status="failed", body="GLOBEX", created_at=NOW)
    return {"user": user, "number": number, "other_number": other_number, **made}


def delivery_section(client, params):
    html = client.get(ACTIVITY_URL, params).content.decode()
    return html[
        html.index('<section class="card" id="delivery">') : html.index('<section class="card" id="top-numbers">')
    ]


def test_delivered_and_failed_counts_with_grouped_reasons(admin_client, texts):
    html = delivery_section(admin_client, {"days": 30})
    assert '<strong id="delivered-count">2</strong>' in html and '<strong id="failed-count">3</strong>' in html
    reasons = html[html.index('id="failure-reasons"') :]
    assert '<td>Handset unreachable</td><td class="num">2</td>' in reasons
    assert '<td>Carrier filtered as spam</td><td class="num">1</td>' in reasons
    assert reasons.index("Handset unreachable") < reasons.index("Carrier filtered as spam")  # most frequent first
    assert "Old reason" not in html and "GLOBEX" not in html  # outside the period; another organisation
    html = delivery_section(admin_client, {"days": 90})
    assert '<strong id="failed-count">4</strong>' in html and "Old reason" in html
    html = delivery_section(admin_client, {"days": 30, "number": texts["other_number"].e164})
    assert '<strong id="delivered-count">1</strong>' in html and '<strong id="failed-count">1</strong>' in html
    assert "Handset unreachable" not in html[html.index('id="failure-reasons"') :]


def rows_of(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.streaming and "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    assert "SECRET" not in text and "GLOBEX" not in text  # never a body, never another organisation's text
    return list(csv.reader(io.StringIO(text)))


def day(offset):
    return (NOW + timedelta(days=offset)).date().isoformat()


def test_the_export_is_metadata_for_the_range_and_never_bodies(admin_client, texts, admin):
    response = admin_client.get(EXPORT_URL, {"first_day": day(-3), "last_day": day(0)})
    rows = rows_of(response)
    assert rows[0][:4] == ["id", "created_at_utc", "direction", "our_number"] and "body" not in rows[0]
    ids = {int(row[0]) for row in rows[1:]}
    expected = {"delivered", "delivered2", "failed_a", "failed_b", "failed_c", "received", "formula"}
    assert ids == {texts[name].pk for name in expected}
    by_id = {int(row[0]): dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    failed = by_id[texts["failed_a"].pk]
    assert failed["status"] == "failed" and failed["status_detail"] == "Handset unreachable"
    assert failed["user"] == "texter@acme.test" and failed["our_number"] == texts["number"].e164
    assert by_id[texts["formula"].pk]["other_party"] == "'=HYPERLINK(1)"  # not run as a formula by a spreadsheet
    event = AuditEvent.objects.get(action="texting.texts_exported")
    assert event.actor == admin and event.details["first_day"] == day(-3) and event.details["last_day"] == day(0)


def test_the_export_filters_by_number_and_by_user(admin_client, texts):
    number = texts["other_number"]
    rows = rows_of(admin_client.get(EXPORT_URL, {"first_day": day(-5), "last_day": day(0), "number": number.display}))
    assert {int(r[0]) for r in rows[1:]} == {texts["delivered2"].pk, texts["failed_c"].pk}
    rows = rows_of(admin_client.get(EXPORT_URL, {"first_day": day(-5), "last_day": day(0), "user": "TEXTER@acme.test"}))
    assert {int(r[0]) for r in rows[1:]} == {texts["delivered"].pk, texts["failed_a"].pk, texts["failed_b"].pk}


def test_read_only_admins_export_too(readonly_client, texts):
    assert len(rows_of(readonly_client.get(EXPORT_URL, {"first_day": day(-90), "last_day": day(0)}))) == 9


@pytest.mark.parametrize(
    "params, message",
    [
        ({"first_day": "2026-02-30", "last_day": "2026-03-01"}, "Enter a valid date."),
        ({"first_day": "", "last_day": "2026-03-01"}, "This field is required."),
        ({"first_day": "2026-03-02", "last_day": "2026-03-01"}, "The last day is before the first day."),
        ({"first_day": "2024-01-01", "last_day": "2026-03-01"}, "Export at most 400 days at a time."),
        ({"first_day": "2026-03-01", "last_day": "2026-03-01", "number": "+44 7911 123456"}, "not a US or Canadian"),
        ({"first_day": "2026-03-01", "last_day": "2026-03-01", "user": "texter@globex.test"}, "is not a user of your"),
    ],
)
def test_bad_filters_are_refused_with_a_message_and_export_nothing(admin_client, texts, params, message):
    response = admin_client.get(EXPORT_URL, params)
    html = response.content.decode()
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert message in html and "Nothing was exported." in html
    assert not AuditEvent.objects.filter(action="texting.texts_exported").exists()


def test_the_export_page_without_filters_is_the_form(admin_client, texts):
    response = admin_client.get(EXPORT_URL)
    assert response.status_code == 200 and 'name="first_day"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="texting.texts_exported").exists()


def test_who_may_not_export(client, org, support, texts):
    end_user = make_user(org, role=User.Role.END_USER, email="end@acme.test")
    client.force_login(end_user)
    params = {"first_day": day(-3), "last_day": day(0)}
    assert client.get(EXPORT_URL, params).status_code == 403
    staff = Client()
    staff.force_login(support)
    session = staff.session
    session[SUPPORT_ORG_SESSION_KEY] = org.pk
    session.save()
    assert staff.get(EXPORT_URL, params).status_code == 403
    assert Client().get(EXPORT_URL, params).status_code == 302  # sign in first
    assert not AuditEvent.objects.filter(action="texting.texts_exported").exists()


def test_the_export_is_get_only(admin_client, texts):
    assert admin_client.post(EXPORT_URL, {"first_day": day(-3), "last_day": day(0)}).status_code == 405
    assert reverse("texting:export_texts") == EXPORT_URL
