"""The purge and legal holds (SPEC.md 9): a text an active hold matches is never deleted, however old; released, it
goes at the next purge. Runs on SQLite and on PostgreSQL (where the batches are time ranges and the same-instant
batches go by physical address): run this file with DATABASE_URL set to both."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from compliance.actions.holds import day_after, day_start, place_hold, release_hold
from compliance.queries import held_text_counts
from portal.models import User
from tests.factories import make_compliance_officer, make_location, make_numbers
from tests.texting.factories import bulk_texts, make_text
from texting.models import Message, PurgeRun
from texting.retention import purge_expired_messages, retention_cutoff

NOW = datetime(2025, 11, 3, 7, 30, tzinfo=UTC)
OLD = NOW - timedelta(days=500)


def purge(**kwargs):
    with time_machine.travel(NOW, tick=False):
        return purge_expired_messages(**kwargs)


def remaining():
    return set(Message.objects.values_list("pk", flat=True))


@pytest.mark.django_db
def test_a_held_text_500_days_old_survives_the_purge_and_goes_after_release(org, officer, texter):
    held = make_text(org, created_at=OLD, user=texter, body="held")
    unheld = make_text(org, created_at=OLD, body="not held")
    hold = place_hold(org, officer, name="Smith v Acme", user_ids=[texter.pk])

    run = purge()
    assert held.pk in remaining() and unheld.pk not in remaining()
    assert (run.outcome, run.rows_deleted, run.kept_by_holds) == (PurgeRun.Outcome.COMPLETED, 1, 1)

    release_hold(hold, officer)
    run = purge()
    assert held.pk not in remaining()
    assert (run.rows_deleted, run.kept_by_holds) == (1, 0)


@pytest.mark.django_db
def test_a_custodian_number_holds_texts_in_and_out_through_it(org, officer):
    number = make_numbers(make_location(org), 1)[0]
    outbound = make_text(org, created_at=OLD, number=number.e164)
    inbound = make_text(org, created_at=OLD, number=number.e164, direction=Message.Direction.INBOUND)
    elsewhere = make_text(org, created_at=OLD, number="+15125550199")
    place_hold(org, officer, name="Number matter", number_ids=[number.pk])
    run = purge()
    assert remaining() == {outbound.pk, inbound.pk} and elsewhere.pk not in remaining()
    assert run.kept_by_holds == 2


@pytest.mark.django_db
def test_the_hold_range_is_exact_and_a_text_matched_twice_counts_once(org, officer, texter):
    number = make_numbers(make_location(org), 1)[0]
    first, last = (OLD - timedelta(days=10)).date(), (OLD + timedelta(days=10)).date()
    before = make_text(org, created_at=day_start(first) - timedelta(microseconds=1), user=texter)
    on_first = make_text(org, created_at=day_start(first), user=texter)
    on_last = make_text(org, created_at=day_after(last) - timedelta(microseconds=1), user=texter, number=number.e164)
    after = make_text(org, created_at=day_after(last), user=texter)
    place_hold(
        org,
        officer,
        name="Ranged",
        user_ids=[texter.pk],
        number_ids=[number.pk],
        held_from=day_start(first),
        held_until=day_after(last),
    )
    run = purge()
    assert remaining() == {on_first.pk, on_last.pk}
    assert before.pk not in remaining() and after.pk not in remaining()
    assert run.kept_by_holds == 2  # on_last is the custodian's and went through the custodian number: once


@pytest.mark.django_db
def test_the_400_day_boundary_stays_exact_with_holds_present(org, officer, texter):
    place_hold(org, officer, name="Unrelated", user_ids=[texter.pk])
    held_old = make_text(org, created_at=NOW - timedelta(days=900), user=texter)
    stays = make_text(org, created_at=NOW - timedelta(days=399, hours=23))
    exactly = make_text(org, created_at=NOW - timedelta(days=400))
    goes = make_text(org, created_at=NOW - timedelta(days=400, microseconds=1))
    run = purge()
    assert remaining() == {held_old.pk, stays.pk, exactly.pk}
    assert goes.pk not in remaining()
    assert run.cutoff == retention_cutoff(NOW) and run.rows_deleted == 1 and run.kept_by_holds == 1


@pytest.mark.django_db
def test_another_organisations_hold_keeps_nothing_here(org, other_org, texter):
    other_officer = make_compliance_officer(other_org, role=User.Role.FULL_ADMIN, email="officer@globex.test")
    other_number = make_numbers(make_location(other_org), 1, start=7)[0]
    # A text of ours that claims the other organisation's number (a refused sender is stored as typed).
    ours = make_text(org, created_at=OLD, number=other_number.e164)
    theirs = make_text(other_org, created_at=OLD, number=other_number.e164)
    place_hold(other_org, other_officer, name="Theirs", number_ids=[other_number.pk])
    run = purge()
    assert remaining() == {theirs.pk} and ours.pk not in remaining()
    assert run.kept_by_holds == 1


@pytest.mark.django_db
def test_batches_walk_past_held_texts_and_count_them(org, officer, texter):
    """Held texts among and between batches, and more held texts at one instant than a batch holds: every
    deletable text goes, every held one stays, the run completes and counts what it kept."""
    same = NOW - timedelta(days=450)
    held = [make_text(org, created_at=same, user=texter) for _ in range(13)]
    bulk_texts(org, 4, created_at=same)  # deletable texts at the same instant as the held ones
    bulk_texts(org, 12, created_at=same - timedelta(seconds=5))
    held += [make_text(org, created_at=same + timedelta(seconds=s), user=texter) for s in range(1, 6)]
    bulk_texts(org, 7, created_at=same + timedelta(seconds=9))
    young = make_text(org)
    place_hold(org, officer, name="Many", user_ids=[texter.pk])
    run = purge(batch_size=5)
    assert remaining() == {t.pk for t in held} | {young.pk}
    assert run.outcome == PurgeRun.Outcome.COMPLETED and run.rows_deleted == 23 and run.kept_by_holds == 18


@pytest.mark.django_db
def test_a_stopped_run_with_only_held_texts_left_completes_next_time(org, officer, texter):
    bulk_texts(org, 6, created_at=OLD - timedelta(days=1))
    held = make_text(org, created_at=OLD, user=texter)
    place_hold(org, officer, name="One", user_ids=[texter.pk])
    first = purge(batch_size=3, max_batches=2)
    # Everything deletable went in the two batches; what is left is held, so the run is complete, not stopped.
    assert first.outcome == PurgeRun.Outcome.COMPLETED and first.rows_deleted == 6
    assert remaining() == {held.pk}


@pytest.mark.django_db
def test_a_dry_run_counts_what_would_go_and_what_holds_keep(org, officer, texter):
    make_text(org, created_at=OLD, user=texter)
    make_text(org, created_at=OLD)
    make_text(org, created_at=OLD)
    place_hold(org, officer, name="Dry", user_ids=[texter.pk])
    run = purge(dry_run=True)
    assert (run.rows_matched, run.kept_by_holds, run.rows_deleted) == (2, 1, 0)
    assert Message.objects.count() == 3


@pytest.mark.django_db
def test_the_hold_page_count_agrees_with_what_the_purge_keeps(org, officer, texter):
    number = make_numbers(make_location(org), 1)[0]
    make_text(org, created_at=OLD, user=texter)
    make_text(org, created_at=OLD, user=texter, number=number.e164)
    make_text(org, created_at=OLD, number=number.e164)
    make_text(org, user=texter)  # young: held, not yet expired
    hold = place_hold(org, officer, name="Both", user_ids=[texter.pk], number_ids=[number.pk])
    with time_machine.travel(NOW, tick=False):
        assert held_text_counts([hold.pk], retention_cutoff()) == {hold.pk: (4, 3)}
    assert purge().kept_by_holds == 3


@pytest.mark.django_db
def test_the_command_says_what_the_holds_kept(org, officer, texter):
    import io

    from django.core.management import call_command

    make_text(org, created_at=OLD, user=texter)
    make_text(org, created_at=OLD)
    place_hold(org, officer, name="Command", user_ids=[texter.pk])
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired_messages", "--dry-run", stdout=out)
        call_command("purge_expired_messages", stdout=out)
    assert "Dry run: 1 texts are older than" in out.getvalue() and "1 more are kept by legal holds." in out.getvalue()
    assert (
        "1 texts older than" in out.getvalue()
        and "1 expired texts were kept: legal holds cover them." in out.getvalue()
    )
    assert Message.objects.count() == 1
