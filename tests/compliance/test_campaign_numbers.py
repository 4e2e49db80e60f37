"""Numbers joining and leaving campaigns (compliance.actions.numbers) against the carrier simulator over real HTTP:
per-number answers, failures with the carrier's reason, retries, removal, de-authorising, polling, refusals that
change nothing, and the round trip through a real Celery worker."""

import time
import uuid

import pytest

from carrier import CampaignNumberStatus
from carrier.simulator.rules import NUMBER_IN_ANOTHER_CAMPAIGN
from compliance import tasks
from compliance.actions import numbers as actions
from compliance.models import CampaignNumber, RegistrationCase
from portal.models import AuditEvent
from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber
from tests.factories import make_location, make_numbers

from .campaign_helpers import make_campaign, registered_campaign
from .factories import make_authorised_numbers

Status = CampaignNumber.Status
TextingState = PhoneNumber.TextingState


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks actions enqueue after commit (in-process: Celery is eager by default in tests)."""

    def run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return run


def statuses(campaign):
    return {cn.number.e164: (cn.status, cn.reason) for cn in campaign.campaign_numbers.select_related("number")}


def texting(numbers):
    return {n.e164: n.texting_state for n in PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers])}


def registry_posts(stats):
    return stats["requests"].get("POST /v1/brands", 0), stats["requests"].get("POST /v1/campaigns", 0)


@pytest.mark.django_db
def test_numbers_join_an_existing_campaign_without_a_new_brand_or_campaign(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    before = carrier_sim.stats()
    numbers = make_authorised_numbers(org, 3)

    run_on_commit(actions.assign_numbers_to_campaign, campaign, numbers, by=admin)

    assert set(statuses(campaign).values()) == {(Status.ASSIGNED, "")}
    assert set(texting(numbers).values()) == {TextingState.REGISTERED}
    after = carrier_sim.stats()
    # Adding numbers to an approved campaign registers nothing new: 0 brand and 0 campaign submissions.
    assert registry_posts(after) == registry_posts(before)
    assert after["writes_created"]["brands"] == before["writes_created"]["brands"] == 1
    assert after["writes_created"]["campaigns"] == before["writes_created"]["campaigns"] == 1
    assert after["requests"]["POST /v1/campaigns/{id}/numbers"] == 1
    assert AuditEvent.objects.filter(action="campaign.numbers_assignment_requested", actor=admin).count() == 1
    assert AuditEvent.objects.filter(action="campaign.numbers_assigned").count() == 1


@pytest.mark.django_db
def test_a_number_the_carrier_refuses_fails_alone_with_the_carriers_reason(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    location = make_location(org)
    good = make_numbers(location, 2, texting_state=TextingState.AUTHORISED)
    bad = make_numbers(location, 1, start=9999, texting_state=TextingState.AUTHORISED)

    run_on_commit(actions.assign_numbers_to_campaign, campaign, good + bad, by=admin)

    shown = statuses(campaign)
    assert shown[bad[0].e164] == (Status.FAILED_ASSIGNMENT, NUMBER_IN_ANOTHER_CAMPAIGN)
    assert {shown[n.e164] for n in good} == {(Status.ASSIGNED, "")}
    assert texting(bad) == {bad[0].e164: TextingState.AUTHORISED}  # not registered: it cannot text yet


@pytest.mark.django_db
def test_a_failed_assignment_is_retried_and_then_assigned(carrier_sim, org, admin, support, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    bad = make_numbers(make_location(org), 1, start=9999, texting_state=TextingState.AUTHORISED)
    run_on_commit(actions.assign_numbers_to_campaign, campaign, bad, by=admin)
    failed = campaign.campaign_numbers.get()
    assert failed.status == Status.FAILED_ASSIGNMENT

    carrier_sim.set_faults(assignment_failures=False)  # the customer released the number at the other provider
    run_on_commit(actions.retry_assignment, [failed], admin)

    failed.refresh_from_db()
    assert (failed.status, failed.reason) == (Status.ASSIGNED, "")
    assert texting(bad) == {bad[0].e164: TextingState.REGISTERED}
    assert carrier_sim.stats()["requests"]["POST /v1/campaigns/{id}/numbers"] == 2
    assert AuditEvent.objects.filter(action="campaign.numbers_assignment_retried", actor=admin).exists()


@pytest.mark.django_db
def test_only_a_failed_assignment_can_be_retried_and_only_by_its_organisation(org, other_org, admin, readonly):
    campaign = make_campaign(org)
    numbers = make_authorised_numbers(org, 1)
    (row,) = actions.assign_numbers_to_campaign(campaign, numbers, by=admin)
    with pytest.raises(actions.NumbersRefused, match="only a failed assignment can be retried"):
        actions.retry_assignment([row], admin)
    CampaignNumber.objects.filter(pk=row.pk).update(status=Status.FAILED_ASSIGNMENT, reason="No")
    from tests.factories import make_user

    stranger = make_user(other_org, email="admin@globex.test")
    for who in (stranger, readonly):
        with pytest.raises(actions.NumbersRefused, match="Only full administrators"):
            actions.retry_assignment([row], who)
    row.refresh_from_db()
    assert row.status == Status.FAILED_ASSIGNMENT


@pytest.mark.django_db
def test_assignment_waits_for_the_carrier_and_the_periodic_poll_picks_it_up(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    carrier_sim.set_faults(delay_seconds=3600)  # the real operators take about two hours
    numbers = make_authorised_numbers(org, 2)
    run_on_commit(actions.assign_numbers_to_campaign, campaign, numbers, by=admin)
    assert set(statuses(campaign).values()) == {(Status.PENDING_ASSIGNMENT, "")}
    assert tasks.poll_campaign_assignments.delay().get() == 1
    assert set(statuses(campaign).values()) == {(Status.PENDING_ASSIGNMENT, "")}  # still pending at the carrier

    carrier_sim.decide_pending()
    tasks.poll_campaign_assignments.delay()
    assert set(statuses(campaign).values()) == {(Status.ASSIGNED, "")}
    assert set(texting(numbers).values()) == {TextingState.REGISTERED}
    assert tasks.poll_campaign_assignments.delay().get() == 0  # nothing left waiting


@pytest.mark.django_db
def test_a_lost_request_is_sent_again_by_the_poll(carrier_sim, org, admin):
    campaign = registered_campaign(org, carrier_sim)
    numbers = make_authorised_numbers(org, 2)
    actions.assign_numbers_to_campaign(campaign, numbers, by=admin)  # committed, but the task never ran (no broker)
    assert set(statuses(campaign).values()) == {(Status.PENDING_ASSIGNMENT, "")}
    tasks.poll_campaign_assignments.delay()
    assert set(statuses(campaign).values()) == {(Status.ASSIGNED, "")}


@pytest.mark.django_db
def test_duplicate_answers_change_nothing(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    numbers = make_authorised_numbers(org, 2)
    run_on_commit(actions.assign_numbers_to_campaign, campaign, numbers, by=admin)
    events = AuditEvent.objects.count()
    from carrier import get_gateway

    answers = get_gateway().get_campaign_numbers(campaign.registry_id)
    assert actions.apply_campaign_number_statuses(campaign.pk, answers) == 0
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_numbers_leave_a_campaign_through_the_carrier(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    numbers = make_authorised_numbers(org, 3)
    run_on_commit(actions.assign_numbers_to_campaign, campaign, numbers, by=admin)
    carrier_sim.set_faults(delay_seconds=3600)

    run_on_commit(actions.remove_numbers_from_campaign, campaign, numbers[:2], by=admin)
    shown = statuses(campaign)
    assert [shown[n.e164][0] for n in numbers] == [Status.PENDING_REMOVAL, Status.PENDING_REMOVAL, Status.ASSIGNED]

    carrier_sim.decide_pending()
    tasks.poll_campaign_assignments.delay()
    shown = statuses(campaign)
    assert [shown[n.e164][0] for n in numbers] == [Status.REMOVED, Status.REMOVED, Status.ASSIGNED]
    assert list(texting(numbers).values()) == [
        TextingState.AUTHORISED,
        TextingState.AUTHORISED,
        TextingState.REGISTERED,
    ]
    assert carrier_sim.stats()["requests"]["POST /v1/campaigns/{id}/numbers/remove"] == 1

    # A removed number may join a campaign again (its old membership is history).
    run_on_commit(actions.assign_numbers_to_campaign, campaign, numbers[:1], by=admin)
    assert campaign.campaign_numbers.filter(number=numbers[0]).count() == 2


@pytest.mark.django_db
def test_removing_a_number_not_in_the_campaign_is_refused(org, admin):
    campaign = make_campaign(org)
    numbers = make_authorised_numbers(org, 2)
    actions.assign_numbers_to_campaign(campaign, numbers[:1], by=admin)
    with pytest.raises(actions.NumbersRefused, match="is not in campaign"):
        actions.remove_numbers_from_campaign(campaign, numbers, by=admin)
    assert statuses(campaign) == {numbers[0].e164: (Status.PENDING_ASSIGNMENT, "")}


# --- refusals: a clear sentence, nothing saved -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_number_of_another_organisation_is_refused_and_nothing_is_saved(org, other_org, admin):
    campaign = make_campaign(org)
    mine = make_authorised_numbers(org, 2)
    theirs = make_authorised_numbers(other_org, 1)
    events = AuditEvent.objects.count()
    with pytest.raises(actions.NumbersRefused, match="not numbers of your organisation"):
        actions.assign_numbers_to_campaign(campaign, mine + theirs, by=admin)
    assert not CampaignNumber.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_50th_number_needs_the_number_pool_flag(org, admin):
    campaign = make_campaign(org)
    location = make_location(org)
    numbers = make_numbers(location, 50, texting_state=TextingState.AUTHORISED)
    actions.assign_numbers_to_campaign(campaign, numbers[:49], by=admin)
    with pytest.raises(actions.NumbersRefused, match="a 50th number needs the number-pool flag"):
        actions.assign_numbers_to_campaign(campaign, numbers[49:], by=admin)
    assert campaign.campaign_numbers.count() == 49

    campaign.is_number_pool = True
    campaign.save(update_fields=["is_number_pool"])
    actions.assign_numbers_to_campaign(campaign, numbers[49:], by=admin)
    assert campaign.campaign_numbers.count() == 50


@pytest.mark.django_db
def test_fifty_numbers_at_once_without_the_flag_are_refused(org, admin):
    campaign = make_campaign(org)
    numbers = make_numbers(make_location(org), 50, texting_state=TextingState.AUTHORISED)
    with pytest.raises(actions.NumbersRefused, match="would hold 50 numbers"):
        actions.assign_numbers_to_campaign(campaign, numbers, by=admin)
    assert not CampaignNumber.objects.exists()


@pytest.mark.django_db
def test_numbers_not_authorised_or_in_another_campaign_are_refused(org, admin):
    campaign, other = make_campaign(org), make_campaign(org, registry_id="CNUM002")
    location = make_location(org)
    unauthorised = make_numbers(location, 1)
    taken = make_numbers(location, 1, start=10, texting_state=TextingState.AUTHORISED)
    actions.assign_numbers_to_campaign(other, taken, by=admin)
    with pytest.raises(actions.NumbersRefused, match="is not authorised for Business Texting"):
        actions.assign_numbers_to_campaign(campaign, unauthorised, by=admin)
    with pytest.raises(actions.NumbersRefused, match=r"is already in a campaign \(Customer care"):
        actions.assign_numbers_to_campaign(campaign, taken, by=admin)
    assert not campaign.campaign_numbers.exists()


@pytest.mark.django_db
def test_a_campaign_that_is_not_active_takes_no_numbers(org, admin):
    campaign = make_campaign(org, status="suspended")
    with pytest.raises(actions.NumbersRefused, match="numbers can join only an active campaign"):
        actions.assign_numbers_to_campaign(campaign, make_authorised_numbers(org, 1), by=admin)
    assert not CampaignNumber.objects.exists()


# --- de-authorising ------------------------------------------------------------------------------------------------


def open_order(org, admin, numbers):
    location = numbers[0].location
    order = AuthorisationOrder.objects.create(
        organisation=org, location=location, placed_by=admin, submission_token=uuid.uuid4(), number_count=len(numbers)
    )
    chunk = OrderChunk.objects.create(order=order, index=0)
    OrderLine.objects.bulk_create([OrderLine(order=order, chunk=chunk, number=n) for n in numbers])
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(texting_state=TextingState.PENDING)
    return order


@pytest.mark.django_db
def test_deauthorising_a_number_in_an_open_order_is_refused_and_changes_nothing(org, admin):
    free = make_authorised_numbers(org, 1)
    ordered = make_numbers(make_location(org), 1)
    order = open_order(org, admin, ordered)
    with pytest.raises(actions.NumbersRefused, match=rf"open authorisation order \(#{order.pk}\)"):
        actions.deauthorise_numbers(org, free + ordered, by=admin)
    assert texting(free + ordered) == {free[0].e164: TextingState.AUTHORISED, ordered[0].e164: TextingState.PENDING}
    assert not AuditEvent.objects.filter(action="numbers.deauthorised").exists()


@pytest.mark.django_db
def test_a_number_in_a_campaign_leaves_it_first_then_is_not_authorised(carrier_sim, org, admin, run_on_commit):
    campaign = registered_campaign(org, carrier_sim)
    in_campaign = make_authorised_numbers(org, 2)
    run_on_commit(actions.assign_numbers_to_campaign, campaign, in_campaign, by=admin)
    free = make_authorised_numbers(org, 1)
    carrier_sim.set_faults(delay_seconds=3600)

    counts = run_on_commit(actions.deauthorise_numbers, org, in_campaign + free, by=admin)

    assert counts == {"now": 1, "leaving": 2}
    assert texting(free) == {free[0].e164: TextingState.NOT_AUTHORISED}
    assert set(texting(in_campaign).values()) == {TextingState.REGISTERED}  # still in the campaign at the carrier
    assert {s for s, _r in statuses(campaign).values()} == {Status.PENDING_REMOVAL}
    carrier_sim.decide_pending()
    tasks.poll_campaign_assignments.delay()
    assert {s for s, _r in statuses(campaign).values()} == {Status.REMOVED}
    assert set(texting(in_campaign).values()) == {TextingState.NOT_AUTHORISED}
    event = AuditEvent.objects.get(action="numbers.deauthorised")
    assert event.actor == admin and event.details["numbers"] == 3


@pytest.mark.django_db
def test_deauthorising_a_number_that_is_not_authorised_is_refused(org, admin):
    numbers = make_numbers(make_location(org), 1)
    with pytest.raises(actions.NumbersRefused, match="nothing to de-authorise"):
        actions.deauthorise_numbers(org, numbers, by=admin)


@pytest.mark.django_db
def test_only_a_full_administrator_deauthorises(org, readonly):
    numbers = make_authorised_numbers(org, 1)
    with pytest.raises(actions.NumbersRefused, match="Only full administrators"):
        actions.deauthorise_numbers(org, numbers, by=readonly)
    assert texting(numbers) == {numbers[0].e164: TextingState.AUTHORISED}


# --- the case flow -------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_settled_for_adding_and_removing_cases(org, admin):
    from .factories import make_case

    campaign = make_campaign(org)
    numbers = make_authorised_numbers(org, 2)
    add = make_case(org, numbers=numbers, kind=RegistrationCase.Kind.ADD_NUMBERS)
    rows = actions.assign_numbers_to_campaign(campaign, numbers, by=admin, case=add)
    assert not actions.numbers_settled(add)
    actions.apply_campaign_number_statuses(campaign.pk, [CampaignNumberStatus(numbers[0].e164, "ASSIGNED")])
    assert not actions.numbers_settled(add)
    actions.apply_campaign_number_statuses(
        campaign.pk, [CampaignNumberStatus(numbers[1].e164, "FAILED_ASSIGNMENT", "No")]
    )
    assert not actions.numbers_settled(add)  # a failed assignment waits for a retry
    CampaignNumber.objects.filter(pk=rows[1].pk).update(status=Status.ASSIGNED)
    assert actions.numbers_settled(add)

    remove = make_case(org, numbers=[], kind=RegistrationCase.Kind.REMOVE_NUMBERS)
    actions.remove_numbers_from_campaign(campaign, numbers, by=admin, case=remove)
    assert not actions.numbers_settled(remove)
    actions.apply_campaign_number_statuses(campaign.pk, [CampaignNumberStatus(n.e164, "UNASSIGNED") for n in numbers])
    assert actions.numbers_settled(remove)


# --- a real worker -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_assignment_through_a_real_worker_with_a_flaky_carrier(celery_worker, carrier_sim, org, admin):
    campaign = registered_campaign(org, carrier_sim)
    carrier_sim.set_faults(delay_seconds=0.3, error_rate=0.2, seed=5)
    before = carrier_sim.stats()
    location = make_location(org)
    good = make_numbers(location, 3, texting_state=TextingState.AUTHORISED)
    bad = make_numbers(location, 1, start=9999, texting_state=TextingState.AUTHORISED)

    actions.assign_numbers_to_campaign(campaign, good + bad, by=admin)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not campaign.campaign_numbers.filter(status=Status.PENDING_ASSIGNMENT).exists():
            break
        tasks.poll_campaign_assignments.delay()  # as beat would (the carrier decides after 0.3 s)
        time.sleep(0.3)
    shown = statuses(campaign)
    assert {shown[n.e164] for n in good} == {(Status.ASSIGNED, "")}
    assert shown[bad[0].e164] == (Status.FAILED_ASSIGNMENT, NUMBER_IN_ANOTHER_CAMPAIGN)
    assert set(texting(good).values()) == {TextingState.REGISTERED}
    after = carrier_sim.stats()
    assert registry_posts(after) == registry_posts(before)


# --- two administrators at once (PostgreSQL row locks) -------------------------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_admins_adding_the_49th_and_50th_number_at_once_one_is_refused(postgres, org, admin):
    import threading

    from django.db import connection, transaction

    campaign = make_campaign(org)
    numbers = make_numbers(make_location(org), 50, texting_state=TextingState.AUTHORISED)
    actions.assign_numbers_to_campaign(campaign, numbers[:48], by=admin)
    locked, release, results = threading.Event(), threading.Event(), {}

    def run(key, target):
        def body():
            try:
                results[key] = target()
            except actions.NumbersRefused as refused:
                results[key] = refused
            finally:
                connection.close()

        thread = threading.Thread(target=body)
        thread.start()
        return thread

    def first():
        with transaction.atomic():  # holds the campaign's lock until the second has started waiting for it
            added = actions.assign_numbers_to_campaign(campaign, numbers[48:49], by=admin)
            locked.set()
            release.wait(5)
        return added

    one = run("first", first)
    assert locked.wait(5)
    two = run("second", lambda: actions.assign_numbers_to_campaign(campaign, numbers[49:], by=admin))
    two.join(0.5)
    assert two.is_alive(), "the second should wait for the campaign's lock"
    release.set()
    one.join(5)
    two.join(5)
    assert len(results["first"]) == 1
    assert isinstance(results["second"], actions.NumbersRefused) and "50th" in str(results["second"])
    assert campaign.campaign_numbers.count() == 49
