"""Shared set-up for the texting benchmarks: a dedicated, throw-away database next to DATABASE_URL's.

PostgreSQL: a database named `th_bench_texting` on the same server (created fresh, dropped at the end).
SQLite (no DATABASE_URL): a file in the temporary directory. Django is configured against it and migrated.
"""

import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB_NAME = "th_bench_texting"


def setup(require_postgres: bool) -> dict:
    """Point Django at the benchmark database, create and migrate it. Returns what `teardown` needs."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "1")
    source = os.environ.get("DATABASE_URL", "")
    state = {"vendor": "sqlite", "url": ""}
    if source.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(source)
        state.update(
            vendor="postgresql",
            admin_url=urlunsplit(parts._replace(path="/postgres")),
            url=urlunsplit(parts._replace(path=f"/{BENCH_DB_NAME}")),
        )
        _admin_sql(
            state["admin_url"],
            f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)',
            f'CREATE DATABASE "{BENCH_DB_NAME}"',
        )
    elif require_postgres:
        sys.exit(
            "This benchmark needs PostgreSQL: DATABASE_URL=postgres://user@host:5432/anything "
            f"(it creates and drops its own database, {BENCH_DB_NAME})."
        )
    else:
        path = Path(tempfile.gettempdir()) / f"{BENCH_DB_NAME}.sqlite3"
        path.unlink(missing_ok=True)
        state.update(url=f"sqlite:///{path}", path=path)
    os.environ["DATABASE_URL"] = state["url"]

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return state


def teardown(state: dict) -> None:
    from django.db import connections

    connections.close_all()
    if state["vendor"] == "postgresql":
        _admin_sql(state["admin_url"], f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)')
    else:
        state["path"].unlink(missing_ok=True)


def _admin_sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def make_organisation(name: str = "Benchmark Corp"):
    from tests.factories import make_org

    return make_org(name)


def insert_texts(organisation_id: int, total: int, expired: int) -> None:
    """`total` texts of one organisation in time order, as they would have been written (PostgreSQL: one
    `INSERT ... SELECT generate_series`): `expired` of them older than the retention period, one every 31 s back from
    a day past it, the rest within it, one every 17 s from a day inside it."""
    from django.conf import settings
    from django.db import connection

    from texting.models import Message

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Message._meta.db_table} (organisation_id, user_id, business_number, other_party, direction,
                        body, encoding, segments, status, blocked_reason, status_detail, is_automatic_reply,
                        carrier_message_id, created_at, status_changed)
            SELECT %(org)s, NULL, '+1512555' || lpad((g %% 400)::text, 4, '0'),
                   '+1737555' || lpad((g %% 9000)::text, 4, '0'),
                   CASE WHEN g %% 3 = 0 THEN 'inbound' ELSE 'outbound' END,
                   'Hi, this is Acme: your order ' || g || ' has shipped and arrives Thursday. Reply STOP to opt out.',
                   'gsm7', 1, CASE WHEN g %% 3 = 0 THEN 'received' ELSE 'delivered' END, '', '', false,
                   'M' || g, ts, ts
            FROM (
                SELECT g, CASE WHEN g <= %(expired)s
                          THEN now() - make_interval(days => %(days)s + 1) - (%(expired)s - g) * interval '31 seconds'
                          ELSE now() - make_interval(days => %(days)s - 1) + (g - %(expired)s) * interval '17 seconds'
                          END AS ts
                FROM generate_series(1, %(total)s) AS g
            ) AS s
        """,
            {"org": organisation_id, "expired": expired, "total": total, "days": settings.MESSAGE_RETENTION_DAYS},
        )
