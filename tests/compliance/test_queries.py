"""What other apps ask of registration cases: the campaign's HELP and opt-out replies for a registered number."""

import pytest

from compliance.models import RegistrationCase
from compliance.queries import help_reply_for_number, numbers_available_for_case, opt_out_reply_for_number
from provisioning.models import PhoneNumber

from .factories import VALID_FORM, make_authorised_numbers, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State


def test_replies_of_the_campaign_a_number_is_registered_in(org):
    numbers = make_authorised_numbers(org, 2)
    make_case(org, State.COMPLETED, numbers=numbers)
    registered = PhoneNumber.objects.get(pk=numbers[0].pk)
    assert registered.texting_state == PhoneNumber.TextingState.REGISTERED
    assert help_reply_for_number(registered) == VALID_FORM["help_message"]
    assert help_reply_for_number(registered.e164) == VALID_FORM["help_message"]
    assert opt_out_reply_for_number(registered) == VALID_FORM["opt_out_message"]


def test_no_reply_for_a_number_not_registered_in_a_campaign(org):
    in_open_case = make_authorised_numbers(org, 1)
    make_case(org, State.CAMPAIGN_APPROVED, numbers=in_open_case)
    cancelled = make_authorised_numbers(org, 1)
    make_case(org, State.CANCELLED, numbers=cancelled, form={})
    loose = make_authorised_numbers(org, 1)
    for number in in_open_case + cancelled + loose:
        assert help_reply_for_number(number) is None
        assert opt_out_reply_for_number(number.e164) is None
    assert help_reply_for_number("+14155550199") is None


def test_numbers_available_for_a_new_case(org, other_org):
    free, taken, registered = (make_authorised_numbers(org, 2) for _ in range(3))
    make_case(org, State.BRAND_SUBMITTED, numbers=taken)
    make_case(org, State.COMPLETED, numbers=registered)
    make_case(org, State.CANCELLED, numbers=[free[1]])  # a cancelled case frees its numbers
    make_authorised_numbers(other_org, 2)
    assert set(numbers_available_for_case(org)) == set(free)
