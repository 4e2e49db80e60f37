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
        state.update(vendor="postgresql", admin_url=urlunsplit(parts._replace(path="/postgres")),
                     url=urlunsplit(parts._replace(path=f"/{BENCH_DB_NAME}")))
        _admin_sql(state["admin_url"], f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)',
                   f'CREATE DATABASE "{BENCH_DB_NAME}"')
    elif require_postgres:
        sys.exit("This benchmark needs PostgreSQL: DATABASE_URL=postgres://user@host:5432/anything "
                 f"(it creates and drops its own database, {BENCH_DB_NAME}).")
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
