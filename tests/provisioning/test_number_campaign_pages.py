"""The location page shows each number's texting state, campaign and campaign status (a failed assignment with the
carrier's reason and a Retry button), filterable, in a constant number of queries; full administrators retry
failed assignments and de-authorise selected numbers after a confirmation. Scoped to the organisation and role."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.models import CampaignNumber
from portal.models import AuditEvent
from provisioning.models import AuthorisationOrder, OrderChunk, OrderLine, PhoneNumber
from tests.compliance.campaign_helpers import make_campaign, registered_campaign
from tests.factories import make_location, make_numbers, make_user

Status = CampaignNumber.Status
TextingState = PhoneNumber.TextingState
REASON = "Number is already assigned to a campaign of another messaging provider"


def member(campaign, numbers, status, reason=""):
    CampaignNumber.objects.bulk_create(
        [CampaignNumber(campaign=campaign, number=n, status=status, reason=reason) for n in numbers]
    )
    if status == Status.ASSIGNED:
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]).update(texting_state=TextingState.REGISTERED)


@pytest.fixture
def location(org):
    return make_location(org, "Head office")


@pytest.fixture
def page_numbers(org, location):
    """Five numbers of the location: two assigned, one failed, one pending removal, one never in a campaign."""
    campaign = make_campaign(org, registry_id="CABC123")
    numbers = make_numbers(location, 5, texting_state=TextingState.AUTHORISED)
    member(campaign, numbers[:2], Status.ASSIGNED)
    member(campaign, numbers[2:3], Status.FAILED_ASSIGNMENT, REASON)
    member(campaign, numbers[3:4], Status.PENDING_REMOVAL)
    return campaign, numbers


def url(location, **params):
    from django.utils.http import urlencode

    base = reverse("provisioning:location", args=[location.pk])
    return f"{base}?{urlencode(params)}" if params else base


def row(html, number):
    """The table row of `number` on the location page."""
    start = html.index(f'<tr id="number-{number.pk}">')
    return html[start : html.index("</tr>", start)]


def listed(html, numbers):
    return [n.display for n in numbers if n.display in html]


@pytest.mark.django_db
def test_each_number_shows_its_campaign_and_status_and_a_failure_its_reason_and_retry(
    admin_client, location, page_numbers
):
    campaign, numbers = page_numbers
    html = admin_client.get(url(location)).content.decode()
    assert "Customer care (CABC123)" in row(html, numbers[0]) and "Registered in campaign" in row(html, numbers[0])
    assert "Assigned" in row(html, numbers[0])
    assert "Assignment failed" in row(html, numbers[2]) and REASON in row(html, numbers[2])
    assert "Pending removal" in row(html, numbers[3])
    assert "None" in row(html, numbers[4])
    failed = CampaignNumber.objects.get(status=Status.FAILED_ASSIGNMENT)
    assert f'name="campaign_number" value="{failed.pk}"' in html  # one Retry button, on the failed row
    assert html.count('name="campaign_number"') == 1
    assert "De-authorise selected" in html


@pytest.mark.django_db
def test_a_read_only_administrator_sees_the_statuses_but_no_actions(readonly_client, location, page_numbers):
    html = readonly_client.get(url(location)).content.decode()
    failed = CampaignNumber.objects.get(status=Status.FAILED_ASSIGNMENT).number
    assert REASON in row(html, failed) and "Assignment failed" in row(html, failed)
    assert 'name="campaign_number"' not in html and "De-authorise selected" not in html


@pytest.mark.django_db
def test_numbers_filter_by_campaign_status_texting_state_and_campaign(org, admin_client, location, page_numbers):
    campaign, numbers = page_numbers
    other = make_campaign(org, registry_id="COTHER1")
    elsewhere = make_numbers(location, 1, start=50, texting_state=TextingState.AUTHORISED)
    member(other, elsewhere, Status.ASSIGNED)

    def shown(**params):
        return listed(admin_client.get(url(location, **params)).content.decode(), numbers + elsewhere)

    assert shown(status="failed_assignment") == [numbers[2].display]
    assert shown(status="pending_removal") == [numbers[3].display]
    assert shown(status="none") == [numbers[4].display]
    assert shown(texting="registered") == [numbers[0].display, numbers[1].display, elsewhere[0].display]
    assert shown(campaign=other.pk) == [elsewhere[0].display]
    assert shown(campaign=campaign.pk, status="assigned") == [numbers[0].display, numbers[1].display]
    # htmx asks for the rows only, with the same filters
    fragment = admin_client.get(url(location, status="failed_assignment"), headers={"HX-Request": "true"})
    assert b"<html" not in fragment.content and numbers[2].display.encode() in fragment.content


@pytest.mark.django_db
def test_a_removed_number_shows_the_campaign_it_left(admin_client, org, location):
    campaign = make_campaign(org, registry_id="COLD001")
    (number,) = make_numbers(location, 1, texting_state=TextingState.AUTHORISED)
    member(campaign, [number], Status.REMOVED)
    html = row(admin_client.get(url(location, status="removed")).content.decode(), number)
    assert number.display in html and "Removed" in html and "Customer care (COLD001)" in html


@pytest.mark.django_db
def test_the_page_takes_the_same_number_of_queries_however_many_numbers(admin_client, org, location):
    campaign = make_campaign(org, registry_id="CPOOL01", is_number_pool=True)
    first = make_numbers(location, 3, texting_state=TextingState.AUTHORISED)
    member(campaign, first, Status.FAILED_ASSIGNMENT, REASON)
    admin_client.get(url(location))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url(location))
    more = make_numbers(location, 45, start=100, texting_state=TextingState.AUTHORISED)
    member(campaign, more[:30], Status.ASSIGNED)
    member(campaign, more[30:], Status.PENDING_ASSIGNMENT)
    for params in ({}, {"status": "assigned"}, {"campaign": campaign.pk, "texting": "registered"}):
        with CaptureQueriesContext(connection) as many:
            response = admin_client.get(url(location, **params))
        assert response.status_code == 200
        assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


# --- retry ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_from_the_page_asks_the_carrier_again(
    carrier_sim, admin_client, org, location, django_capture_on_commit_callbacks
):
    campaign = registered_campaign(org, carrier_sim)
    (number,) = make_numbers(location, 1, start=9999, texting_state=TextingState.AUTHORISED)
    member(campaign, [number], Status.FAILED_ASSIGNMENT, REASON)
    failed = CampaignNumber.objects.get()
    carrier_sim.set_faults(assignment_failures=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("provisioning:retry_assignments", args=[location.pk]),
            {"campaign_number": failed.pk},
            follow=True,
        )
    assert "1 assignment is being tried again" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == Status.ASSIGNED
    number.refresh_from_db()
    assert number.texting_state == TextingState.REGISTERED


@pytest.mark.django_db
def test_retry_all_failed_of_the_filtered_list(admin_client, location, page_numbers):
    response = admin_client.post(
        reverse("provisioning:retry_assignments", args=[location.pk]),
        {"all": "1", "status": "failed_assignment"},
    )
    assert response.status_code == 302 and "status=failed_assignment" in response["Location"]
    assert not CampaignNumber.objects.filter(status=Status.FAILED_ASSIGNMENT).exists()
    assert AuditEvent.objects.filter(action="campaign.numbers_assignment_retried").count() == 1


@pytest.mark.django_db
def test_retrying_an_assignment_that_has_not_failed_is_refused(admin_client, location, page_numbers):
    assigned = CampaignNumber.objects.filter(status=Status.ASSIGNED).first()
    response = admin_client.post(
        reverse("provisioning:retry_assignments", args=[location.pk]), {"campaign_number": assigned.pk}, follow=True
    )
    assert "only a failed assignment can be retried" in response.content.decode()
    assigned.refresh_from_db()
    assert assigned.status == Status.ASSIGNED


# --- de-authorise --------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deauthorise_asks_for_confirmation_then_deauthorises(admin_client, admin, location, page_numbers):
    campaign, numbers = page_numbers
    free = numbers[4]
    post_url = reverse("provisioning:deauthorise", args=[location.pk])
    confirm = admin_client.post(post_url, {"number": [free.pk, numbers[0].pk]})
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "De-authorise 2 numbers" in html
    assert "Leaves the campaign, then not authorised" in html and "Not authorised at once" in html
    free.refresh_from_db()
    assert free.texting_state == TextingState.AUTHORISED  # nothing changed before the confirmation

    response = admin_client.post(post_url, {"number": [free.pk, numbers[0].pk], "confirmed": "yes"}, follow=True)
    text = response.content.decode()
    assert "1 number is no longer authorised" in text and "1 number is leaving its campaign first" in text
    free.refresh_from_db()
    assert free.texting_state == TextingState.NOT_AUTHORISED
    assert CampaignNumber.objects.get(number=numbers[0]).status == Status.PENDING_REMOVAL
    assert AuditEvent.objects.filter(action="numbers.deauthorised", actor=admin).count() == 1


@pytest.mark.django_db
def test_deauthorising_a_number_in_an_open_order_shows_why_and_changes_nothing(admin_client, admin, org, location):
    numbers = make_numbers(location, 2, texting_state=TextingState.AUTHORISED)
    order = AuthorisationOrder.objects.create(
        organisation=org, location=location, placed_by=admin, submission_token=uuid.uuid4(), number_count=1
    )
    OrderLine.objects.create(order=order, chunk=OrderChunk.objects.create(order=order, index=0), number=numbers[1])
    PhoneNumber.objects.filter(pk=numbers[1].pk).update(texting_state=TextingState.PENDING)
    response = admin_client.post(
        reverse("provisioning:deauthorise", args=[location.pk]),
        {"number": [n.pk for n in numbers], "confirmed": "yes"},
        follow=True,
    )
    assert f"in an open authorisation order (#{order.pk})" in response.content.decode()
    assert set(PhoneNumber.objects.values_list("texting_state", flat=True)) == {
        TextingState.AUTHORISED,
        TextingState.PENDING,
    }


# --- scoping -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_another_organisations_administrator_gets_404(client, other_org, location, page_numbers):
    client.force_login(make_user(other_org, email="admin@globex.test"))
    failed = CampaignNumber.objects.get(status=Status.FAILED_ASSIGNMENT)
    assert client.get(url(location)).status_code == 404
    assert (
        client.post(
            reverse("provisioning:retry_assignments", args=[location.pk]), {"campaign_number": failed.pk}
        ).status_code
        == 404
    )
    number = page_numbers[1][4]
    deauthorise = reverse("provisioning:deauthorise", args=[location.pk])
    assert client.post(deauthorise, {"number": number.pk, "confirmed": "yes"}).status_code == 404
    failed.refresh_from_db()
    number.refresh_from_db()
    assert failed.status == Status.FAILED_ASSIGNMENT and number.texting_state == TextingState.AUTHORISED


@pytest.mark.django_db
def test_a_read_only_administrator_gets_403(readonly_client, location, page_numbers):
    failed = CampaignNumber.objects.get(status=Status.FAILED_ASSIGNMENT)
    number = page_numbers[1][4]
    retry = reverse("provisioning:retry_assignments", args=[location.pk])
    deauthorise = reverse("provisioning:deauthorise", args=[location.pk])
    assert readonly_client.post(retry, {"campaign_number": failed.pk}).status_code == 403
    assert readonly_client.post(deauthorise, {"number": number.pk, "confirmed": "yes"}).status_code == 403
    number.refresh_from_db()
    assert number.texting_state == TextingState.AUTHORISED


@pytest.mark.django_db
def test_another_organisations_number_on_my_location_changes_nothing(admin_client, other_org, location):
    (theirs,) = make_numbers(make_location(other_org), 1, texting_state=TextingState.AUTHORISED)
    response = admin_client.post(
        reverse("provisioning:deauthorise", args=[location.pk]), {"number": theirs.pk, "confirmed": "yes"}, follow=True
    )
    assert "not numbers of Head office" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.texting_state == TextingState.AUTHORISED


@pytest.mark.django_db
def test_the_authorize_wizard_shows_the_campaign_a_number_left(admin_client, org, location):
    campaign = make_campaign(org, registry_id="CLEFT01")
    (number,) = make_numbers(location, 1)
    member(campaign, [number], Status.REMOVED)
    html = admin_client.get(reverse("provisioning:authorize"), {"location": location.pk}).content.decode()
    assert number.display in html and "Customer care (CLEFT01)" in html and "Removed" in html


@pytest.mark.django_db
def test_deauthorise_every_authorised_number_listed_across_pages(admin_client, org, location):
    numbers = make_numbers(location, 120, texting_state=TextingState.AUTHORISED)
    untouched = make_numbers(location, 5, start=500)  # not authorised: not part of "every authorised number"
    post_url = reverse("provisioning:deauthorise", args=[location.pk])
    confirm = admin_client.post(post_url, {"all_matching": "1"}).content.decode()
    assert "De-authorise 120 numbers" in confirm and "and 20 more numbers" in confirm
    assert PhoneNumber.objects.filter(texting_state=TextingState.AUTHORISED).count() == 120

    # The list changed since the confirmation was shown: shown again, nothing done.
    make_numbers(location, 1, start=900, texting_state=TextingState.AUTHORISED)
    again = admin_client.post(post_url, {"all_matching": "1", "count": "120", "confirmed": "yes"}).content.decode()
    assert "The list changed since you looked at it" in again and "De-authorise 121 numbers" in again
    assert PhoneNumber.objects.filter(texting_state=TextingState.AUTHORISED).count() == 121

    done = admin_client.post(post_url, {"all_matching": "1", "count": "121", "confirmed": "yes"}, follow=True)
    assert "121 numbers are no longer authorised" in done.content.decode()
    assert not PhoneNumber.objects.filter(texting_state=TextingState.AUTHORISED).exists()
    assert PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers + untouched]).count() == 125
