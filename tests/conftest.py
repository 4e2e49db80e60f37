"""Shared fixtures: small factory functions for the domain, and the real services (PostgreSQL, Redis, a Celery
worker, Chromium) that some tests need. Without a service those tests skip; with REQUIRE_SERVICES=1 (CI) they fail.
"""

import os
import shutil
import types

import pytest
from django.db import connection

from portal.models import User

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def service_missing(reason: str):
    """Skip a test that needs a missing service, or fail it when CI said every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


from tests.factories import PASSWORD, make_location, make_numbers, make_org, make_user  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the default (deliberately slow) hasher would dominate their run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    return make_org("Acme Test")


@pytest.fixture
def other_org(db):
    return make_org("Globex Test")


@pytest.fixture
def admin(org):
    return make_user(org, role=User.Role.FULL_ADMIN, email="admin@acme.test")


@pytest.fixture
def readonly(org):
    return make_user(org, role=User.Role.READONLY_ADMIN, email="readonly@acme.test")


@pytest.fixture
def support(db):
    return make_user(None, role=User.Role.SUPPORT, email="support@pstn.test")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


@pytest.fixture
def readonly_client(readonly):
    """A client of its own, so a test can use admin_client and readonly_client side by side."""
    from django.test import Client

    client = Client()
    client.force_login(readonly)
    return client


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache (the password-reset throttle's counters): in Redis the counters would
    outlive the test, and every test client comes from the same address."""
    import redis
    from django.conf import settings
    from django.core.cache import cache

    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith("RedisCache"):
        cache.clear()
        return
    try:  # only our keys: the same Redis may hold the broker's queues and the texting counters
        client = redis.Redis.from_url(config["LOCATION"], socket_connect_timeout=2)
        keys = list(client.scan_iter(f"{config['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # tests that need Redis say so through the `redis_url` fixture


# --- services --------------------------------------------------------------------------------------------------


@pytest.fixture
def postgres(db):
    if connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")
    return connection


def _connect_when_needed(self):
    """BaseDatabaseWrapper.ensure_connection as Django writes it, for the replica added by a fixture: pytest-django
    and Django's test case both patch the class's method to refuse aliases they were not told about when the test
    started, and this alias is added after, by the test's own fixture."""
    if self.connection is None:
        with self.wrap_database_errors:
            self.connect()


def _add_replica(**changes):
    """The "replica" alias as settings.py builds it for DATABASE_REPLICA_URL: a read-only session, a TEST MIRROR of
    the default database (here: a second connection to the test database itself)."""
    from django.db import connections

    from portal.replica import REPLICA, _replica_state

    config = {**connections["default"].settings_dict, **changes}
    config["OPTIONS"] = {**config["OPTIONS"], "options": "-c default_transaction_read_only=on"}
    config["TEST"] = {**config["TEST"], "MIRROR": "default"}
    connections.settings[REPLICA] = config
    _replica_state.forget()
    replica = connections[REPLICA]
    replica.ensure_connection = types.MethodType(_connect_when_needed, replica)
    return replica


def _remove_replica():
    from django.db import connections

    from portal.replica import REPLICA, _replica_state

    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]
    _replica_state.forget()


@pytest.fixture
def replica(transactional_db):
    """A read replica configured (DATABASE_REPLICA_URL), mirroring the test database on PostgreSQL. Yields its
    connection. Transactional: the replica's own connection sees only committed rows, as a real replica would."""
    if connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")
    yield _add_replica()
    _remove_replica()


@pytest.fixture
def unreachable_replica(transactional_db):
    """A read replica configured but down (a port nobody listens on)."""
    import socket

    if connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield _add_replica(HOST="127.0.0.1", PORT=str(port))
    _remove_replica()


@pytest.fixture(scope="session")
def redis_url():
    import redis

    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        service_missing("this test needs Redis (set REDIS_URL or CELERY_BROKER_URL=redis://...)")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {url} does not answer: {exc}")
    return url


@pytest.fixture(autouse=True)
def _celery_eager_by_default(request):
    """Tests run Celery tasks in-process unless they ask for a real worker (fixture `celery_worker`)."""
    from portal.celery import override

    if "celery_worker" in request.fixturenames:
        yield
        return
    previous = override(task_always_eager=True, task_eager_propagates=True)
    yield
    override(**previous)


@pytest.fixture
def celery_worker(transactional_db, redis_url):
    """A real Celery worker thread consuming from Redis. Use with @pytest.mark.django_db(transaction=True)."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from portal.celery import app, override

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        service_missing("this test needs a Celery broker on Redis (set CELERY_BROKER_URL=redis://...)")
    previous = override(task_always_eager=False, broker_url=broker, result_backend=broker)
    # Every queue (carrier, purge, exports, default: settings.CELERY_TASK_QUEUES), as `make worker` does.
    queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    app.amqp.queues.select(queues)
    app.control.purge()  # messages left by an earlier run name ids of another test database
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queues) as worker:
        yield worker
    override(**previous)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        service_missing(f"this test needs Chromium at {CHROMIUM} (apt-get install chromium)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page, email, password=PASSWORD):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)


# --- the carrier ---------------------------------------------------------------------------------------------------


@pytest.fixture
def carrier_sim(settings):
    """The carrier simulator on a free loopback port, deciding at once (delay 0), with the portal's carrier settings
    pointed at it. Yields the `CarrierSimulator`: `url`, `set_faults(**changes)`, `faults()`, `stats()`,
    `decide_pending()`, `reset()`.

    The client gives up after 0.5 s and an injected timeout answers after 1 s, so the client always gives up first.
    """
    from carrier.simulator import CarrierSimulator

    settings.CARRIER_TIMEOUT_SECONDS = 0.5
    settings.CARRIER_WEBHOOK_SECRET = settings.CARRIER_WEBHOOK_SECRET or "test-webhook-secret"
    sim = CarrierSimulator(
        api_key="test-carrier-key",
        webhook_secret=settings.CARRIER_WEBHOOK_SECRET,
        delay_seconds=0.0,
        timeout_seconds=1.0,
    ).start()
    settings.CARRIER_API_URL = sim.url
    settings.CARRIER_API_KEY = sim.api_key
    yield sim
    sim.stop()


# --- translations ----------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _language_reset_after_each_test():
    """A request in French or Slovak leaves that language active in the thread (LocaleMiddleware activates, never
    deactivates: the next request activates its own); the next test starts in the default language again."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(scope="session")
def compiled_catalogues():
    """The French (Canada) and Slovak catalogues compiled (locale/*/LC_MESSAGES/django.mo), as `make run`, `make test`
    and CI compile them: rebuilt when a .po is newer than its .mo. Needs GNU gettext's msgfmt."""
    from django.conf import settings

    from portal.i18n_check import compile_stale_catalogues

    try:
        compile_stale_catalogues(settings.LOCALE_PATHS)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    return settings.LOCALE_PATHS
