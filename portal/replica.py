"""A PostgreSQL read replica for reporting reads (README "Scaling out").

With DATABASE_REPLICA_URL set, settings add a second database alias, "replica". Nothing is routed to it blindly:
the reporting selectors name it themselves, `Message.objects.using(reporting_db())`, so whoever reads a query sees
where it runs. Which reads those are (and nothing else):

- the texting activity page: texts per day, blocked by reason, busiest numbers, delivery outcomes, recent texts
  (texting.queries), and its CSV export (texts_for_export);
- eDiscovery: the search's results and count, and the texts an export archive is built from
  (compliance.discovery.texts_matching);
- the audit log list (portal.views.audit_log);
- the support queue: its list, state counts and search (compliance.queries).

Everything else reads the primary, and `reporting_db()` itself answers "default" when

- no replica is configured;
- the read is inside a transaction on the primary (a read that a write then depends on must see the primary);
- the user changed something a moment ago (read-your-writes): any POST (every state change in the portal is one)
  sets a cookie that keeps that browser's reads on the primary for DATABASE_REPLICA_MAX_LAG_SECONDS;
- the replica is unreachable, or further behind than DATABASE_REPLICA_MAX_LAG_SECONDS (checked at most every
  REPLICA_CHECK_SECONDS per process), so a reporting page never shows older figures than that, and never fails
  because the replica is down.

Writes never go to the replica: `ReplicaRouter.db_for_write` answers "default" for every model, even for an object
that was read from the replica, and the replica's connections are read-only sessions besides
(`default_transaction_read_only`).
"""

import contextvars
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
# The cookie that keeps a browser's reads on the primary for a while after it changed something.
PRIMARY_COOKIE = "th_primary"
# How often each process asks the replica how far behind it is (seconds).
REPLICA_CHECK_SECONDS = 5.0

_on_primary = contextvars.ContextVar("reads_on_primary", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def _in_transaction(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """True inside transaction.atomic() on `alias` (the transaction a test case wraps itself in does not count)."""
    return any(not block._from_testcase for block in connections[alias].atomic_blocks)


def reporting_db() -> str:
    """The alias a reporting read uses: "replica" when one is configured and may serve this read, else "default".
    Decided when the query is built, so a streamed response keeps the choice made while the view ran."""
    if not replica_configured() or _on_primary.get() or _in_transaction():
        return DEFAULT_DB_ALIAS
    return REPLICA if _replica_state.usable() else DEFAULT_DB_ALIAS


@contextmanager
def reads_on_primary():
    """Within the block every reporting read goes to the primary (read-your-writes)."""
    token = _on_primary.set(True)
    try:
        yield
    finally:
        _on_primary.reset(token)


# --- how far behind the replica is --------------------------------------------------------------------------------

# On a standby: 0 when it has replayed all it received (an idle primary sends nothing, and the last replayed
# transaction's time would grow old while nothing is behind), else the age of the last transaction it replayed.
# On a server that is not a standby (a test mirror of the primary, or a replica promoted) both are NULL.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END
"""


@dataclass(frozen=True)
class ReplicaStatus:
    """`reachable`; `standby`: the server is replaying a primary's WAL; `lag_seconds`: how far behind it is (None when
    it is not a standby, e.g. the test mirror: nothing to measure)."""

    reachable: bool
    standby: bool = False
    lag_seconds: float | None = None
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.reachable and (self.lag_seconds is None or self.lag_seconds <= settings.DATABASE_REPLICA_MAX_LAG)


def replica_status() -> ReplicaStatus:
    """Ask the replica now (one query)."""
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.execute("SELECT 1")
                return ReplicaStatus(reachable=True)
            cursor.execute(_LAG_SQL)
            standby, lag = cursor.fetchone()
    except DatabaseError as exc:
        connection.close_if_unusable_or_obsolete()
        return ReplicaStatus(reachable=False, error=str(exc).strip().splitlines()[0][:200] if str(exc) else "")
    return ReplicaStatus(reachable=True, standby=bool(standby), lag_seconds=None if lag is None else float(lag))


class _ReplicaState:
    """The last status seen by this process, refreshed at most every REPLICA_CHECK_SECONDS."""

    def __init__(self):
        self.status: ReplicaStatus | None = None
        self.checked = float("-inf")

    def usable(self) -> bool:
        now = time.monotonic()
        if self.status is None or now - self.checked >= REPLICA_CHECK_SECONDS:
            self.checked = now
            status = replica_status()
            if self.status is not None and status.usable != self.status.usable:
                log.warning(
                    "Read replica %s: %s",
                    "usable again" if status.usable else "not used",
                    "" if status.usable else (status.error or f"{status.lag_seconds:.1f} s behind"),
                )
            self.status = status
        return self.status.usable

    def forget(self) -> None:
        self.status, self.checked = None, float("-inf")


_replica_state = _ReplicaState()


# --- the router and the middleware --------------------------------------------------------------------------------


class ReplicaRouter:
    """Every write to the primary; no opinion on reads (a queryset reads where `.using()` says, a related object where
    the object it hangs from was read); migrations on the primary only (the replica copies them)."""

    def db_for_read(self, model, **hints):
        return None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows: an object read from the replica may be related to one from the primary.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """After a POST (or any unsafe method) the browser's reads stay on the primary for DATABASE_REPLICA_MAX_LAG
    seconds: a user who changed something and then opens a reporting page (the audit log, the support queue) sees
    their change even if the replica has not replayed it yet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
        token = _on_primary.set(writes or PRIMARY_COOKIE in request.COOKIES)
        try:
            response = self.get_response(request)
        finally:
            _on_primary.reset(token)
        # A browser's session only (or the one a sign-in just started): API clients and the carrier's callbacks keep
        # no cookies.
        session = settings.SESSION_COOKIE_NAME
        if writes and replica_configured() and (session in request.COOKIES or session in response.cookies):
            response.set_cookie(
                PRIMARY_COOKIE,
                "1",
                max_age=max(1, round(settings.DATABASE_REPLICA_MAX_LAG)),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
