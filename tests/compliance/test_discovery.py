"""eDiscovery (issue 11): the compliance officer's search, the texts it opens, exports and their archives, and who
may do any of it. Runs on SQLite and PostgreSQL; tests/compliance/test_discovery_postgres.py holds what only
PostgreSQL's full-text search does."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from compliance.actions import discovery as actions
from compliance.discovery import Search, highlight
from compliance.models import DiscoveryExport
from portal.models import AuditEvent, User
from tests.factories import client_for, make_compliance_officer, make_org, make_user
from tests.texting.factories import make_text
from texting.models import Message

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture(autouse=True)
def _exports_dir(settings, tmp_path):
    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"
    return settings.EDISCOVERY_EXPORT_DIR


@pytest.fixture
def officer(org):
    return make_compliance_officer(org, email="officer@acme.test")


@pytest.fixture
def officer_client(officer):
    return client_for(officer)


@pytest.fixture
def texts(org, admin):
    texter = make_user(org, role=User.Role.END_USER, email="texter@acme.test")
    return {
        "invoice": make_text(
            org, body="Your invoice 4411 is attached.", user=texter, created_at=NOW - timedelta(days=2)
        ),
        "inbound": make_text(
            org,
            body="Where is my invoice?",
            direction=Message.Direction.INBOUND,
            status=Message.Status.RECEIVED,
            party="+14165550177",
            created_at=NOW - timedelta(days=3),
        ),
        "other_number": make_text(
            org, body="Lunch at noon", number="+15125550199", user=texter, created_at=NOW - timedelta(days=1)
        ),
        "old": make_text(org, body="An old invoice from last year", created_at=NOW - timedelta(days=200)),
        "texter": texter,
    }


def search_url(**params):
    from urllib.parse import urlencode

    return f"{reverse('compliance:discovery')}?{urlencode(params, doseq=True)}"


def shown_ids(response) -> set[int]:
    return {text.pk for text, _ in response.context["results"]}


# --- the search ---------------------------------------------------------------------------------------------------


def test_an_officer_finds_texts_by_keyword_within_the_default_range(officer_client, texts):
    response = officer_client.get(search_url(keywords="invoice"))
    assert response.status_code == 200
    # The default range is the last 30 days: the 200-day-old invoice is not searched.
    assert shown_ids(response) == {texts["invoice"].pk, texts["inbound"].pk}
    page = response.content.decode()
    assert "Your <mark>invoice</mark> 4411 is attached." in page
    assert "2 texts match." in page


def test_filters_narrow_the_search(officer_client, texts):
    start = (NOW - timedelta(days=365)).date().isoformat()
    end = NOW.date().isoformat()
    wide = {"start": start, "end": end}
    assert texts["old"].pk in shown_ids(officer_client.get(search_url(**wide, keywords="invoice")))
    inbound = officer_client.get(search_url(**wide, direction="inbound"))
    assert shown_ids(inbound) == {texts["inbound"].pk}
    by_number = officer_client.get(search_url(**wide, numbers="+1 512-555-0199"))
    assert shown_ids(by_number) == {texts["other_number"].pk}
    by_party = officer_client.get(search_url(**wide, other_party="5550177"))
    assert shown_ids(by_party) == {texts["inbound"].pk}
    by_user = officer_client.get(search_url(**wide, user=[texts["texter"].pk]))
    assert shown_ids(by_user) == {texts["invoice"].pk, texts["other_number"].pk}
    excluded = officer_client.get(search_url(**wide, keywords="invoice -attached"))
    assert shown_ids(excluded) == {texts["inbound"].pk, texts["old"].pk}


def test_every_search_and_text_opened_is_in_the_audit_log(officer_client, officer, texts, org):
    officer_client.get(search_url(keywords="invoice"))
    event = AuditEvent.objects.get(action="compliance.search")
    assert event.actor == officer and event.organisation == org
    assert event.details["search"]["keywords"] == "invoice" and event.details["shown"] == 2
    response = officer_client.get(reverse("compliance:discovery_text", args=[texts["invoice"].pk]))
    assert response.status_code == 200 and "Your invoice 4411 is attached." in response.content.decode()
    viewed = AuditEvent.objects.get(action="compliance.view_text")
    assert viewed.actor == officer and viewed.target_id == str(texts["invoice"].pk)


def test_opening_the_search_page_searches_nothing(officer_client, texts):
    response = officer_client.get(reverse("compliance:discovery"))
    assert response.status_code == 200 and response.context["search"] is None
    assert not AuditEvent.objects.filter(action="compliance.search").exists()


def test_bodies_are_escaped_before_words_are_marked(org, officer_client):
    make_text(org, body='<script>alert("invoice")</script> <b>bold</b>', created_at=NOW - timedelta(hours=1))
    page = officer_client.get(search_url(keywords="invoice script")).content.decode()
    assert "<script>alert" not in page and "<b>bold</b>" not in page
    assert "&lt;<mark>script</mark>&gt;alert(&quot;<mark>invoice</mark>&quot;)" in page


def test_highlight_marks_whole_words_and_phrases_in_any_case():
    assert highlight("Invoice invoices INVOICE", ["invoice"]) == "<mark>Invoice</mark> invoices <mark>INVOICE</mark>"
    assert highlight("order 12 shipped; order-12 too", ["order 12"]) == (
        "<mark>order 12</mark> shipped; <mark>order-12</mark> too"
    )
    assert highlight("<i>a&b</i>", ["<i>"]) == "&lt;<mark>i</mark>&gt;a&amp;b&lt;/<mark>i</mark>&gt;"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"start": "31/01/2026"}, "Enter the start date as YYYY-MM-DD"),
        ({"start": "2026-01-31", "end": "tomorrow"}, "Enter the end date as YYYY-MM-DD"),
        ({"start": "2026-02-10", "end": "2026-02-01"}, "The end date is before the start date."),
        ({"start": "1900-01-01", "end": "2026-01-01"}, "Search at most 3,660 days at a time"),
        ({"keywords": '"" ---'}, "Type at least one word to search for"),
        ({"numbers": "12"}, "is not a US or Canadian number"),
        ({"user": ["999999"]}, "Choose users of this organisation from the list."),
    ],
)
def test_bad_input_gets_a_clear_message_and_searches_nothing(officer_client, texts, params, message):
    response = officer_client.get(search_url(**params))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert response.context["search"] is None and "results" not in response.context
    assert not AuditEvent.objects.filter(action="compliance.search").exists()


def test_a_future_start_is_refused(officer_client, texts):
    tomorrow = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = officer_client.get(search_url(start=tomorrow))
    assert "The start date is in the future" in response.content.decode()


def test_another_organisations_user_is_not_a_choice(officer_client, texts):
    stranger = make_user(make_org("Globex Test"), role=User.Role.END_USER)
    response = officer_client.get(search_url(user=[stranger.pk]))
    assert "Choose users of this organisation from the list." in response.content.decode()
    assert response.context["search"] is None


# --- who may ------------------------------------------------------------------------------------------------------


def _export_for(org, officer, capture):
    with capture(execute=True):
        export = actions.request_export(org, officer, Search(start=(NOW - timedelta(days=30)).date(), end=NOW.date()))
    export.refresh_from_db()
    return export


def test_only_the_organisations_compliance_officers_reach_texts_and_exports(
    org, admin, readonly, officer, texts, django_capture_on_commit_callbacks
):
    export = _export_for(org, officer, django_capture_on_commit_callbacks)
    assert export.status == DiscoveryExport.Status.READY
    other_org = make_org("Globex Test")
    stranger_officer = make_compliance_officer(other_org, role=User.Role.FULL_ADMIN)
    end_user = make_user(org, role=User.Role.END_USER)
    urls = {
        "search": search_url(keywords="invoice"),
        "text": reverse("compliance:discovery_text", args=[texts["invoice"].pk]),
        "exports": reverse("compliance:exports"),
        "export": reverse("compliance:export", args=[export.pk]),
        "download": reverse("compliance:export_download", args=[export.pk]),
    }
    for who in (admin, readonly, end_user):  # a full admin without the role, a read-only admin, an end user
        client = client_for(who)
        for name, url in urls.items():
            assert client.get(url).status_code == 403, (who.role, name)
        before = DiscoveryExport.objects.count()
        assert client.post(reverse("compliance:export_create"), {"keywords": "invoice"}).status_code == 403
        assert DiscoveryExport.objects.count() == before
    stranger = client_for(stranger_officer)
    for name in ("text", "export", "download"):
        assert stranger.get(urls[name]).status_code == 404, name
    their_search = stranger.get(urls["search"])
    assert shown_ids(their_search) == set() and "4411" not in their_search.content.decode()
    assert reverse("compliance:export", args=[export.pk]) not in stranger.get(urls["exports"]).content.decode()
    assert not AuditEvent.objects.filter(action="compliance.export_downloaded").exists()


def test_the_activity_page_shows_no_text_bodies_even_to_an_officer(org, texts):
    both = make_compliance_officer(org, role=User.Role.FULL_ADMIN)
    page = client_for(both).get(reverse("texting:activity")).content.decode()
    assert "Your invoice 4411 is attached." not in page and "Where is my invoice?" not in page


def test_navigation_links_ediscovery_only_for_officers(admin_client, officer_client):
    assert reverse("compliance:discovery") not in admin_client.get(reverse("portal:overview")).content.decode()
    assert reverse("compliance:discovery") in officer_client.get(reverse("compliance:exports")).content.decode()
    # An officer with no administrator role lands on eDiscovery, not on a page they may not open.
    assert officer_client.get("/").url == reverse("compliance:discovery")


# --- exports ------------------------------------------------------------------------------------------------------


def test_an_export_archives_the_search_with_a_manifest_whose_hashes_match(
    org, officer, officer_client, texts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(reverse("compliance:export_create"), {"keywords": "invoice"})
    export = DiscoveryExport.objects.get()
    assert response.status_code == 302 and response.url == reverse("compliance:export", args=[export.pk])
    assert export.status == DiscoveryExport.Status.READY and export.total == 2
    assert export.expires_at > timezone.now() + timedelta(days=6)
    page = officer_client.get(response.url).content.decode()
    assert "Ready to download" in page and export.sha256 in page
    # The confirmation stays true once the export is done (it said "is queued" above "Ready to download").
    assert f"Export #{export.pk} requested." in page and "queued" not in page

    download = officer_client.get(reverse("compliance:export_download", args=[export.pk]))
    assert download.status_code == 200 and download.streaming
    assert f'filename="ediscovery-export-{export.pk}.zip"' in download["Content-Disposition"]
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == export.sha256
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["manifest.json", "texts.csv", "texts.jsonl"]
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            content = archive.read(entry["name"])
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
            assert len(content) == entry["bytes"]
        rows = list(csv.DictReader(io.StringIO(archive.read("texts.csv").decode())))
        lines = [json.loads(line) for line in archive.read("texts.jsonl").decode().splitlines()]
    assert manifest["counts"] == {"texts": 2, "outbound": 1, "inbound": 1}
    assert manifest["search"]["keywords"] == "invoice" and manifest["requested_by"] == officer.email
    assert [r["body"] for r in rows] == ["Where is my invoice?", "Your invoice 4411 is attached."]  # oldest first
    assert [r["body"] for r in lines] == [r["body"] for r in rows]
    assert rows[1]["user_email"] == "texter@acme.test" and lines[0]["other_party"] == "+14165550177"
    actions_logged = list(AuditEvent.objects.filter(target_id=str(export.pk)).values_list("action", flat=True))
    assert sorted(actions_logged) == [
        "compliance.export_downloaded",
        "compliance.export_ready",
        "compliance.export_requested",
    ]


def test_a_refused_export_says_why_and_creates_nothing(officer_client, texts):
    response = officer_client.post(
        reverse("compliance:export_create"), {"start": "2026-02-10", "end": "2026-02-01"}, follow=True
    )
    assert "The end date is before the start date." in response.content.decode()
    assert not DiscoveryExport.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="compliance.export").exists()
    assert officer_client.get(reverse("compliance:export_create")).status_code == 405


def test_expired_exports_are_deleted_with_their_files(org, officer, texts, django_capture_on_commit_callbacks):
    old = _export_for(org, officer, django_capture_on_commit_callbacks)
    fresh = _export_for(org, officer, django_capture_on_commit_callbacks)
    assert old.path.exists() and fresh.path.exists()
    DiscoveryExport.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    from compliance.tasks import delete_expired_exports

    assert delete_expired_exports.delay().get() == 1
    assert not old.path.exists() and fresh.path.exists()
    assert list(DiscoveryExport.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert AuditEvent.objects.get(action="compliance.export_deleted").target_id == str(old.pk)


def test_an_export_past_its_expiry_is_not_downloaded(
    org, officer, officer_client, texts, django_capture_on_commit_callbacks
):
    export = _export_for(org, officer, django_capture_on_commit_callbacks)
    DiscoveryExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = officer_client.get(reverse("compliance:export_download", args=[export.pk]), follow=True)
    assert "not ready to download, or it has expired" in response.content.decode()
    assert not AuditEvent.objects.filter(action="compliance.export_downloaded").exists()


def test_the_progress_part_refreshes_itself_while_the_export_runs(org, officer, officer_client):
    export = DiscoveryExport.objects.create(
        organisation=org,
        requested_by=officer,
        criteria=Search(start=NOW.date(), end=NOW.date()).as_json(),
        status=DiscoveryExport.Status.RUNNING,
        total=200,
        written=50,
    )
    response = officer_client.get(
        reverse("compliance:export", args=[export.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="export-live"
    )
    page = response.content.decode()
    assert 'hx-trigger="every 1s"' in page and "50 of 200 texts written (25%)" in page
    assert "<h1>" not in page  # only the live part
    DiscoveryExport.objects.filter(pk=export.pk).update(status="failed", detail="Disk full")
    done = officer_client.get(reverse("compliance:export", args=[export.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done and "Disk full" in done


# --- granting the role --------------------------------------------------------------------------------------------


def test_a_full_admin_grants_and_revokes_the_role_audited(org, admin, admin_client):
    subject = make_user(org, role=User.Role.READONLY_ADMIN, email="legal@acme.test")
    url = reverse("portal:user_compliance_officer", args=[subject.pk])
    response = admin_client.post(url, {"grant": "1"}, follow=True)
    assert "is now a compliance officer" in response.content.decode()
    subject.refresh_from_db()
    assert subject.is_compliance_officer
    event = AuditEvent.objects.get(action="user.compliance_officer_granted")
    assert event.actor == admin and event.target_id == str(subject.pk)
    # Granted again: refused, nothing more recorded.
    assert "already a compliance officer" in admin_client.post(url, {"grant": "1"}, follow=True).content.decode()
    admin_client.post(url, {"grant": "0"})
    subject.refresh_from_db()
    assert not subject.is_compliance_officer
    assert AuditEvent.objects.filter(action__startswith="user.compliance_officer").count() == 2


def test_nobody_else_grants_the_role(org, admin, readonly_client, readonly):
    subject = make_user(org, role=User.Role.END_USER)
    url = reverse("portal:user_compliance_officer", args=[subject.pk])
    assert readonly_client.post(url, {"grant": "1"}).status_code == 403
    officer = make_compliance_officer(org)
    assert client_for(officer).post(url, {"grant": "1"}).status_code == 403
    stranger_admin = make_user(make_org("Globex Test"), role=User.Role.FULL_ADMIN)
    assert client_for(stranger_admin).post(url, {"grant": "1"}).status_code == 404
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(admin)
    assert csrf_client.post(url, {"grant": "1"}).status_code == 403
    assert client_for(admin).get(url).status_code == 405
    subject.refresh_from_db()
    assert not subject.is_compliance_officer
    assert not AuditEvent.objects.filter(action__startswith="user.compliance_officer").exists()


def test_the_user_page_offers_the_role_to_full_admins_only(org, admin_client, readonly_client):
    subject = make_user(org, role=User.Role.END_USER)
    url = reverse("portal:user", args=[subject.pk])
    assert "Make compliance officer" in admin_client.get(url).content.decode()
    assert "Make compliance officer" not in readonly_client.get(url).content.decode()


def test_an_export_that_cannot_be_written_fails_with_the_reason(
    org, officer, officer_client, texts, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the exports directory should be")
    settings.EDISCOVERY_EXPORT_DIR = blocker
    export = _export_for(org, officer, django_capture_on_commit_callbacks)
    assert export.status == DiscoveryExport.Status.FAILED and export.finished_at is not None
    assert export.detail.startswith("The archive could not be written")
    page = officer_client.get(reverse("compliance:export", args=[export.pk])).content.decode()
    assert "Failed" in page and "could not be written" in page and "Download archive" not in page
    assert AuditEvent.objects.filter(action="compliance.export_failed", target_id=str(export.pk)).exists()


def test_the_count_says_more_than_its_cap(org, texts):
    from compliance.discovery import capped_count, texts_matching

    search = Search(start=(NOW - timedelta(days=365)).date(), end=NOW.date())
    assert capped_count(texts_matching(org, search), cap=3) == (3, True)
    assert capped_count(texts_matching(org, search), cap=4) == (4, False)


def test_a_result_opens_its_text_by_its_day_and_another_day_finds_nothing(officer_client, texts):
    """The results link to a text with its UTC day (so PostgreSQL reads that day's partition only); a link without a
    day, or with something that is not one, still opens it; a day it was not sent on does not."""
    text = texts["invoice"]
    page = officer_client.get(search_url(keywords="invoice")).content.decode()
    day = text.created_at.date()
    assert f"{reverse('compliance:discovery_text', args=[text.pk])}?on={day.isoformat()}&amp;" in page
    url = reverse("compliance:discovery_text", args=[text.pk])
    for query in ({"on": day.isoformat()}, {}, {"on": "2026-02-30"}, {"on": "soon"}):
        response = officer_client.get(url, query)
        assert response.status_code == 200 and "Your invoice 4411 is attached." in response.content.decode(), query
        assert "on=" not in response.context["back"]
    assert officer_client.get(url, {"on": (day - timedelta(days=1)).isoformat()}).status_code == 404
