"""The 400-day retention purge: exact boundary, batches, resumption, dry run, the command, the lock."""

import io
import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from tests.texting.factories import bulk_texts, make_text
from texting import locks
from texting.models import Message, PurgeLease, PurgeRun
from texting.retention import LOCK_NAME, purge_expired_messages, retention_cutoff

NOW = datetime(2025, 11, 3, 7, 30, tzinfo=UTC)  # two days after the US clocks went back: DST in the window


@pytest.mark.django_db
@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York", "Pacific/Chatham"])
def test_the_boundary_is_exact_whatever_the_time_zone(org, settings, time_zone):
    settings.TIME_ZONE = time_zone
    assert settings.MESSAGE_RETENTION_DAYS == 400
    with time_machine.travel(NOW, tick=False):
        stays = make_text(org, created_at=NOW - timedelta(days=399, hours=23))
        exactly = make_text(org, created_at=NOW - timedelta(days=400))
        goes = make_text(org, created_at=NOW - timedelta(days=400, seconds=1))
        ancient = make_text(org, created_at=NOW - timedelta(days=4000))
        run = purge_expired_messages()
    remaining = set(Message.objects.values_list("pk", flat=True))
    assert stays.pk in remaining and exactly.pk in remaining  # "older than 400 days" is strict
    assert goes.pk not in remaining and ancient.pk not in remaining
    assert run.cutoff == NOW - timedelta(days=400) == retention_cutoff(NOW)
    assert run.outcome == PurgeRun.Outcome.COMPLETED and run.rows_deleted == 2 and run.retention_days == 400


@pytest.mark.django_db
def test_the_period_is_a_setting(org, settings):
    settings.MESSAGE_RETENTION_DAYS = 30
    make_text(org, created_at=datetime.now(UTC) - timedelta(days=31))
    make_text(org, created_at=datetime.now(UTC) - timedelta(days=29))
    assert purge_expired_messages().rows_deleted == 1
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_batches_stop_and_the_next_run_continues(org):
    old = datetime.now(UTC) - timedelta(days=500)
    bulk_texts(org, 25, created_at=old)
    bulk_texts(org, 5, created_at=datetime.now(UTC) - timedelta(days=10))
    seen = []
    first = purge_expired_messages(batch_size=10, max_batches=2, progress=lambda run: seen.append(run.rows_deleted))
    assert seen == [10, 20]  # each batch committed with the run's counters
    assert (first.outcome, first.rows_deleted, first.batches) == (PurgeRun.Outcome.STOPPED, 20, 2)
    assert first.finished and first.batch_size == 10 and "Stopped after 2 batches" in first.detail
    assert Message.objects.count() == 10

    second = purge_expired_messages(batch_size=10)
    assert (second.outcome, second.rows_deleted, second.batches) == (PurgeRun.Outcome.COMPLETED, 5, 1)
    assert second.detail == ""
    first.refresh_from_db()
    assert first.outcome == PurgeRun.Outcome.STOPPED  # a run that ended is not relabelled by the next one
    assert Message.objects.count() == 5
    assert not Message.objects.filter(created_at__lt=retention_cutoff()).exists()

    third = purge_expired_messages(batch_size=10)
    assert (third.outcome, third.rows_deleted, third.batches) == (PurgeRun.Outcome.COMPLETED, 0, 0)


@pytest.mark.django_db
def test_batches_stay_bounded_when_many_texts_share_a_timestamp(org):
    same = datetime.now(UTC) - timedelta(days=450)
    bulk_texts(org, 3, created_at=same - timedelta(seconds=1))
    bulk_texts(org, 25, created_at=same)
    bulk_texts(org, 4, created_at=same + timedelta(seconds=1))
    young = make_text(org)
    sizes = []
    run = purge_expired_messages(batch_size=10, progress=lambda r: sizes.append(r.rows_deleted))
    per_batch = [b - a for a, b in itertools.pairwise([0, *sizes])]
    assert run.outcome == PurgeRun.Outcome.COMPLETED and run.rows_deleted == 32
    assert max(per_batch) <= 10 and sum(per_batch) == 32
    assert list(Message.objects.values_list("pk", flat=True)) == [young.pk]


@pytest.mark.django_db
def test_a_run_killed_halfway_is_marked_interrupted_and_the_next_one_finishes(org):
    bulk_texts(org, 7, created_at=datetime.now(UTC) - timedelta(days=401))

    class Killed(BaseException):
        """Like SIGKILL for our purposes: nothing in the purge catches it."""

    def kill_after_first_batch(run):
        raise Killed

    with pytest.raises(Killed):
        purge_expired_messages(batch_size=3, progress=kill_after_first_batch)
    dead = PurgeRun.objects.get()
    assert dead.outcome == PurgeRun.Outcome.RUNNING and dead.rows_deleted == 3 and dead.finished is None
    assert Message.objects.count() == 4  # the committed batch stays deleted; nothing half-done

    run = purge_expired_messages(batch_size=3)
    assert run.outcome == PurgeRun.Outcome.COMPLETED and run.rows_deleted == 4
    dead.refresh_from_db()
    assert dead.outcome == PurgeRun.Outcome.INTERRUPTED
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_batch_of_one_is_allowed_and_deletes_one_row_at_a_time(org):
    bulk_texts(org, 3, created_at=datetime.now(UTC) - timedelta(days=401))
    young = make_text(org)
    run = purge_expired_messages(batch_size=1)
    assert (run.outcome, run.rows_deleted, run.batches, run.detail) == (PurgeRun.Outcome.COMPLETED, 3, 3, "")
    assert run.cutoff == run.started - timedelta(days=400)  # the recorded cutoff is the recorded start's
    assert list(Message.objects.values_list("pk", flat=True)) == [young.pk]


@pytest.mark.django_db
def test_stopping_exactly_at_the_last_batch_completes_and_zero_batches_deletes_nothing(org):
    for minutes in range(4):
        make_text(org, created_at=datetime.now(UTC) - timedelta(days=401, minutes=minutes))
    idle = purge_expired_messages(batch_size=2, max_batches=0)
    assert (idle.outcome, idle.rows_deleted) == (PurgeRun.Outcome.STOPPED, 0) and Message.objects.count() == 4
    run = purge_expired_messages(batch_size=2, max_batches=2)
    assert (run.outcome, run.rows_deleted, run.batches, run.detail) == (PurgeRun.Outcome.COMPLETED, 4, 2, "")


@pytest.mark.django_db
def test_no_batch_is_recorded_as_longer_than_its_run(org):
    bulk_texts(org, 6, created_at=datetime.now(UTC) - timedelta(days=401))

    def check(run):
        assert run.longest_batch_ms <= (datetime.now(UTC) - run.started).total_seconds() * 1000

    run = purge_expired_messages(batch_size=2, progress=check)
    assert run.batches == 3 and run.longest_batch_ms <= (run.finished - run.started).total_seconds() * 1000


@pytest.mark.django_db
def test_a_purge_that_fails_is_recorded_as_failed_with_the_reason(org):
    bulk_texts(org, 4, created_at=datetime.now(UTC) - timedelta(days=401))
    reason = "disk full " * 40  # longer than the detail column: kept cut, not lost

    def fail(run):
        raise RuntimeError(reason)

    with pytest.raises(RuntimeError):
        purge_expired_messages(batch_size=2, progress=fail)
    run = PurgeRun.objects.get()
    assert run.outcome == PurgeRun.Outcome.FAILED and run.finished and run.detail == reason[:300]
    assert run.rows_deleted == 2 and Message.objects.count() == 2  # the committed batch stays deleted
    assert purge_expired_messages().outcome == PurgeRun.Outcome.COMPLETED  # the lock was released


@pytest.mark.django_db
def test_the_log_says_what_the_purge_did(org, caplog):
    bulk_texts(org, 5, created_at=datetime.now(UTC) - timedelta(days=401))
    with caplog.at_level("INFO", logger="texting.retention"):
        run = purge_expired_messages(batch_size=2)
    assert f"5 rows deleted in 3 batches (cutoff {run.cutoff.isoformat()}): completed" in caplog.text


@pytest.mark.django_db
def test_dry_run_counts_and_deletes_nothing(org):
    bulk_texts(org, 4, created_at=datetime.now(UTC) - timedelta(days=401))
    run = purge_expired_messages(dry_run=True)
    assert run.dry_run and run.rows_matched == 4 and run.rows_deleted == 0 and run.finished
    assert Message.objects.count() == 4


@pytest.mark.django_db
def test_the_command_runs_the_same_purge(org):
    bulk_texts(org, 5, created_at=datetime.now(UTC) - timedelta(days=401))
    make_text(org)
    out = io.StringIO()
    call_command("purge_expired_messages", "--dry-run", stdout=out)
    assert "Dry run: 5 texts are older than" in out.getvalue() and Message.objects.count() == 6
    out = io.StringIO()
    call_command("purge_expired_messages", "--batch-size", "2", "-v", "2", stdout=out)
    assert "5 texts older than" in out.getvalue() and "in 3 batches of at most 2" in out.getvalue()
    assert "batch 3: 5 rows deleted so far" in out.getvalue()
    assert Message.objects.count() == 1
    assert list(PurgeRun.objects.order_by("id").values_list("dry_run", "outcome")) == [
        (True, "completed"),
        (False, "completed"),
    ]
    with pytest.raises(CommandError):
        call_command("purge_expired_messages", "--batch-size", "0")


@pytest.mark.django_db
def test_the_beat_task_has_the_scheduled_name_and_purges(org, settings):
    from portal.celery import app
    from texting.tasks import purge_expired_messages as task

    assert settings.CELERY_BEAT_SCHEDULE["purge-expired-messages"]["task"] == task.name
    assert task.name in app.tasks
    bulk_texts(org, 3, created_at=datetime.now(UTC) - timedelta(days=401))
    result = task.delay().get()
    assert result["outcome"] == "completed" and result["rows_deleted"] == 3


@pytest.mark.django_db
def test_other_tables_survive(org):
    """The purge deletes texts, and only texts older than the cutoff, from every organisation."""
    from tests.factories import make_org

    other = make_org("Initech Test")
    make_text(org, created_at=datetime.now(UTC) - timedelta(days=401))
    make_text(other, created_at=datetime.now(UTC) - timedelta(days=401))
    keep = make_text(other, created_at=datetime.now(UTC) - timedelta(days=1))
    assert purge_expired_messages().rows_deleted == 2
    assert list(Message.objects.values_list("pk", flat=True)) == [keep.pk]


# --- the lock ----------------------------------------------------------------------------------------------------


def run_two_purges_at_once():
    """Start a purge that pauses after its first batch, try a second one meanwhile, then let the first finish."""
    paused, resume = threading.Event(), threading.Event()
    results = {}

    def pause(run):
        paused.set()
        resume.wait(20)

    def first():
        try:
            results["first"] = purge_expired_messages(batch_size=5, progress=pause)
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert paused.wait(20), "the first purge never reached its first batch"
    try:
        results["second"] = purge_expired_messages(batch_size=5)
    finally:
        resume.set()
        thread.join(30)
    return results["first"], results["second"]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_purges_never_run_at_once_on_redis(org, on_redis):
    bulk_texts(org, 12, created_at=datetime.now(UTC) - timedelta(days=401))
    first, second = run_two_purges_at_once()
    assert second.outcome == PurgeRun.Outcome.SKIPPED and second.rows_deleted == 0
    assert first.outcome == PurgeRun.Outcome.COMPLETED and first.rows_deleted == 12
    assert not Message.objects.exists()
    # Released: the next purge runs.
    assert purge_expired_messages().outcome == PurgeRun.Outcome.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_two_purges_never_run_at_once_without_redis(org, without_redis):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"] == ":memory:":
        pytest.skip("threads need a database they can share")
    bulk_texts(org, 12, created_at=datetime.now(UTC) - timedelta(days=401))
    first, second = run_two_purges_at_once()
    assert second.outcome == PurgeRun.Outcome.SKIPPED
    assert first.outcome == PurgeRun.Outcome.COMPLETED and first.rows_deleted == 12


@pytest.mark.services
def test_the_redis_lease_is_released_only_by_its_holder(on_redis):
    first = locks.lease("test-lease", 5)
    second = locks.lease("test-lease", 5)
    assert isinstance(first, locks.RedisLease)
    assert first.acquire() and not second.acquire()
    second.release()  # not the holder: must not free the lock
    assert not second.acquire()
    assert first.renew() and not second.renew()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.services
def test_an_expired_redis_lease_can_be_taken_over(on_redis):
    import time

    stale = locks.lease("test-lease", 0.05)
    assert stale.acquire()
    time.sleep(0.1)
    fresh = locks.lease("test-lease", 5)
    assert fresh.acquire()
    assert not stale.renew()  # the stale holder learns it lost the lock
    stale.release()
    assert not locks.lease("test-lease", 5).acquire()  # ...and cannot free the new holder's lock
    fresh.release()


@pytest.mark.django_db
def test_the_database_lease_is_exclusive_until_released_or_expired(without_redis):
    first = locks.lease(LOCK_NAME, 60)
    second = locks.lease(LOCK_NAME, 60)
    assert isinstance(first, locks.DatabaseLease)
    assert first.acquire() and not second.acquire()
    second.release()
    assert not second.acquire() and first.renew() and not second.renew()
    first.release()
    assert second.acquire()
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        third = locks.lease(LOCK_NAME, 60)
        assert third.acquire()  # the holder died: its lease ran out
        assert not second.renew()


@pytest.mark.django_db
def test_a_purge_skips_while_another_holds_the_lock(org, settings):
    bulk_texts(org, 3, created_at=datetime.now(UTC) - timedelta(days=401))
    holder = locks.lease(LOCK_NAME, 60)
    assert holder.acquire()
    try:
        run = purge_expired_messages()
    finally:
        holder.release()
    assert run.outcome == PurgeRun.Outcome.SKIPPED and Message.objects.count() == 3
    assert purge_expired_messages().rows_deleted == 3


@pytest.mark.django_db
def test_a_purge_whose_lock_is_taken_over_stops_before_its_next_batch(org, without_redis):
    """A purge stalled past its lease (RETENTION_LOCK_TTL_SECONDS) may find another purge holding the lock: it stops
    before deleting another batch, says why, and what it deleted is recorded."""
    bulk_texts(org, 9, created_at=datetime.now(UTC) - timedelta(days=401))

    def taken_over(run):
        PurgeLease.objects.filter(name=LOCK_NAME).update(holder="another-purge")

    run = purge_expired_messages(batch_size=3, progress=taken_over)

    assert run.outcome == PurgeRun.Outcome.FAILED and "Lost the purge lock" in run.detail
    assert (run.rows_deleted, Message.objects.count()) == (3, 6)


@pytest.mark.django_db
def test_a_purge_inside_a_callers_transaction_leaves_that_transaction_durable(postgres, org):
    """The batches commit without waiting for the disk only where each is its own transaction: called inside a
    caller's transaction (as here, the test's), a batch is a savepoint, and `SET LOCAL synchronous_commit = off` would
    last until the caller's COMMIT, which would then not wait for the disk either."""
    make_text(org, created_at=datetime.now(UTC) - timedelta(days=500))
    run = purge_expired_messages()
    assert run.rows_deleted == 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
