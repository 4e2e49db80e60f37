"""What every benchmark shares (the name is historical: the fault scripts import its texts too): its throw-away
database, and the texts it fills it with.

`database()` is the one way a benchmark gets its database: scripts/faults/_services.migrated_database (the helper the
fault scripts and benchmarks/load.py use: Django's own test-database creation, migrated, dropped at the end), on the
server of DATABASE_URL under a name of its own (`test_<name>_<benchmark>`, so it never clobbers pytest's `test_<name>`
or another benchmark's).
Without DATABASE_URL it is an in-memory SQLite database.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "faults"))

from _services import migrated_database  # noqa: E402


def on_postgresql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@contextmanager
def database(benchmark: str, *, keep: bool = False) -> Iterator[str]:
    """Configure Django for this process against a fresh, migrated database for `benchmark`; yields its URL."""
    os.environ.setdefault("DEBUG", "1")
    source = os.environ.get("DATABASE_URL", "")
    if on_postgresql():
        parts = urlsplit(source)
        source = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/postgres'}_{benchmark}"))
    with migrated_database(source, drop=not keep) as url:
        yield url


def insert_texts(organisation_id: int, total: int, expired: int, *, last_days: int | None = None) -> None:
    """`total` texts of one organisation in time order, as they would have been written (PostgreSQL: one
    `INSERT ... SELECT generate_series`): `expired` of them older than the retention period, one every 31 s back from
    a day past it, the rest within it, one every 17 s from a day inside it; or, with `last_days`, the rest spread
    evenly over the last `last_days` days up to now (what the portal's pages show)."""
    from django.conf import settings
    from django.utils import timezone

    from texting import partitions

    # PostgreSQL: a day partition for every day the texts span, as beat would have made them (texting.partitions);
    # without them every text would land in the default partition, a table no installation has.
    today = timezone.now().date()
    oldest = timezone.now() - timedelta(days=settings.MESSAGE_RETENTION_DAYS + 2, seconds=31 * expired)
    if last_days:
        oldest = min(oldest, timezone.now() - timedelta(days=last_days + 1))
    partitions.ensure_partitions(oldest.date(), today + timedelta(days=1))
    insert_numbered_texts(
        organisation_id,
        """
        SELECT g, CASE WHEN g <= %(expired)s
                  THEN now() - make_interval(days => %(days)s + 1) - (%(expired)s - g) * interval '31 seconds'
                  ELSE now() - make_interval(days => %(start)s) + (g - %(expired)s) * %(step)s * interval '1 second'
                  END AS ts
        FROM generate_series(1, %(total)s) AS g
        """,
        {
            "expired": expired,
            "total": total,
            "days": settings.MESSAGE_RETENTION_DAYS,
            "start": last_days if last_days else settings.MESSAGE_RETENTION_DAYS - 1,
            "step": last_days * 86400 / max(total - expired, 1) if last_days else 17,
        },
    )


def insert_numbered_texts(organisation_id: int, numbered: str, params: dict) -> None:
    """One `INSERT ... SELECT` of a text for each row (g, ts) of the query `numbered` (named parameters `params`):
    text number g, stamped ts, through the 400 numbers +15125550000-0399 in turn, to 9,000 other parties, a third of
    them inbound."""
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
            FROM ({numbered}) AS s
            """,
            {"org": organisation_id, **params},
        )


def drop_secondary_indexes(table: str) -> list[str]:
    """Drop the texts table's indexes but its primary key (rows load minutes sooner, the indexes built after them);
    returns the statements that build them again. On a partitioned table PostgreSQL prints a parent's index as
    `CREATE INDEX ... ON ONLY table`, which builds it on the parent alone: without ONLY it is built on every partition,
    as the migrations made it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
            " AND indexname <> %s",
            [table, f"{table}_pkey"],
        )
        found = cursor.fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [definition.replace(" ON ONLY ", " ON ", 1) for _, definition in found]
