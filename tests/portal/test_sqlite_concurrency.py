"""On the SQLite default (`make run` with no DATABASE_URL) simultaneous changes wait for one another: none answers the
503 page ("database is locked"), and every one of them is stored.

The portal runs in a fresh process on a SQLite file (the test suite's own SQLite database lives in memory, where
nothing is ever locked), with the settings a deployment without DATABASE_URL gets. Eight administrators of eight
organisations switch Business Texting on and off at the same moment, each from its own thread and so its own database
connection: a read followed by a write in one transaction, the shape SQLite refused at once before the fix.
"""

from tests.security.production import run_python

ADMINS = 8
SWITCHES = 5  # on, off, on, off, on

SWITCH_AT_ONCE = f"""
import threading
from django.core.management import call_command
from django.db import connection
from django.test import Client
from portal.models import AuditEvent, User
from tests.factories import make_org, make_user
from texting.models import ServiceSettings

call_command("migrate", verbosity=0)
admins = [make_user(make_org(f"Busy Org {{i}}"), role=User.Role.FULL_ADMIN) for i in range({ADMINS})]
clients = []
for admin in admins:
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    clients.append(client)
connection.close()

start = threading.Barrier({ADMINS})
statuses = []

def switch(client):
    start.wait()
    for i in range({SWITCHES}):
        data = {{"enabled": "on" if i % 2 == 0 else ""}}
        response = client.post("/calling/service-settings/business-texting/", data, secure=True)
        statuses.append(response.status_code)
    connection.close()

threads = [threading.Thread(target=switch, args=(client,)) for client in clients]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({{
    "journal_mode": connection.cursor().execute("PRAGMA journal_mode").fetchone()[0],
    "statuses": statuses,
    "switched_on": sorted(ServiceSettings.objects.filter(business_texting_enabled=True)
                          .values_list("organisation__name", flat=True)),
    "audited": {{org: AuditEvent.objects.filter(organisation__name=org, action__startswith="texting.").count()
                for org in [f"Busy Org {{i}}" for i in range({ADMINS})]}},
}}))
"""


def test_simultaneous_changes_on_the_sqlite_default_wait_instead_of_answering_503(tmp_path):
    out, process = run_python(
        SWITCH_AT_ONCE, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", ALLOWED_HOSTS="testserver", timeout=180
    )
    statuses = out["statuses"]
    assert len(statuses) == ADMINS * SWITCHES
    assert statuses.count(503) == 0, f"{statuses.count(503)} of {len(statuses)} answered the 503 page"
    assert set(statuses) == {302}, statuses
    assert "database is locked" not in process.stderr, process.stderr[-2000:]
    # Every change arrived: each organisation ends switched on, with one audit event per switch.
    assert out["switched_on"] == [f"Busy Org {i}" for i in range(ADMINS)]
    assert out["audited"] == {f"Busy Org {i}": SWITCHES for i in range(ADMINS)}
    assert out["journal_mode"] == "wal"
