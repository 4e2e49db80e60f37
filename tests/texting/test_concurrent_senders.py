"""The volume limits hold when several web processes send from the same number at the same moment (real Redis)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection

from tests.texting.factories import make_texter, send
from texting.models import BlockReason, Message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres(transactional_db):
    # SQLite serialises writers with a table lock ("database table is locked"): concurrent web processes need
    # PostgreSQL, as in production.
    from tests.conftest import service_missing

    if connection.vendor != "postgresql":
        service_missing("this test needs PostgreSQL (set DATABASE_URL=postgres://...)")


def send_concurrently(user, senders, per_sender):
    """`senders` threads (think: web processes), released together, each sending `per_sender` texts."""
    start = threading.Barrier(senders)

    def sender(_):
        try:
            start.wait(10)
            return [send(user).status for _ in range(per_sender)]
        finally:
            connection.close()

    with ThreadPoolExecutor(senders) as pool:
        return [status for statuses in pool.map(sender, range(senders)) for status in statuses]


def test_the_daily_cap_holds_with_two_concurrent_senders(org, settings, on_redis):
    settings.TEXTING_DAILY_CAP_PER_NUMBER = 25
    settings.TEXTING_BURST_PER_MINUTE = 1000
    user, _ = make_texter(org)
    # A fixed moment (clock still running) so the test never straddles midnight UTC.
    with time_machine.travel("2025-06-10 12:00:00+00:00", tick=True):
        statuses = send_concurrently(user, senders=2, per_sender=20)
    assert statuses.count("accepted") == 25 and statuses.count("blocked") == 15
    # (Accepted texts then went on to the carrier: count everything that was not blocked.)
    assert Message.objects.exclude(status="blocked").count() == 25
    assert set(Message.objects.filter(status="blocked").values_list("blocked_reason", flat=True)) == {
        BlockReason.DAILY_CAP_EXCEEDED
    }


def test_the_burst_limit_holds_with_two_concurrent_senders(org, settings, on_redis):
    settings.TEXTING_BURST_PER_MINUTE = 7
    user, _ = make_texter(org)
    with time_machine.travel("2025-06-10 12:00:05+00:00", tick=True):
        statuses = send_concurrently(user, senders=2, per_sender=8)
    assert statuses.count("accepted") == 7
    assert Message.objects.filter(blocked_reason=BlockReason.BURST_LIMIT_EXCEEDED).count() == 9
