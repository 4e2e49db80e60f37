"""The compliance officer's journey in headless Chromium, as the demo officer compliance@acme.example: place a legal
hold on a user's texts, search the demo texts for a word, see it highlighted, export the results, watch the export
wait for a worker and then finish (the page polls itself), download the archive and open it. (Releasing a hold:
test_legal_hold_journey.py.)"""

import hashlib
import json
import zipfile

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from compliance.models import DiscoveryExport, LegalHold
from portal.models import AuditEvent
from tests.conftest import login
from texting.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue_without_worker(redis_url, settings, tmp_path):
    """Tasks go to Redis (not run in-process) and no worker takes them until the test starts one."""
    import os

    from portal.celery import app, override

    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        from tests.conftest import service_missing

        service_missing("this test needs a Celery broker on Redis (set CELERY_BROKER_URL=redis://...)")
    previous = override(task_always_eager=False, broker_url=broker, result_backend=broker)
    app.control.purge()
    yield app
    override(**previous)


def held_count(hold) -> int:
    """The texts of the hold's custodian users (the hold has no date range and no numbers here)."""
    return Message.objects.filter(user__in=hold.custodian_users.values("user")).count()


def test_officer_places_a_hold_searches_exports_and_downloads_the_archive(
    page, live_server, settings, queue_without_worker
):
    settings.DEBUG = True
    settings.PORTAL_DEMO_PASSWORD = "browser-demo-pass"
    call_command("seed_demo", stdout=open("/dev/null", "w"))

    login(page, "compliance@acme.example", "browser-demo-pass")
    page.get_by_role("heading", name="eDiscovery").wait_for()  # an officer without an admin role lands here
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="eDiscovery").count() == 1
    assert nav.get_by_role("link", name="Overview").count() == 0  # no Control Hub pages for this officer

    # A matter comes in: hold every text of one of the Austin texters, whatever its age.
    nav.get_by_role("link", name="Legal holds").click()
    page.get_by_role("link", name="Place a legal hold").click()
    page.get_by_label("Matter name").fill("Acme v Roadrunner")
    page.get_by_label("Reference").fill("LIT-2026-007")
    texter = Message.objects.filter(organisation__name="Acme Corp", user__isnull=False).values_list("user", flat=True)[
        0
    ]
    page.get_by_label("Users").select_option(value=str(texter))
    page.get_by_role("button", name="Place hold").click()
    page.get_by_role("heading", name="Acme v Roadrunner").wait_for()
    page.get_by_text("Legal hold placed").wait_for()
    held = LegalHold.objects.get()
    assert held.is_active and int(page.locator("strong.held-count").inner_text()) == held_count(held) > 0

    nav.get_by_role("link", name="eDiscovery").click()
    page.get_by_role("heading", name="eDiscovery").wait_for()

    page.get_by_label("Keywords").fill("appointment")
    page.get_by_label("Direction").select_option(label="Outbound")
    page.get_by_role("button", name="Search").click()
    page.locator("#result-count").wait_for()
    count_text = page.locator("#result-count").inner_text()
    assert "match" in count_text and not count_text.startswith("0 ")
    results = page.get_by_role("table", name="Matching texts")
    marked = results.locator("mark")
    assert marked.count() >= 1 and marked.first.inner_text().lower() == "appointment"
    page.screenshot(path="/tmp/texting-hub-ediscovery-search.png", full_page=True)

    page.get_by_role("button", name="Export these texts").click()
    page.get_by_role("heading", name="eDiscovery export #", exact=False).wait_for()
    # No worker yet: the export waits, its progress bar shown and the live part polling.
    assert page.locator("#export-status").inner_text() == "Queued"
    assert page.get_by_role("progressbar", name="Export progress").is_visible()
    assert "Waiting for a worker" in page.locator("#export-progress").inner_text()
    page.screenshot(path="/tmp/texting-hub-ediscovery-queued.png", full_page=True)

    with start_worker(queue_without_worker, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        page.locator("#export-status", has_text="Ready to download").wait_for(timeout=30_000)
    page.screenshot(path="/tmp/texting-hub-ediscovery-ready.png", full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download archive").click()
    download = info.value
    path = download.path()
    export = DiscoveryExport.objects.get()
    assert download.suggested_filename == f"ediscovery-export-{export.pk}.zip"
    with open(path, "rb") as archive_file:
        assert hashlib.sha256(archive_file.read()).hexdigest() == export.sha256
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["name"])).hexdigest() == entry["sha256"]
        lines = archive.read("texts.jsonl").decode().splitlines()
    assert manifest["search"]["keywords"] == "appointment" and manifest["search"]["direction"] == "outbound"
    assert manifest["counts"]["texts"] == len(lines) == export.total > 0
    assert all("appointment" in json.loads(line)["body"].lower() for line in lines)
    assert set(AuditEvent.objects.filter(actor_email="compliance@acme.example").values_list("action", flat=True)) >= {
        "compliance.search",
        "compliance.export_requested",
        "compliance.export_downloaded",
        "legal_hold.placed",
    }
