"""The read replica (DATABASE_REPLICA_URL, portal/replica.py): the reporting pages read from it, nothing is ever
written to it, a user's own change is read back from the primary, and without a replica (or with one that is down)
everything reads the primary. The replica here is a second, read-only connection to the test database (TEST MIRROR),
so each query is seen on the connection it really ran on."""

import json
import os
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from django.db import connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.models import DiscoveryExport, RegistrationCase
from portal.models import AuditEvent, Organisation, User
from portal.replica import PRIMARY_COOKIE, REPLICA, replica_configured, reporting_db
from tests.compliance.factories import make_case
from tests.factories import client_for, make_compliance_officer, make_org, make_user
from tests.texting.factories import make_text, make_texter
from texting import queries
from texting.models import Message

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("INSERT", "UPDATE", "DELETE")


class Captured:
    """Every query of a block, per connection: `on("replica")`, `on("default")`."""

    def __init__(self, aliases=None):
        self.aliases = aliases or ("default", *([REPLICA] if replica_configured() else []))
        self.contexts = {}

    def __enter__(self):
        for alias in self.aliases:
            self.contexts[alias] = CaptureQueriesContext(connections[alias]).__enter__()
        return self

    def __exit__(self, *exc):
        for context in self.contexts.values():
            context.__exit__(*exc)

    def on(self, alias) -> list[str]:
        return [query["sql"] for query in self.contexts[alias].captured_queries] if alias in self.contexts else []

    def reads_of(self, alias, model) -> list[str]:
        table = f'"{model._meta.db_table}"'
        reads = ("SELECT", "DECLARE")  # a streamed read (a server-side cursor) starts with DECLARE
        return [sql for sql in self.on(alias) if sql.lstrip().upper().startswith(reads) and table in sql]

    def writes(self, alias) -> list[str]:
        return [sql for sql in self.on(alias) if sql.lstrip().upper().startswith(WRITES)]


@pytest.fixture
def world(settings, tmp_path):
    """An organisation with texts, an administrator, a compliance officer, support staff and a case."""
    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"
    org = make_org("Replica Test")
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="admin@replica.test")
    officer = make_compliance_officer(org, role=User.Role.END_USER, email="officer@replica.test")
    user, number = make_texter(org, email="texter@replica.test")
    now = timezone.now()  # the texts' instant, which the pages' date windows are computed from
    for days_ago in (0, 1, 2):
        when = now - timedelta(days=days_ago)
        make_text(org, number=number.e164, user=user, body="Invoice ready", created_at=when)
    make_case(org)
    return {
        "org": org,
        "admin": client_for(admin),
        "officer": client_for(User.objects.get(pk=officer.pk)),
        "support": client_for(make_user(None, role=User.Role.SUPPORT, email="support@replica.test")),
        "admin_user": admin,
        "officer_user": User.objects.get(pk=officer.pk),
        "today": now.astimezone(UTC).date(),
    }


# (page, who opens it, its query string from the day the texts were made on, what it reads from the replica). The
# export's window is the texts' week, not the day this module was imported on: a run that crosses midnight UTC
# still exports all three.
REPORTING_PAGES = [
    ("/texting/activity/", "admin", lambda today: {}, Message),
    (
        "/texting/activity/export/",
        "admin",
        lambda today: {"first_day": str(today - timedelta(days=7)), "last_day": str(today)},
        Message,
    ),
    ("/compliance/discovery/", "officer", lambda today: {"keywords": "invoice"}, Message),
    ("/audit/", "admin", lambda today: {}, AuditEvent),
    ("/support/cases/", "support", lambda today: {}, RegistrationCase),
]


@pytest.mark.services
@pytest.mark.parametrize(("url", "who", "params", "model"), REPORTING_PAGES, ids=[p[0] for p in REPORTING_PAGES])
def test_reporting_pages_read_from_the_replica_and_write_only_to_the_primary(replica, world, url, who, params, model):
    with Captured() as captured:
        response = world[who].get(url, params(world["today"]))
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, body[:500]
    assert captured.reads_of(REPLICA, model), f"{url} read no {model.__name__} from the replica: {captured.on(REPLICA)}"
    assert not captured.reads_of("default", model), f"{url} read {model.__name__} from the primary"
    assert captured.writes(REPLICA) == []
    if url == "/texting/activity/export/":
        assert body.count(b"\n") == 1 + 3  # the header and the three texts, read back from the replica
    if url == "/compliance/discovery/":
        assert b"<mark>Invoice</mark>" in body
        assert captured.writes("default"), "the search is recorded in the audit log, on the primary"


@pytest.mark.services
def test_an_export_archive_is_built_from_the_replica(replica, world):
    from compliance.actions.discovery import request_export
    from compliance.discovery import Search

    search = Search(start=timezone.localdate() - timedelta(days=7), end=timezone.localdate(), keywords="invoice")
    with Captured() as captured:
        export = request_export(world["org"], world["officer_user"], search)  # built at once (tasks run eagerly)
    export = DiscoveryExport.objects.get(pk=export.pk)
    assert export.status == DiscoveryExport.Status.READY and export.written == 3
    assert captured.reads_of(REPLICA, Message)
    assert not captured.reads_of("default", Message)
    assert captured.writes(REPLICA) == []


@pytest.mark.services
def test_after_a_change_the_users_own_reads_stay_on_the_primary(replica, world):
    admin, officer = world["admin"], world["officer_user"]
    response = admin.post(f"/users/{officer.pk}/compliance-officer/", {"grant": "0"})
    assert response.status_code == 302
    assert PRIMARY_COOKIE in response.cookies, "a POST keeps the browser's reads on the primary for a while"
    with Captured() as captured:
        page = admin.get("/audit/")
    assert captured.reads_of("default", AuditEvent) and not captured.reads_of(REPLICA, AuditEvent)
    assert "officer@replica.test" in page.content.decode()  # the change just made is listed

    # A POST without a browser session (the texting API, the carrier's callbacks) gets no cookie.
    assert PRIMARY_COOKIE not in Client().post("/api/texting/messages", {}, content_type="application/json").cookies

    # Another administrator, who changed nothing, reads the replica meanwhile.
    other = client_for(make_user(world["org"], role=User.Role.FULL_ADMIN, email="other@replica.test"))
    with Captured() as captured:
        other.get("/audit/")
    assert captured.reads_of(REPLICA, AuditEvent)


@pytest.mark.services
def test_a_read_inside_a_transaction_stays_on_the_primary(replica, world):
    assert reporting_db() == REPLICA
    with transaction.atomic(), Captured() as captured:
        assert reporting_db() == "default"
        assert sum(day.total for day in queries.texts_per_day(world["org"], 7)) == 3
    assert captured.reads_of("default", Message) and captured.on(REPLICA) == []


@pytest.mark.services
def test_saving_an_object_read_from_the_replica_writes_the_primary(replica, world):
    org = Organisation.objects.using(REPLICA).get(pk=world["org"].pk)
    org.name = "Renamed"
    with Captured() as captured:
        org.save()  # the replica's session is read-only: written there, this would fail
    assert captured.writes("default") and captured.writes(REPLICA) == []
    assert Organisation.objects.get(pk=org.pk).name == "Renamed"


@pytest.mark.services
def test_healthz_says_how_far_behind_the_replica_is(replica, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    # The test mirror is not a standby: there is no lag to measure (a real standby answers lag_seconds=...).
    assert response.content.decode() == "ok\nreplica: ok, lag unknown (not a standby)\n"


@pytest.mark.services
def test_a_replica_that_is_down_is_not_used_and_fails_nothing(unreachable_replica, world, client):
    assert reporting_db() == "default"
    with Captured(aliases=["default"]) as captured:
        response = world["admin"].get("/texting/activity/")
    assert response.status_code == 200
    assert captured.reads_of("default", Message)
    health = client.get("/healthz")
    assert health.status_code == 200, "the load balancer keeps the web process: only reporting moved to the primary"
    assert health.content.decode() == "ok\nreplica: unavailable (reporting reads use the primary)\n"


@pytest.mark.django_db
def test_without_a_replica_everything_reads_the_primary(admin_client, org):
    assert not replica_configured() and reporting_db() == "default"
    make_text(org, body="Hello")
    assert admin_client.get("/texting/activity/").status_code == 200
    response = admin_client.post("/calling/service-settings/business-texting/", {"enabled": "on"})
    assert PRIMARY_COOKIE not in response.cookies
    assert admin_client.get("/healthz").content == b"ok\n"


def settings_with(**env) -> subprocess.CompletedProcess:
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({alias: {'ENGINE': db['ENGINE'], 'HOST': db.get('HOST'), 'TEST': db.get('TEST', {}), "
        "'OPTIONS': db.get('OPTIONS', {})} for alias, db in settings.DATABASES.items()}))"
    )
    environment = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "portal.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_database_replica_url_adds_a_read_only_replica_mirrored_in_tests():
    result = settings_with(
        DATABASE_URL="postgres://postgres@db.internal:5432/texting_hub",
        DATABASE_REPLICA_URL="postgres://reader@replica.internal:5432/texting_hub",
    )
    assert result.returncode == 0, result.stderr
    databases = json.loads(result.stdout)
    assert set(databases) == {"default", "replica"}
    assert databases["replica"]["HOST"] == "replica.internal"
    assert databases["replica"]["TEST"]["MIRROR"] == "default"
    assert "default_transaction_read_only=on" in databases["replica"]["OPTIONS"]["options"]

    without = settings_with(DATABASE_URL="postgres://postgres@db.internal:5432/texting_hub", DATABASE_REPLICA_URL="")
    assert set(json.loads(without.stdout)) == {"default"}


def test_a_replica_without_postgresql_is_refused():
    result = settings_with(DATABASE_URL="", DATABASE_REPLICA_URL="postgres://reader@replica.internal/texting_hub")
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to be PostgreSQL" in result.stderr


@pytest.mark.services
def test_metrics_report_whether_the_replica_answers(replica, settings):
    from tests.portal.metrics_helpers import scrape, value

    samples = scrape(settings)
    assert value(samples, "texting_hub_database_replica_up") == 1
    # The test mirror is not a standby: no lag sample (a standby's is its lag in seconds, 0 when caught up).
    assert ("texting_hub_database_replica_lag_seconds", frozenset()) not in samples
