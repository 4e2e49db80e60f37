"""While the database is unreachable every page answers a clear 503 (static page, Retry-After, no stack trace), and
the portal recovers by itself when the database returns. Each case runs the real portal in a fresh process pointed
at a database that is not there: nothing of ours is mocked."""

import socket

import pytest

from .production import run_python

CLEAR_MESSAGE = "Texting Hub is temporarily unavailable, try again in a minute"
NEVER_SHOWN = [
    "Traceback",
    "OperationalError",
    "InterfaceError",
    "psycopg",
    "sqlite3",
    "connection refused",
    "Exception Value",
    "settings.py",
]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ASK_PAGES = """
from django.test import Client as TestClient

def Client():
    # The test client re-raises any exception a request logged; a real server answers with the response instead.
    return TestClient(raise_request_exception=False)

def answer(response):
    return {"status": response.status_code, "retry_after": response.get("Retry-After"),
            "body": response.content.decode(errors="replace")}

signed_in = Client()
signed_in.cookies["sessionid"] = "k" * 32  # loading this session needs the database (a middleware's query)
out = {
    "page": answer(signed_in.get("/overview/", secure=True)),
    "sign_in": answer(Client().post("/accounts/login/", {"username": "a@b.example", "password": "x"}, secure=True)),
    "health": answer(Client().get("/healthz", secure=True)),
}
print(json.dumps(out))
"""


@pytest.mark.parametrize("debug", ["0", "1"], ids=["production", "debug"])
def test_pages_answer_the_clear_503_page_while_postgresql_is_unreachable(debug):
    out, process = run_python(
        ASK_PAGES, DEBUG=debug, DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/texting_hub"
    )
    # An outage is one warning line per request in the log, not a server error with a traceback each time.
    assert "Traceback" not in process.stderr and "Internal Server Error" not in process.stderr, process.stderr[-2000:]
    # A middleware's query (the session) and a view's query (signing in) both end on the same page.
    for name in ("page", "sign_in"):
        answer = out[name]
        assert answer["status"] == 503, (name, answer["body"][:500])
        assert answer["retry_after"] == "60"
        assert CLEAR_MESSAGE in answer["body"]
        for secret in NEVER_SHOWN:
            assert secret.lower() not in answer["body"].lower(), (name, secret)
    assert out["health"]["status"] == 503


RECOVERY = """
import pathlib
from django.core.management import call_command
from django.test import Client as TestClient
from portal.models import User
from tests.factories import make_org, make_user

db_file = pathlib.Path(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
client = TestClient(raise_request_exception=False)
client.cookies["sessionid"] = "k" * 32
out = {"down": client.get("/overview/", secure=True).status_code,
       "down_body": client.get("/overview/", secure=True).content.decode()}
db_file.parent.mkdir(parents=True)  # the database comes back
call_command("migrate", verbosity=0)
admin = make_user(make_org("Back Online Inc"), role=User.Role.FULL_ADMIN, email="back@online.example")
client = TestClient()
client.force_login(admin)
response = client.get("/overview/", secure=True)
out.update(up=response.status_code, up_body=response.content.decode())
print(json.dumps(out))
"""


def test_the_portal_recovers_by_itself_when_the_database_returns(tmp_path):
    db_file = tmp_path / "not-yet" / "db.sqlite3"
    out, _ = run_python(RECOVERY, DATABASE_URL=f"sqlite:///{db_file}", timeout=120)
    assert out["down"] == 503 and CLEAR_MESSAGE in out["down_body"]
    assert out["up"] == 200 and "Back Online Inc" in out["up_body"]
