"""The texts table partitioned by day on PostgreSQL (texting.partitions): the nightly purge drops whole expired days,
deletes row by row only the minutes the cutoff leaves of the day straddling it, never loses a held text, falls back
to row-by-row deletes when a partition is busy; partitions are made ahead and take their days' texts from the
default partition; a text is saved and reloaded by its id and its day."""

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compliance.actions.holds import place_hold, release_hold
from tests.texting.factories import make_text
from texting import partitions, retention
from texting.models import Message, PurgeRun
from texting.retention import purge_expired_messages

# The nightly purge's moment (RETENTION_PURGE_HOUR:MINUTE, 00:10 UTC) on some day.
NOW = datetime(2026, 3, 10, 0, 10, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=400)  # 2025-02-03 00:10 UTC
FIRST_DAY = CUTOFF.date() - timedelta(days=30)


@pytest.fixture
def days(postgres):
    """As after some 430 days of beat: a partition for each day from 30 days before the cutoff's to the day after
    (the days these tests write texts on; the purge makes today's and the next 14 days' itself)."""
    partitions.ensure_partitions(FIRST_DAY, CUTOFF.date() + timedelta(days=1))


def purge(**kwargs):
    with time_machine.travel(NOW, tick=False):
        return purge_expired_messages(**kwargs)


def remaining():
    return set(Message.objects.values_list("pk", flat=True))


def partition_of(message) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM texting_message WHERE id = %s AND created_at = %s",
            [message.pk, message.created_at],
        )
        return cursor.fetchone()[0]


def names() -> set[str]:
    return {p.name for p in partitions.partitions()}


@pytest.mark.django_db
def test_the_purge_drops_every_expired_day_and_deletes_row_by_row_only_the_minutes_past_midnight(org, days):
    old = [make_text(org, created_at=CUTOFF - timedelta(days=n, hours=12)) for n in range(1, 29)]
    straddling_day = CUTOFF.date()  # 2025-02-03: 00:00-00:10 expired, the rest not yet
    just_after_midnight = make_text(org, created_at=datetime(2025, 2, 3, 0, 1, tzinfo=UTC))
    just_expired = make_text(org, created_at=CUTOFF - timedelta(seconds=1))
    just_kept = make_text(org, created_at=CUTOFF + timedelta(seconds=1))
    young = make_text(org, created_at=NOW - timedelta(days=1))
    expired_days = (straddling_day - FIRST_DAY).days

    run = purge()

    assert run.outcome == PurgeRun.Outcome.COMPLETED
    assert remaining() == {just_kept.pk, young.pk}
    assert (run.partitions_dropped, run.rows_deleted, run.batches) == (expired_days, len(old) + 2, 1)
    left = names()
    assert partitions.partition_name(straddling_day) in left
    assert partitions.partition_name(straddling_day - timedelta(days=1)) not in left
    assert partitions.partition_name(FIRST_DAY) not in left
    assert just_after_midnight.pk not in remaining() and just_expired.pk not in remaining()
    assert partition_of(just_kept) == partitions.partition_name(straddling_day)

    again = purge()  # nothing left to drop or delete
    assert (again.partitions_dropped, again.rows_deleted) == (0, 0)


@pytest.mark.django_db
def test_a_held_text_in_an_expired_day_is_kept_in_the_default_partition_and_goes_after_release(
    org, days, officer, texter
):
    held = make_text(org, created_at=NOW - timedelta(days=420), user=texter, body="held: keep me")
    # Most of that day is not held: dropping it (and moving the held text out) is the cheaper way.
    unheld = [make_text(org, created_at=NOW - timedelta(days=420), body="not held") for _ in range(30)]
    hold = place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    before = Message.objects.filter(pk=held.pk).values().get()

    run = purge()

    assert remaining() == {held.pk}
    assert (run.rows_deleted, run.kept_by_holds) == (len(unheld), 1)
    assert run.partitions_dropped == (CUTOFF.date() - FIRST_DAY).days
    assert partition_of(held) == partitions.DEFAULT_PARTITION
    assert Message.objects.filter(pk=held.pk).values().get() == before  # same id, time, body, everything

    kept_again = purge()  # still held: kept, counted once, nothing dropped twice
    assert (kept_again.rows_deleted, kept_again.kept_by_holds, kept_again.partitions_dropped) == (0, 1, 0)

    release_hold(hold, officer)
    released = purge()
    assert remaining() == set()
    assert (released.rows_deleted, released.kept_by_holds) == (1, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "behind",
    [
        "DROP COLUMN body",  # as if the texts table had gained a column since
        "ALTER COLUMN business_number TYPE varchar(5)",  # as if it had widened one
    ],
)
def test_held_texts_keep_every_column_when_the_aside_table_no_longer_matches_the_texts_table(
    org, days, officer, texter, behind
):
    """The held texts wait in an unlogged table (retention.ASIDE_TABLE) while their partition is dropped. Made by a
    migration, it falls behind when a later migration changes the texts table's columns (adds one, changes a type):
    the purge makes it again rather than lose a column of a held text or fail."""
    held = make_text(org, created_at=NOW - timedelta(days=420), user=texter, body="held: keep every word")
    for _ in range(30):
        make_text(org, created_at=NOW - timedelta(days=420), body="not held")
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    before = Message.objects.filter(pk=held.pk).values().get()
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {retention.ASIDE_TABLE} {behind}")

    run = purge()

    assert remaining() == {held.pk} and partition_of(held) == partitions.DEFAULT_PARTITION
    assert Message.objects.filter(pk=held.pk).values().get() == before
    assert run.partitions_dropped == (CUTOFF.date() - FIRST_DAY).days
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {retention.ASIDE_TABLE}")
        assert cursor.fetchone()[0] == 0  # empty again once the purge is done


@pytest.mark.django_db
def test_the_aside_table_the_migration_made_is_used_as_it_is(org, days, officer, texter):
    """Migration 0011 makes the aside table so that no night's purge writes catalog rows for it. Its columns come in
    the migration's order, not the model's; the purge uses it as it is (the same table before and after) and every
    column of a held text comes back where it belongs."""
    held = make_text(org, created_at=NOW - timedelta(days=420), user=texter, body="held: keep every word")
    for _ in range(30):  # few enough held texts in their day for it to be dropped whole
        make_text(org, created_at=NOW - timedelta(days=420), body="not held")
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    before = Message.objects.filter(pk=held.pk).values().get()

    def aside_oid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::oid", [retention.ASIDE_TABLE])
            return cursor.fetchone()[0]

    made_by_migration = aside_oid()
    run = purge()

    assert remaining() == {held.pk} and partition_of(held) == partitions.DEFAULT_PARTITION
    assert Message.objects.filter(pk=held.pk).values().get() == before
    assert run.partitions_dropped == (CUTOFF.date() - FIRST_DAY).days
    assert made_by_migration is not None and aside_oid() == made_by_migration


@pytest.mark.django_db
def test_after_a_long_pause_the_expired_days_go_a_month_per_transaction(org, postgres, monkeypatch):
    """A purge finding more days expired than PARTITIONS_PER_TRANSACTION (after an outage, or the first night after
    the migration) drops them in several transactions, each within its limit, and misses none."""
    monkeypatch.setattr(retention, "PARTITIONS_PER_TRANSACTION", 4)
    partitions.ensure_partitions(CUTOFF.date() - timedelta(days=10), CUTOFF.date() + timedelta(days=1))
    old = [make_text(org, created_at=CUTOFF - timedelta(days=n, hours=12)) for n in range(1, 11)]
    young = make_text(org, created_at=CUTOFF + timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        run = purge()

    drops = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DROP TABLE")]
    assert [statement.count(",") + 1 for statement in drops] == [4, 4, 2]
    assert remaining() == {young.pk}
    assert (run.partitions_dropped, run.rows_deleted) == (10, len(old))


@pytest.mark.django_db
def test_row_by_row_batches_cross_years_of_gaps_and_stay_bounded(org, days):
    """The row-by-row batches look for their end a widening window at a time: texts years apart (in the default
    partition: a stray three years old, some from weeks before the cutoff; the minutes past midnight) all go, no
    batch deletes more than its size, and nothing younger than the cutoff goes."""
    stray = make_text(org, created_at=CUTOFF - timedelta(days=3 * 365))
    weeks_before = [make_text(org, created_at=CUTOFF - timedelta(days=40, minutes=n)) for n in range(4)]
    straddling = [make_text(org, created_at=CUTOFF - timedelta(minutes=n + 1)) for n in range(5)]
    young = make_text(org, created_at=CUTOFF + timedelta(microseconds=1))
    # Older than the first day partition: both in the default partition, deleted row by row like the minutes.
    assert partition_of(stray) == partition_of(weeks_before[0]) == partitions.DEFAULT_PARTITION
    sizes = []

    run = purge(batch_size=3, progress=lambda r: sizes.append(r.rows_deleted))

    assert remaining() == {young.pk}
    assert run.rows_deleted == 1 + len(weeks_before) + len(straddling)
    steps = [after - before for before, after in zip([0, *sizes], sizes, strict=False)]
    assert steps and max(steps) <= 3


@pytest.mark.django_db
def test_days_kept_by_holds_go_a_whole_day_per_batch_where_they_fit(org, days, officer, texter):
    """Days that holds keep from being dropped are purged whole days to a batch, as many as fit in its size (their
    texts counted exactly, held ones too); a day holding more than a batch goes in pieces of at most a batch, and a
    batch of texts in the default partition stops where the next day begins. Every held text stays and is counted
    once."""
    first = datetime.combine(CUTOFF.date() - timedelta(days=10), datetime.min.time(), tzinfo=UTC)
    held, unheld = [], []
    # Texts per day, (held, not held): three days that fit two and one to a batch of 7, then one of 9.
    for offset, (keep, go) in enumerate([(2, 1), (2, 2), (2, 1), (3, 6)]):
        day = first + timedelta(days=offset, hours=8)
        for n in range(keep + go):
            text = make_text(org, created_at=day + timedelta(minutes=n), user=texter if n < keep else None)
            (held if text.user_id else unheld).append(text)
    # And a stray from years before, in the default partition: its batch ends where the first day begins.
    unheld.append(make_text(org, created_at=CUTOFF - timedelta(days=3 * 365)))
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    batches = []

    run = purge(batch_size=7, progress=lambda r: batches.append(r.rows_deleted + r.kept_by_holds))

    assert remaining() == {text.pk for text in held}
    assert (run.rows_deleted, run.kept_by_holds) == (len(unheld), len(held))
    # Texts passed over per batch: the stray, the first two days, the third, then the fourth in two pieces.
    assert [after - before for before, after in zip([0, *batches], batches, strict=False)] == [1, 7, 3, 7, 2]


@pytest.mark.django_db
def test_many_kept_days_with_dropped_days_between_are_all_purged(org, days, officer, texter):
    """A custodian who texts every other day: the days between are dropped, each kept day goes in a batch of its own,
    and the batches across the gaps between them keep their window bounded (it grew fourfold at every gap, past the
    year 9999 after a dozen of them: OverflowError, every night)."""
    first = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
    held, unheld = [], []
    for offset in range(0, 30, 2):
        day = first + timedelta(days=offset, hours=9)
        held += [make_text(org, created_at=day + timedelta(minutes=n), user=texter) for n in range(2)]
        unheld.append(make_text(org, created_at=day + timedelta(minutes=5)))
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])

    run = purge(batch_size=3)

    assert run.outcome == PurgeRun.Outcome.COMPLETED
    assert remaining() == {text.pk for text in held}
    assert (run.rows_deleted, run.kept_by_holds, run.partitions_dropped) == (len(unheld), len(held), 15)


@pytest.mark.django_db
def test_a_hold_placed_after_the_purge_began_still_keeps_its_texts(org, days, officer, texter, monkeypatch):
    """The purge reads the holds before deciding which days to drop; a hold committed just after that still keeps
    its texts in the days dropped: each drop transaction reads the holds again, under a lock."""
    held = make_text(org, created_at=NOW - timedelta(days=420), user=texter, body="held: placed late")
    for _ in range(30):
        make_text(org, created_at=NOW - timedelta(days=420))
    read_holds = retention._custodians
    first_read = []

    def holds_then_one_placed():
        found = read_holds()
        if not first_read:
            first_read.append(found)  # no hold yet; one is placed the moment after
            place_hold(org, officer, name="Late matter", user_ids=[texter.pk])
        return found

    monkeypatch.setattr(retention, "_custodians", holds_then_one_placed)

    run = purge()

    assert first_read == [None]
    assert remaining() == {held.pk} and partition_of(held) == partitions.DEFAULT_PARTITION
    assert (run.rows_deleted, run.kept_by_holds) == (30, 1)
    assert run.partitions_dropped == (CUTOFF.date() - FIRST_DAY).days


@pytest.mark.django_db
def test_a_day_mostly_under_hold_is_not_dropped_its_other_texts_go_row_by_row(org, days, officer, texter):
    """Moving held texts costs about 25 times deleting one: where holds keep more than about one in 25 of a day, the
    day stays and the purge deletes its other texts row by row; released, the day is dropped."""
    day = NOW - timedelta(days=420)
    held = [make_text(org, created_at=day, user=texter, body="held") for _ in range(3)]
    unheld = [make_text(org, created_at=day, body="not held") for _ in range(5)]
    hold = place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    name = partitions.partition_name(day.date())

    run = purge()

    assert remaining() == {text.pk for text in held}
    assert (run.rows_deleted, run.kept_by_holds) == (len(unheld), len(held))
    assert name in names() and all(partition_of(text) == name for text in held)

    release_hold(hold, officer)
    released = purge()
    assert remaining() == set() and name not in names()
    assert released.rows_deleted == len(held)


def analyze(*days):
    with connection.cursor() as cursor:
        for day in days:
            cursor.execute(f'ANALYZE "{partitions.partition_name(day.date())}"')


@pytest.mark.django_db
def test_analyzed_days_are_judged_on_their_statistics_without_counting_their_texts(org, days, officer, texter):
    """Whether a day is worth dropping comes from its statistics (kept by autovacuum) where it has them: the day
    mostly under hold stays, the day with one held text in 31 goes (its held text moved out), and neither day's
    texts are counted to decide it."""
    mostly_held_day, once_held_day = NOW - timedelta(days=420), NOW - timedelta(days=410)
    mostly_held = [make_text(org, created_at=mostly_held_day, user=texter) for _ in range(3)]
    for _ in range(5):
        make_text(org, created_at=mostly_held_day)
    held_once = make_text(org, created_at=once_held_day, user=texter)
    for _ in range(30):
        make_text(org, created_at=once_held_day)
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])
    analyze(mostly_held_day, once_held_day)
    judged = [partitions.partition_name(day.date()) for day in (mostly_held_day, once_held_day)]

    with CaptureQueriesContext(connection) as queries:
        run = purge()

    assert remaining() == {text.pk for text in [*mostly_held, held_once]}
    assert (run.rows_deleted, run.kept_by_holds) == (5 + 30, 4)
    assert judged[0] in names() and judged[1] not in names()
    assert partition_of(held_once) == partitions.DEFAULT_PARTITION
    counts = [
        q["sql"] for q in queries.captured_queries if "SELECT count(*)" in q["sql"] and "user_id = ANY(" in q["sql"]
    ]
    assert not [statement for statement in counts for name in judged if name in statement]


@pytest.mark.django_db
def test_statistics_that_miss_the_held_texts_cost_time_never_a_held_text(org, days, officer, texter):
    """Statistics taken before a custodian's texts arrived say the day has none: the day is dropped, and every held
    text is still found exactly and kept."""
    day = NOW - timedelta(days=420)
    for _ in range(30):
        make_text(org, created_at=day)
    analyze(day)
    held = [make_text(org, created_at=day, user=texter) for _ in range(20)]
    place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])

    run = purge()

    assert partitions.partition_name(day.date()) not in names()
    assert remaining() == {text.pk for text in held}
    assert all(partition_of(text) == partitions.DEFAULT_PARTITION for text in held)
    assert (run.rows_deleted, run.kept_by_holds) == (30, 20)


@pytest.fixture
def committed_days(postgres):
    """`days`, committed (for a test that needs a second session to see the table), and dropped again after."""
    before = names()
    partitions.ensure_partitions(FIRST_DAY, CUTOFF.date() + timedelta(days=1))
    yield
    with connection.cursor() as cursor:
        for name in names() - before:
            cursor.execute(f'DROP TABLE "{name}"')


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "lock",
    [
        # Another session reads the texts (a long export, say) and holds its lock for the whole purge.
        "LOCK TABLE texting_message IN ACCESS SHARE MODE",
        # Another session is placing a legal hold (as its INSERT would): a drop transaction locks the holds against
        # change, since a hold committed while it runs would otherwise find its texts gone.
        "LOCK TABLE compliance_legalhold IN ROW EXCLUSIVE MODE",
    ],
    ids=["a long read of the texts", "a hold being placed"],
)
def test_a_busy_table_is_purged_row_by_row_instead_of_waiting(org, committed_days, settings, lock):
    """While another session holds a lock a drop transaction needs, the purge waits at most the lock timeout, then
    deletes row by row (which checks the holds at every batch); the next night drops the days."""
    settings.TEXTS_PARTITION_LOCK_TIMEOUT_MS = 100
    expired = [make_text(org, created_at=NOW - timedelta(days=n)) for n in (401, 410, 425)]
    kept = make_text(org, created_at=NOW - timedelta(days=399))
    url = connection.settings_dict
    with psycopg.connect(
        host=url["HOST"] or "127.0.0.1", port=url["PORT"] or 5432, user=url["USER"], dbname=url["NAME"]
    ) as other_session:
        other_session.execute("BEGIN")
        other_session.execute(lock)
        run = purge()
        other_session.execute("ROLLBACK")

    assert run.outcome == PurgeRun.Outcome.COMPLETED
    assert remaining() == {kept.pk}
    assert (run.partitions_dropped, run.rows_deleted) == (0, len(expired))
    assert partitions.partition_name(FIRST_DAY) in names()  # the next night drops them


@pytest.mark.django_db
def test_partitions_are_made_ahead_once_and_take_their_days_texts_from_the_default_partition(org, postgres):
    with time_machine.travel(NOW, tick=False):
        stray = make_text(org, created_at=NOW + timedelta(days=30))
        assert partition_of(stray) == partitions.DEFAULT_PARTITION

        created = partitions.ensure_partitions_ahead()
        assert partitions.partition_name(NOW.date() + timedelta(days=14)) in created
        assert partitions.days_ahead() == 14
        assert partitions.ensure_partitions_ahead() == []  # idempotent

        assert partitions.ensure_partitions(NOW.date(), NOW.date() + timedelta(days=31))
        assert partition_of(stray) == partitions.partition_name((NOW + timedelta(days=30)).date())
        assert remaining() == {stray.pk}


@pytest.mark.django_db
def test_the_beat_task_makes_the_partitions_ahead(postgres):
    from texting.tasks import create_text_partitions

    with time_machine.travel(NOW, tick=False):
        result = create_text_partitions()
    assert result["days_ahead"] == 14 and len(result["created"]) == 15


@pytest.mark.django_db
def test_a_purge_cannot_run_as_of_a_time_to_come(org):
    text = make_text(org, created_at=NOW - timedelta(days=399))
    with pytest.raises(ValueError, match="to come"):
        purge_expired_messages(now=datetime.now(UTC) + timedelta(days=2))
    assert remaining() == {text.pk} and not PurgeRun.objects.exists()


@pytest.mark.django_db
def test_a_text_is_saved_and_reloaded_by_its_id_and_its_day(org, days):
    text = make_text(org, created_at=CUTOFF - timedelta(days=3))
    with CaptureQueriesContext(connection) as queries:
        text.status_detail = "Delivered late"
        text.save(update_fields=["status_detail"])
        text.refresh_from_db()
    assert all('"created_at" =' in q["sql"] for q in queries.captured_queries), queries.captured_queries
    loaded = Message.objects.get(pk=text.pk)
    assert loaded.status_detail == "Delivered late"

    # Moved in time, it moves partition and stays one row.
    loaded.created_at = CUTOFF + timedelta(hours=1)
    loaded.save()
    assert Message.objects.filter(pk=text.pk).count() == 1
    assert partition_of(Message.objects.get(pk=text.pk)) == partitions.partition_name(CUTOFF.date())


def test_partition_names_and_bounds_are_whole_utc_days():
    assert partitions.partition_name(date(2026, 3, 9)) == "texting_message_p20260309"
    assert partitions.day_start(date(2026, 3, 9)) == datetime(2026, 3, 9, tzinfo=UTC)
