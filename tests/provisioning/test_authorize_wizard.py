"""Authorize Business Texting: choose a location, select numbers (surviving paging and search), read the order
summary, submit. Every invalid input gets a message and changes nothing."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent, User
from provisioning.models import AuthorisationOrder, Location, OrderLine, PhoneNumber, WizardSelectedNumber
from provisioning.wizard import SESSION_KEY
from tests.factories import make_location, make_numbers, make_org, make_user
from tests.security.world import answer

pytestmark = pytest.mark.django_db

AUTHORIZE = reverse("provisioning:authorize")
SELECT = reverse("provisioning:authorize_selection")
SUMMARY = reverse("provisioning:authorize_summary")
SUBMIT = reverse("provisioning:authorize_submit")


@pytest.fixture
def numbers(location):
    return make_numbers(location, 120)


def selected_ids(client):
    """The numbers ticked in the client's current wizard (the session names it; its rows are in the database)."""
    token = client.session.get(SESSION_KEY)
    rows = WizardSelectedNumber.objects.filter(selection__token=token) if token else WizardSelectedNumber.objects.none()
    return set(rows.values_list("number_id", flat=True))


def toggle(client, location, number, checked=True):
    data = {"op": "toggle", "location": location.pk, "id": number.pk}
    if checked:
        data["number"] = number.pk
    return client.post(SELECT, data, HTTP_HX_REQUEST="true")


def test_step_one_lists_only_cisco_calling_plan_locations(admin_client, org, location):
    make_location(org, "Chicago Branch", pstn=Location.PstnConnection.CLOUD_CONNECTED)
    make_location(org, "Denver Site", pstn=Location.PstnConnection.PREMISES)
    html = admin_client.get(AUTHORIZE).content.decode()
    assert "<h1>Authorize Business Texting</h1>" in html
    assert "San Francisco HQ" in html
    assert "Chicago Branch" not in html and "Denver Site" not in html
    assert 'aria-current="step">Choose location' in html


def test_another_organisations_or_non_ccp_location_answers_404(admin_client, org, other_org, location):
    theirs = make_location(other_org, "Their Office")
    cloud = make_location(org, "Cloud Site", pstn=Location.PstnConnection.CLOUD_CONNECTED)
    assert admin_client.get(AUTHORIZE, {"location": theirs.pk}).status_code == 404
    assert admin_client.get(AUTHORIZE, {"location": cloud.pk}).status_code == 404
    assert admin_client.get(AUTHORIZE, {"location": "abc"}).status_code == 404


def test_step_two_lists_authorisable_numbers_50_a_page(admin_client, location, numbers):
    PhoneNumber.objects.filter(pk=numbers[0].pk).update(texting_state=PhoneNumber.TextingState.AUTHORISED)
    PhoneNumber.objects.filter(pk=numbers[1].pk).update(texting_state=PhoneNumber.TextingState.PENDING)
    html = admin_client.get(AUTHORIZE, {"location": location.pk}).content.decode()
    assert "118 numbers can be authorised" in html
    assert numbers[0].display not in html and numbers[1].display not in html
    assert numbers[2].display in html and numbers[51].display in html and numbers[52].display not in html
    assert "Page 1 of 3" in html
    assert 'disabled aria-disabled="true">Next' in html  # nothing selected yet


def test_search_by_digits_and_filter_by_assignment(admin_client, org, location, numbers):
    person = make_user(org, role=User.Role.END_USER)
    PhoneNumber.objects.filter(pk=numbers[7].pk).update(assigned_user=person, is_primary=True)
    html = admin_client.get(
        AUTHORIZE,
        {"location": location.pk, "q": numbers[7].e164[-4:]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="wizard-numbers",
    ).content.decode()
    assert "<html" not in html and "1 number can be authorised" in html and numbers[7].display in html
    assigned = admin_client.get(AUTHORIZE, {"location": location.pk, "assigned": "assigned"}).content.decode()
    assert "1 number can be authorised" in assigned and numbers[7].display in assigned
    unassigned = admin_client.get(AUTHORIZE, {"location": location.pk, "assigned": "unassigned"}).content.decode()
    assert "119 numbers can be authorised" in unassigned
    letters = admin_client.get(AUTHORIZE, {"location": location.pk, "q": "abc"}).content.decode()
    assert "No numbers match." in letters


def test_selection_survives_paging_and_search(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    toggle(admin_client, location, numbers[3])
    response = toggle(admin_client, location, numbers[70])
    assert "2 numbers selected" in response.content.decode()
    page_two = admin_client.get(AUTHORIZE, {"location": location.pk, "page": 2}).content.decode()
    assert (
        f'value="{numbers[70].pk}" id="number-{numbers[70].pk}" aria-label="Select {numbers[70].display}" checked'
        in page_two
    )
    searched = admin_client.get(AUTHORIZE, {"location": location.pk, "q": numbers[3].e164[-4:]}).content.decode()
    assert "2 numbers selected" in searched and "checked" in searched
    toggle(admin_client, location, numbers[3], checked=False)
    assert selected_ids(admin_client) == {numbers[70].pk}


def test_select_all_on_page_and_all_matching_and_clear(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    page_ids = [n.pk for n in numbers[:50]]
    html = admin_client.post(
        SELECT, {"op": "select_page", "location": location.pk, "page_ids": page_ids}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "50 numbers selected" in html
    html = admin_client.post(
        SELECT, {"op": "select_matching", "location": location.pk, "q": "", "assigned": ""}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "120 numbers selected" in html and "Select all 120 matching" in html
    admin_client.post(
        SELECT, {"op": "clear_page", "location": location.pk, "page_ids": page_ids}, HTTP_HX_REQUEST="true"
    )
    assert len(selected_ids(admin_client)) == 70
    admin_client.post(SELECT, {"op": "clear", "location": location.pk}, HTTP_HX_REQUEST="true")
    assert selected_ids(admin_client) == set()


def test_select_all_matching_respects_the_search(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    prefix = numbers[50].e164[-4:-1]  # "005": lines 0050-0059, and a few more if the exchange ends in 0
    admin_client.post(SELECT, {"op": "select_matching", "location": location.pk, "q": prefix}, HTTP_HX_REQUEST="true")
    expected = {n.pk for n in numbers if prefix in n.e164}
    assert selected_ids(admin_client) == expected
    assert {n.pk for n in numbers[50:60]} <= expected and len(expected) < 20


def test_without_javascript_the_page_form_saves_ticks(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    response = admin_client.post(
        SELECT,
        {
            "op": "save_page",
            "location": location.pk,
            "page": "1",
            "page_ids": [n.pk for n in numbers[:50]],
            "number": [numbers[1].pk, numbers[2].pk],
        },
    )
    assert response.status_code == 302 and f"location={location.pk}" in response["Location"]
    assert selected_ids(admin_client) == {numbers[1].pk, numbers[2].pk}


@pytest.mark.parametrize("case", ["other_location", "other_org", "already_authorised", "pending", "unknown", "garbage"])
def test_invalid_selection_is_refused_with_a_message_and_changes_nothing(
    admin_client, org, other_org, location, numbers, case
):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    toggle(admin_client, location, numbers[0])
    bad = {
        "other_location": lambda: make_numbers(make_location(org, "Austin"), 1)[0].pk,
        "other_org": lambda: make_numbers(make_location(other_org, "Theirs"), 1)[0].pk,
        "already_authorised": lambda: _with_state(numbers[5], PhoneNumber.TextingState.AUTHORISED),
        "pending": lambda: _with_state(numbers[6], PhoneNumber.TextingState.PENDING),
        "unknown": lambda: 99_999_999,
        "garbage": lambda: "1; DROP TABLE",
    }[case]()
    response = admin_client.post(
        SELECT, {"op": "toggle", "location": location.pk, "id": bad, "number": bad}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert any(words in html for words in ("are not numbers of", "already", "Choose a number", "not a valid choice"))
    assert selected_ids(admin_client) == {numbers[0].pk}


def _with_state(number, state):
    PhoneNumber.objects.filter(pk=number.pk).update(texting_state=state)
    return number.pk


def test_tampered_page_ids_are_refused(admin_client, org, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    foreign = make_numbers(make_location(org, "Elsewhere"), 1)[0]
    html = admin_client.post(
        SELECT,
        {"op": "select_page", "location": location.pk, "page_ids": [numbers[0].pk, foreign.pk]},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Some selected numbers are not numbers of San Francisco HQ." in html
    assert selected_ids(admin_client) == set()


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize("op", ["toggle", "select_page", "save_page"])
def test_a_strangers_number_is_refused_exactly_like_one_that_does_not_exist(
    admin_client, other_org, location, numbers, op, htmx
):
    """Issue 14.1: the refusal once named the other organisation's number ("+1 415-555-0000 is not a number of ...")
    while an unknown id got other words, so any id told whether, and which, number a stranger has."""
    theirs = make_numbers(make_location(other_org, "Their Office"), 1, start=9000)[0]
    admin_client.get(AUTHORIZE, {"location": location.pk})

    def ask(number_id):
        data = {"op": op, "location": location.pk, "id": number_id, "number": number_id, "page_ids": number_id}
        response = admin_client.post(SELECT, data, **({"HTTP_HX_REQUEST": "true"} if htmx else {}), follow=True)
        return answer(response)

    stranger, missing = ask(theirs.pk), ask(theirs.pk + 10_000)
    assert stranger == missing
    assert "Some selected numbers are not numbers of San Francisco HQ." in stranger
    assert theirs.e164 not in stranger and theirs.display not in stranger and "Their Office" not in stranger
    assert selected_ids(admin_client) == set()


def test_next_is_refused_with_an_empty_selection(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    response = admin_client.get(SUMMARY, follow=True)
    assert "Select at least one number to authorise." in response.content.decode()
    assert not AuthorisationOrder.objects.exists()


def test_summary_lists_the_ordered_numbers_and_submit_places_one_order(
    admin_client, admin, org, location, numbers, django_capture_on_commit_callbacks
):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    for n in (numbers[0], numbers[60], numbers[119]):
        toggle(admin_client, location, n)
    summary = admin_client.get(SUMMARY).content.decode()
    assert "Order summary" in summary and 'id="summary-count">3<' in summary
    for n in (numbers[0], numbers[60], numbers[119]):
        assert n.display in summary
    assert "San Francisco HQ" in summary
    token = summary.split('name="token" value="')[1].split('"')[0]

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(SUBMIT, {"token": token})
    order = AuthorisationOrder.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("provisioning:order", args=[order.pk])
    assert len(callbacks) == 1  # the carrier submission is enqueued only after commit
    assert order.number_count == 3 and order.status == AuthorisationOrder.Status.PLACED
    assert set(order.lines.values_list("number_id", flat=True)) == {numbers[0].pk, numbers[60].pk, numbers[119].pk}
    assert PhoneNumber.objects.filter(texting_state=PhoneNumber.TextingState.PENDING).count() == 3
    event = AuditEvent.objects.get(action="authorisation_order.placed")
    assert event.actor == admin and event.organisation == org and event.details["numbers"] == 3

    # Double click, reload, or back then submit again: the same order, nothing new.
    again = admin_client.post(SUBMIT, {"token": token})
    assert again["Location"] == reverse("provisioning:order", args=[order.pk])
    assert AuthorisationOrder.objects.count() == 1 and OrderLine.objects.count() == 3
    # The pending numbers are no longer offered.
    html = admin_client.get(AUTHORIZE, {"location": location.pk}).content.decode()
    assert "117 numbers can be authorised" in html


def test_a_stale_summary_is_refused_when_the_selection_changed(admin_client, location, numbers):
    admin_client.get(AUTHORIZE, {"location": location.pk})
    toggle(admin_client, location, numbers[0])
    token = admin_client.get(SUMMARY).content.decode().split('name="token" value="')[1].split('"')[0]
    toggle(admin_client, location, numbers[1])
    response = admin_client.post(SUBMIT, {"token": token}, follow=True)
    assert "The selection changed since this summary was shown" in response.content.decode()
    assert not AuthorisationOrder.objects.exists()


def test_a_number_is_in_at_most_one_open_order(admin, location, numbers):
    from django.db import IntegrityError, transaction

    from provisioning.actions import OrderRefused, place_authorisation_order

    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [numbers[0].pk], "00000000-0000-0000-0000-000000000001"
    )
    with pytest.raises(OrderRefused, match="already authorisation pending"):
        place_authorisation_order(
            admin.organisation, admin, location, [numbers[0].pk, numbers[1].pk], "00000000-0000-0000-0000-000000000002"
        )
    line = order.lines.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLine.objects.create(order=order, chunk=line.chunk, number=numbers[0])
    assert AuthorisationOrder.objects.count() == 1
    assert PhoneNumber.objects.get(pk=numbers[1].pk).texting_state == PhoneNumber.TextingState.NOT_AUTHORISED


def test_read_only_admin_sees_orders_but_cannot_use_the_wizard(readonly_client, admin, location, numbers):
    from provisioning.actions import place_authorisation_order

    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [numbers[0].pk], "00000000-0000-0000-0000-000000000003"
    )
    assert readonly_client.get(AUTHORIZE).status_code == 403
    assert readonly_client.post(SUBMIT, {"token": "x"}).status_code == 403
    listing = readonly_client.get(reverse("provisioning:orders")).content.decode()
    assert f"#{order.pk}" in listing and "Authorize Business Texting</a>" not in listing
    assert readonly_client.get(reverse("provisioning:order", args=[order.pk])).status_code == 200


def test_ineligible_organisation_gets_the_checklist_instead_of_the_wizard(client):
    org = make_org(customer_type="online")
    make_numbers(make_location(org), 3)
    client.force_login(make_user(org))
    html = client.get(AUTHORIZE).content.decode()
    assert "does not meet the prerequisites" in html and "available only to Enterprise customers" in html
    assert "Choose a location" not in html


def test_another_organisations_order_answers_404(client, admin, location, numbers, other_org):
    from provisioning.actions import place_authorisation_order

    order, _ = place_authorisation_order(
        admin.organisation, admin, location, [numbers[0].pk], "00000000-0000-0000-0000-000000000004"
    )
    client.force_login(make_user(other_org))
    assert client.get(reverse("provisioning:order", args=[order.pk])).status_code == 404
    assert f"#{order.pk}<" not in client.get(reverse("provisioning:orders")).content.decode()


def test_numbers_partial_uses_constant_queries_whatever_the_page_or_selection(
    admin_client, location, django_assert_num_queries
):
    """Session, user, organisation, the two eligibility queries, the location, the wizard's selection (with its
    count), the count of numbers (a counter row on PostgreSQL), the page's ids, its rows, their campaign memberships
    and their ticks: 12."""
    make_numbers(location, 400)
    admin_client.get(AUTHORIZE, {"location": location.pk})

    def partial(page):
        response = admin_client.get(
            AUTHORIZE, {"location": location.pk, "page": page}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="wizard-numbers"
        )
        assert response.status_code == 200
        return response.content.decode()

    with django_assert_num_queries(12):
        assert "0 numbers selected" in partial(1)
    admin_client.post(SELECT, {"op": "select_matching", "location": location.pk}, HTTP_HX_REQUEST="true")
    with django_assert_num_queries(12):
        assert "400 numbers selected" in partial(8)
    with django_assert_num_queries(12):
        partial(3)
