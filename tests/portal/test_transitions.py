"""One locked-transition helper for every state machine (portal.transitions) and one family of refusals: an order,
a case and a text each refuse a move their table does not allow with an ActionRefused saying why, changing nothing."""

import uuid

import pytest

from compliance.actions import transition as move_case
from compliance.models import RegistrationCase
from portal.models import AuditEvent
from portal.transitions import ActionRefused, TransitionRefused
from provisioning.actions import set_order_status
from provisioning.models import AuthorisationOrder
from tests.compliance.factories import make_case
from tests.factories import make_location

pytestmark = pytest.mark.django_db
Status = AuthorisationOrder.Status


def make_order(org, status=Status.PLACED):
    return AuthorisationOrder.objects.create(
        organisation=org, location=make_location(org), submission_token=uuid.uuid4(), number_count=1, status=status
    )


def test_a_completed_order_cannot_go_back_to_submitted_and_nothing_changes(org):
    order = make_order(org)
    set_order_status(order.pk, Status.COMPLETED)
    before = AuthorisationOrder.objects.filter(pk=order.pk).values().get()

    with pytest.raises(TransitionRefused) as refused:
        set_order_status(order.pk, Status.SUBMITTED)

    assert isinstance(refused.value, ActionRefused)
    assert str(refused.value) == "This authorisation order is completed: it cannot become submitted to carrier."
    assert AuthorisationOrder.objects.filter(pk=order.pk).values().get() == before


def test_completing_an_order_twice_records_it_once(org):
    order = make_order(org, Status.SUBMITTED)
    first = set_order_status(order.pk, Status.COMPLETED).completed_at
    assert set_order_status(order.pk, Status.COMPLETED).completed_at == first
    assert AuditEvent.objects.filter(action="authorisation_order.completed").count() == 1


def test_a_refused_case_move_is_an_action_refused_with_the_case_s_own_words(org, support):
    case = make_case(org, RegistrationCase.State.COMPLETED)
    with pytest.raises(ActionRefused, match="This case is in 'Completed'"):
        move_case(case, RegistrationCase.State.OPENED, support)
    assert RegistrationCase.objects.get(pk=case.pk).state == RegistrationCase.State.COMPLETED
