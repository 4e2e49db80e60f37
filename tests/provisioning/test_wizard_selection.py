"""The Authorize wizard's selection at enterprise scale (issue 12.3): kept in the database under a token that only
its user, organisation and location can use; selecting all matching and placing the order cost the same statements
whatever the number of numbers; stale selections are refused with a message; expired ones are purged."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.models import User
from provisioning import tasks
from provisioning.models import (
    AuthorisationOrder,
    OrderChunk,
    OrderLine,
    PhoneNumber,
    WizardSelectedNumber,
    WizardSelection,
)
from provisioning.wizard import SESSION_KEY
from tests.factories import make_location, make_numbers, make_user
from tests.provisioning.test_authorize_wizard import AUTHORIZE, SELECT, SUBMIT, SUMMARY

pytestmark = pytest.mark.django_db


def current(client) -> WizardSelection:
    return WizardSelection.objects.get(token=client.session[SESSION_KEY])


def ticked(selection) -> set[int]:
    return set(WizardSelectedNumber.objects.filter(selection=selection).values_list("number_id", flat=True))


def select_matching(client, location, **filters):
    data = {"op": "select_matching", "location": location.pk, **filters}
    response = client.post(SELECT, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def summary_token(client, selection) -> str:
    html = client.get(SUMMARY, {"wizard": selection.token}).content.decode()
    return html.split('name="token" value="')[1].split('"')[0]


def test_the_selection_survives_requests_and_a_new_login_starts_afresh(admin, location):
    numbers = make_numbers(location, 60)
    first = Client()
    first.force_login(admin)
    first.get(AUTHORIZE, {"location": location.pk})
    first.post(SELECT, {"op": "toggle", "location": location.pk, "id": numbers[1].pk, "number": numbers[1].pk})
    selection = current(first)
    assert ticked(selection) == {numbers[1].pk} and selection.selected_count == 1
    # Other requests of the same session (a reload, the step-one page, the summary) find it again.
    assert "1 number selected" in first.get(AUTHORIZE, {"location": location.pk}).content.decode()
    assert "1 number selected" in first.get(AUTHORIZE).content.decode()
    assert 'id="summary-count">1<' in first.get(SUMMARY).content.decode()
    # Nothing but its token is in the session.
    assert first.session[SESSION_KEY] == str(selection.token)

    # The same administrator signing in again (a new session) starts with nothing selected.
    second = Client()
    second.force_login(admin)
    html = second.get(AUTHORIZE, {"location": location.pk}).content.decode()
    assert "0 numbers selected" in html and str(selection.token) not in html
    assert current(second) != selection and ticked(selection) == {numbers[1].pk}


@pytest.mark.parametrize("who", ["colleague", "other_org_admin"])
def test_someone_elses_wizard_token_answers_404_and_changes_nothing(admin_client, org, other_org, location, who):
    numbers = make_numbers(location, 5)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    admin_client.post(SELECT, {"op": "toggle", "location": location.pk, "id": numbers[0].pk, "number": numbers[0].pk})
    selection = current(admin_client)
    token = str(selection.token)

    if who == "colleague":  # another full administrator of the same organisation, in the same location
        intruder, their_location = make_user(org, role=User.Role.FULL_ADMIN), location
    else:
        intruder, their_location = make_user(other_org, role=User.Role.FULL_ADMIN), make_location(other_org, "Theirs")
        make_numbers(their_location, 3)
    client = Client()
    client.force_login(intruder)
    assert client.get(AUTHORIZE, {"location": their_location.pk, "wizard": token}).status_code == 404
    assert client.get(AUTHORIZE, {"wizard": token}).status_code == 404
    assert client.get(SUMMARY, {"wizard": token}).status_code == 404
    data = {"op": "clear", "location": their_location.pk, "wizard": token}
    assert client.post(SELECT, data, HTTP_HX_REQUEST="true").status_code == 404
    assert client.post(SUBMIT, {"wizard": token, "token": summary_token(admin_client, selection)}).status_code == 404
    assert ticked(selection) == {numbers[0].pk} and not AuthorisationOrder.objects.exists()
    # A token of another of the owner's own locations is refused too: a selection stays in its location.
    elsewhere = make_location(org, "Austin")
    assert admin_client.get(AUTHORIZE, {"location": elsewhere.pk, "wizard": token}).status_code == 404


def test_the_back_button_after_the_order_says_the_selection_is_no_longer_open(
    admin_client, org, location, django_capture_on_commit_callbacks
):
    """After placing the order, the wizard's pages of its selection (the back button, a bookmark) answer 404 with a
    page that says why and where to go on; someone else's token gets the very same page, which tells nothing."""
    order, selection, _ = _place_order_of(admin_client, location, 3, django_capture_on_commit_callbacks)
    token = str(selection.token)
    for response in (
        admin_client.get(SUMMARY, {"wizard": token}),
        admin_client.get(AUTHORIZE, {"location": location.pk, "wizard": token}),
        admin_client.post(SELECT, {"op": "clear", "location": location.pk, "wizard": token}),
    ):
        page = response.content.decode()
        assert response.status_code == 404 and "This selection is no longer open" in page
        assert f'href="{reverse("provisioning:orders")}"' in page and f'href="{AUTHORIZE}"' in page
    assert list(AuthorisationOrder.objects.values_list("pk", flat=True)) == [order.pk]
    # A change made on the stale page (htmx, which swaps no 404) has the browser reload the page, so it shows.
    changed_on_stale_page = admin_client.post(
        SELECT, {"op": "clear", "location": location.pk, "wizard": token}, HTTP_HX_REQUEST="true"
    )
    assert changed_on_stale_page.status_code == 404 and changed_on_stale_page["HX-Refresh"] == "true"
    assert not admin_client.get(SUMMARY, {"wizard": token}).has_header("HX-Refresh")

    # The summary is never cached, by the back-forward cache either: Back after the order asks for it again and
    # lands on the page above, rather than on a summary already submitted.
    make_numbers(location, 2)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    select_matching(admin_client, location)
    summary = admin_client.get(SUMMARY, {"wizard": str(current(admin_client).token)})
    assert summary.status_code == 200 and "no-store" in summary["Cache-Control"]

    # A selection still open, but another administrator's: the same page.
    theirs = Client()
    theirs.force_login(make_user(org, role=User.Role.FULL_ADMIN))
    response = theirs.get(SUMMARY, {"wizard": str(current(admin_client).token)})
    assert response.status_code == 404 and "This selection is no longer open" in response.content.decode()


def test_select_all_matching_is_one_insert_whatever_the_count_and_the_count_comes_from_the_selection(
    admin_client, org, location
):
    small, large = location, make_location(org, "Large Site")
    make_numbers(small, 30)
    make_numbers(large, 600)
    issued = {}
    for place in (small, large):
        admin_client.get(AUTHORIZE, {"location": place.pk})
        with CaptureQueriesContext(connection) as ctx:
            html = select_matching(admin_client, place)
        inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
        assert len(inserts) == 1 and "INSERT INTO" in inserts[0] and "SELECT" in inserts[0]
        issued[place.name] = len(ctx.captured_queries)
        count = PhoneNumber.objects.filter(location=place).count()
        assert f"{count} numbers selected" in html
        assert current(admin_client).selected_count == count == len(ticked(current(admin_client)))
    assert issued["San Francisco HQ"] == issued["Large Site"]

    # Unticking a page is one DELETE, and the count follows.
    page_ids = list(PhoneNumber.objects.filter(location=large).order_by("e164").values_list("pk", flat=True)[:50])
    with CaptureQueriesContext(connection) as ctx:
        html = admin_client.post(
            SELECT, {"op": "clear_page", "location": large.pk, "page_ids": page_ids}, HTTP_HX_REQUEST="true"
        ).content.decode()
    assert len([q for q in ctx.captured_queries if q["sql"].startswith("DELETE")]) == 1
    assert "550 numbers selected" in html and current(admin_client).selected_count == 550
    # Selecting all matching again adds only what is missing.
    assert "600 numbers selected" in select_matching(admin_client, large)


def test_a_selected_number_deleted_meanwhile_leaves_the_count(admin_client, org, location):
    numbers = make_numbers(location, 8)
    other = make_location(org, "Other Site")
    elsewhere = make_numbers(other, 2)
    admin_client.get(AUTHORIZE, {"location": other.pk})
    select_matching(admin_client, other)  # another selection, holding numbers that stay
    other_selection = current(admin_client)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    assert "8 numbers selected" in select_matching(admin_client, location)
    selection = current(admin_client)
    numbers[0].delete()  # as the Django admin deletes a number (Webex removed it, say)
    PhoneNumber.objects.filter(pk__in=[numbers[1].pk, numbers[2].pk]).delete()  # and several at once
    page = admin_client.get(AUTHORIZE, {"location": location.pk, "wizard": selection.token}).content.decode()
    assert "5 numbers selected" in page
    assert WizardSelection.objects.get(pk=selection.pk).selected_count == len(ticked(selection)) == 5
    assert WizardSelection.objects.get(pk=other_selection.pk).selected_count == len(elsewhere)  # untouched
    # Unticking the five left leaves none selected.
    rest = [n.pk for n in numbers[3:]]
    html = admin_client.post(
        SELECT,
        {"op": "clear_page", "location": location.pk, "wizard": selection.token, "page_ids": rest},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "0 numbers selected" in html


def test_select_all_matching_a_search_with_no_digits_selects_nothing(admin_client, location):
    make_numbers(location, 5)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    html = select_matching(admin_client, location, q="abc")
    assert 'role="alert"' not in html and "0 numbers selected" in html


def _place_order_of(client, location, count, django_capture_on_commit_callbacks):
    make_numbers(location, count)
    client.get(AUTHORIZE, {"location": location.pk})
    select_matching(client, location)
    selection = current(client)
    token = summary_token(client, selection)
    with CaptureQueriesContext(connection) as ctx, django_capture_on_commit_callbacks():
        response = client.post(SUBMIT, {"wizard": selection.token, "token": token})
    order = AuthorisationOrder.objects.get(location=location)
    assert response.status_code == 302 and response["Location"] == reverse("provisioning:order", args=[order.pk])
    # The same summary submitted again (a double click, the back button) lands on the same order.
    again = client.post(SUBMIT, {"wizard": selection.token, "token": token})
    assert again["Location"] == response["Location"]
    assert AuthorisationOrder.objects.filter(location=location).count() == 1
    return order, selection, ctx.captured_queries


def test_placing_the_order_costs_the_same_statements_for_2_chunks_as_for_5(
    admin_client, org, location, settings, django_capture_on_commit_callbacks
):
    settings.AUTHORISATION_CHUNK_SIZE = 10
    few, few_selection, few_queries = _place_order_of(admin_client, location, 20, django_capture_on_commit_callbacks)
    many, many_selection, many_queries = _place_order_of(
        admin_client, make_location(org, "Large Site"), 50, django_capture_on_commit_callbacks
    )
    assert (few.chunks.count(), many.chunks.count()) == (2, 5)
    assert len(few_queries) == len(many_queries), [q["sql"][:80] for q in many_queries]
    for order, size in ((few, 20), (many, 50)):
        assert order.number_count == size and order.lines.count() == size
        # Chunks of 10 in number-id order, every line pending, every number pending.
        per_chunk = [chunk.lines.count() for chunk in order.chunks.order_by("index")]
        assert per_chunk == [10] * (size // 10)
        ids = list(order.lines.order_by("number_id").values_list("number_id", "chunk__index"))
        assert [index for _, index in ids] == [i // 10 for i in range(size)]
        assert not order.lines.exclude(state=OrderLine.State.PENDING, is_open=True).exists()
        assert (
            PhoneNumber.objects.filter(location=order.location, texting_state=PhoneNumber.TextingState.PENDING).count()
            == size
        )
    # The selection is gone with its order, and the session no longer names it.
    assert not WizardSelection.objects.filter(pk__in=[few_selection.pk, many_selection.pk]).exists()
    assert not WizardSelectedNumber.objects.exists()
    assert SESSION_KEY not in admin_client.session
    assert OrderChunk.objects.count() == 7


def test_summary_costs_the_same_queries_whatever_the_selection_size(
    admin_client, org, location, django_assert_num_queries
):
    large = make_location(org, "Large Site")
    make_numbers(location, 3)
    make_numbers(large, 300)
    counts = []
    for place in (location, large):
        admin_client.get(AUTHORIZE, {"location": place.pk})
        select_matching(admin_client, place)
        admin_client.get(SUMMARY)  # the first view makes the summary's token
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(SUMMARY).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("stale", ["authorised", "pending", "moved", "other_org"])
def test_a_stale_selection_is_refused_with_a_message_and_the_stale_numbers_are_taken_out(
    admin_client, org, other_org, location, stale
):
    numbers = make_numbers(location, 6)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    select_matching(admin_client, location)
    selection = current(admin_client)
    token = summary_token(admin_client, selection)
    # Meanwhile someone authorises a number, orders it, or it moves to another location or organisation.
    changes = {
        "authorised": {"texting_state": PhoneNumber.TextingState.AUTHORISED},
        "pending": {"texting_state": PhoneNumber.TextingState.PENDING},
        "moved": {"location": make_location(org, "Austin")},
        "other_org": {"location": make_location(other_org, "Theirs")},
    }[stale]
    PhoneNumber.objects.filter(pk=numbers[2].pk).update(**changes)

    response = admin_client.post(SUBMIT, {"wizard": selection.token, "token": token}, follow=True)
    html = response.content.decode()
    assert not AuthorisationOrder.objects.exists()
    if stale in ("authorised", "pending"):
        assert f"{numbers[2].display} cannot be authorised: it is already" in html
    else:
        assert "Some selected numbers are not numbers of San Francisco HQ." in html
        assert "Theirs" not in html  # nothing about another organisation
    assert "1 selected number that can no longer be authorised was taken out of the selection" in html
    assert "5 numbers selected" in html
    selection.refresh_from_db()
    assert ticked(selection) == {n.pk for n in numbers} - {numbers[2].pk} and selection.selected_count == 5
    # Reviewed, the rest can be ordered.
    admin_client.post(SUBMIT, {"wizard": selection.token, "token": summary_token(admin_client, selection)})
    assert AuthorisationOrder.objects.get().number_count == 5


def test_the_summary_refuses_a_stale_selection_too(admin_client, location):
    numbers = make_numbers(location, 4)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    select_matching(admin_client, location)
    PhoneNumber.objects.filter(pk__in=[numbers[0].pk, numbers[3].pk]).update(
        texting_state=PhoneNumber.TextingState.AUTHORISED
    )
    html = admin_client.get(SUMMARY, follow=True).content.decode()
    assert f"{numbers[0].display} cannot be authorised: it is already authorised." in html
    assert "2 selected numbers that can no longer be authorised were taken out" in html
    assert "2 numbers selected" in html


def test_expired_selections_are_purged_with_their_numbers_and_no_longer_offered(
    admin_client, admin, location, settings
):
    settings.WIZARD_SELECTION_HOURS = 24
    numbers = make_numbers(location, 5)
    admin_client.get(AUTHORIZE, {"location": location.pk})
    select_matching(admin_client, location)
    old = current(admin_client)
    fresh = WizardSelection.objects.create(organisation=admin.organisation, user=admin, location=location)
    WizardSelectedNumber.objects.create(selection=fresh, number=numbers[0])
    WizardSelection.objects.filter(pk=old.pk).update(changed=timezone.now() - timedelta(hours=25))

    # Expired, it is not shown any more: the wizard starts a new selection.
    assert "0 numbers selected" in admin_client.get(AUTHORIZE, {"location": location.pk}).content.decode()
    assert tasks.purge_expired_selections.delay().get() == 1
    assert not WizardSelection.objects.filter(pk=old.pk).exists()
    assert not WizardSelectedNumber.objects.filter(selection_id=old.pk).exists()
    assert ticked(fresh) == {numbers[0].pk}
    assert tasks.purge_expired_selections.delay().get() == 0  # idempotent
    assert settings.CELERY_BEAT_SCHEDULE["purge-expired-wizard-selections"]["task"] == (
        tasks.purge_expired_selections.name
    )


def test_the_authorisable_count_follows_every_change_of_the_numbers(postgres, admin, org, location):
    """PostgreSQL keeps each location's count of numbers that can be authorised with triggers (the wizard shows it
    without counting 100,000 numbers): numbers added, ordered, failed, authorised, moved and deleted."""
    from provisioning.actions import place_authorisation_order
    from provisioning.queries import authorisable_count

    austin = make_location(org, "Austin")

    def counts():
        real = {
            place.pk: PhoneNumber.objects.filter(location=place, texting_state__in=["not_authorised", "failed"]).count()
            for place in (location, austin)
        }
        assert {place.pk: authorisable_count(place) for place in (location, austin)} == real
        return real[location.pk], real[austin.pk]

    numbers = make_numbers(location, 30)
    make_numbers(austin, 4)
    assert counts() == (30, 4)
    place_authorisation_order(org, admin, location, [n.pk for n in numbers[:10]], str(uuid.uuid4()))
    assert counts() == (20, 4)
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers[:3]]).update(texting_state="failed")
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers[3:6]]).update(texting_state="authorised")
    assert counts() == (23, 4)
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers[20:25]]).update(location=austin)
    assert counts() == (18, 9)
    PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers[25:]]).delete()
    assert counts() == (13, 9)
    html = Client()
    html.force_login(admin)
    assert "13 numbers can be authorised" in html.get(AUTHORIZE, {"location": location.pk}).content.decode()
