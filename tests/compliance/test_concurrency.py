"""Two support staff acting on the same case at the same moment, on PostgreSQL (real row locks, two connections):
one wins, the other is refused with the state the case is now in, and nothing is applied twice."""

import threading

import pytest
from django.db import connection, transaction

from compliance import actions
from compliance.actions import CaseRefused
from compliance.models import CaseEvent, RegistrationCase
from portal.models import AuditEvent, User
from tests.factories import make_user

from .factories import make_case

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
State = RegistrationCase.State


def in_thread(target, results, key):
    def run():
        try:
            results[key] = target()
        except CaseRefused as refused:
            results[key] = refused
        finally:
            connection.close()  # each thread has its own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_the_second_of_two_overlapping_decisions_waits_for_the_lock_then_is_refused(postgres, org):
    alice = make_user(None, role=User.Role.SUPPORT)
    bob = make_user(None, role=User.Role.SUPPORT)
    case = make_case(org, State.BRAND_SUBMITTED)
    locked, release, results = threading.Event(), threading.Event(), {}

    def alice_approves():
        with transaction.atomic():  # holds the row lock until Bob has started waiting for it
            moved = actions.record_brand_decision(case, alice, approved=True, expected=State.BRAND_SUBMITTED)
            locked.set()
            release.wait(5)
        return moved

    def bob_rejects():
        return actions.record_brand_decision(
            RegistrationCase.objects.get(pk=case.pk),
            bob,
            approved=False,
            reason="Mismatch",
            expected=State.BRAND_SUBMITTED,
        )

    first = in_thread(alice_approves, results, "alice")
    assert locked.wait(5)
    second = in_thread(bob_rejects, results, "bob")
    second.join(0.5)
    assert second.is_alive(), "Bob should be waiting for Alice's row lock"
    release.set()
    first.join(5)
    second.join(5)

    assert isinstance(results["alice"], RegistrationCase)
    assert isinstance(results["bob"], CaseRefused)
    assert "it is now in 'Brand approved'" in str(results["bob"])
    case.refresh_from_db()
    assert case.state == State.BRAND_APPROVED and case.brand.reason == ""
    assert AuditEvent.objects.filter(action__startswith="registration_case.brand_").count() == 1
    assert CaseEvent.objects.filter(case=case, kind="transition").count() == 1


@pytest.mark.parametrize("attempt", range(3))
def test_two_simultaneous_clicks_one_wins(postgres, org, attempt):
    staff = [make_user(None, role=User.Role.SUPPORT) for _ in range(2)]
    case = make_case(org, State.OPENED)
    start, results = threading.Barrier(2), {}

    def send(user):
        def act():
            start.wait(5)
            return actions.send_registration_form(RegistrationCase.objects.get(pk=case.pk), user, expected=State.OPENED)

        return act

    threads = [in_thread(send(user), results, i) for i, user in enumerate(staff)]
    for thread in threads:
        thread.join(10)
    outcomes = sorted(type(result).__name__ for result in results.values())
    assert outcomes == ["CaseRefused", "RegistrationCase"]
    refusal = next(result for result in results.values() if isinstance(result, CaseRefused))
    assert "it is now in 'Form sent'" in str(refusal)
    case.refresh_from_db()
    assert case.state == State.FORM_SENT
    assert CaseEvent.objects.filter(case=case, to_state=State.FORM_SENT).count() == 1
    assert AuditEvent.objects.filter(action="registration_case.form_sent").count() == 1
    assert case.registration is not None
