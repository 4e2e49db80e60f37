"""Every task that talks to the carrier shares one base (portal.tasks.CarrierTask): a real worker retries a carrier
that answers 503 with backoff, reusing the idempotency key, and after the last retry gives up cleanly, leaving what
the user sees consistent and explained: the order's numbers failed with the reason, the case waiting with a note
for support, the text failed with the reason."""

import time
import uuid

import pytest

from compliance import actions as compliance_actions
from compliance.models import RegistrationCase
from portal.tasks import backoff
from provisioning.actions import place_authorisation_order
from provisioning.models import AuthorisationOrder, OrderLine, PhoneNumber
from tests.compliance.factories import make_case
from tests.factories import make_location, make_numbers
from tests.texting.factories import make_texter, send
from texting.models import Message

RETRIES = 2


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def attempts(carrier, path):
    """Tries at the carrier: the first send, then each retry's send (texts: same idempotency key) or lookup by
    reference before sending again (orders, brands: the first send may have arrived)."""
    requests = carrier.stats()["requests"]
    return requests.get(f"POST {path}", 0) + requests.get(f"GET {path}", 0)


@pytest.fixture
def carrier_down(carrier_sim, settings, celery_worker):
    """A real worker, and a carrier that answers every request 503 (before doing anything)."""
    settings.CARRIER_RETRY_BASE_SECONDS = settings.AUTHORISATION_RETRY_BASE_SECONDS = 0.05
    settings.AUTHORISATION_MAX_RETRIES = settings.REGISTRATION_MAX_RETRIES = RETRIES
    settings.TEXTING_SEND_MAX_RETRIES = RETRIES
    carrier_sim.set_faults(error_rate=1.0)
    return carrier_sim


pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_an_order_the_carrier_never_answers_fails_its_numbers_with_the_reason(admin, org, carrier_down):
    numbers = make_numbers(make_location(org, "Down Site"), 3, start=1)
    order, _ = place_authorisation_order(org, admin, numbers[0].location, [n.pk for n in numbers], str(uuid.uuid4()))

    assert wait_for(lambda: not AuthorisationOrder.objects.get(pk=order.pk).is_open)
    reasons = set(OrderLine.objects.filter(order=order).values_list("state", "reason"))
    assert reasons == {
        (
            OrderLine.State.FAILED,
            "The carrier could not be reached after 3 attempts. Authorize these numbers again later.",
        )
    }
    assert set(PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).values_list("texting_state", flat=True)) == {
        PhoneNumber.TextingState.FAILED
    }
    assert attempts(carrier_down, "/v1/number-orders") == RETRIES + 1
    assert carrier_down.stats()["requests"]["POST /v1/number-orders"] == 1
    assert carrier_down.stats()["writes_created"]["orders"] == 0


def test_a_brand_the_carrier_never_answers_leaves_the_case_waiting_and_tells_support(org, support, carrier_down):
    case = make_case(org, RegistrationCase.State.FORM_SUBMITTED, brand_registry_id="", form={})
    compliance_actions.submit_brand(case, support)

    assert wait_for(lambda: RegistrationCase.objects.get(pk=case.pk).carrier_problem)
    case.refresh_from_db()
    assert case.state == RegistrationCase.State.BRAND_SUBMITTED
    assert case.carrier_problem.startswith(f"The carrier could not be reached after {RETRIES} retries")
    assert attempts(carrier_down, "/v1/brands") == RETRIES + 1
    assert carrier_down.stats()["requests"]["POST /v1/brands"] == 1


def test_a_text_the_carrier_never_answers_ends_failed_with_the_reason(admin, carrier_down):
    user, _ = make_texter(admin.organisation)
    message = send(user)

    assert wait_for(lambda: Message.objects.get(pk=message.pk).status == Message.Status.FAILED)
    message.refresh_from_db()
    assert message.status_detail.startswith("The carrier could not be reached")
    assert message.carrier_message_id == ""
    assert carrier_down.stats()["requests"]["POST /v1/messages"] == RETRIES + 1


@pytest.mark.parametrize("retries", range(12))
def test_the_wait_before_a_retry_doubles_with_jitter_up_to_the_cap(retries):
    full = min(300.0, 2.0 * 2**retries)
    waits = [backoff(retries, 2.0, 300.0) for _ in range(200)]
    assert all(full / 2 <= wait <= full for wait in waits)
    assert len(set(waits)) > 1  # jittered: retries of many tasks do not arrive together
