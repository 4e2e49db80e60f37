"""The support console: the queue (counts per state, filters, sorting, overdue, HTMX partials, pinned query count)
and the support case page with only the actions the current state allows."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import RegistrationCase
from portal.models import AuditEvent
from tests.factories import make_org

from .factories import make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
QUEUE = reverse("compliance:support_queue")


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


def action_url(case, action):
    return reverse("compliance:support_action", args=[case.pk, action])


def test_queue_counts_filters_and_overdue(support_client, org, other_org):
    late = make_case(org, State.BRAND_SUBMITTED, opened_days_ago=35)
    fresh = make_case(other_org, State.FORM_SENT, opened_days_ago=2)
    done = make_case(org, State.COMPLETED, opened_days_ago=40)
    html = support_client.get(QUEUE).content.decode()
    assert '<span class="count-n">2</span> Open' in html
    assert '<span class="count-n">1</span> Overdue' in html
    assert '<span class="count-n">1</span> Brand submitted' in html
    assert '<span class="count-n">1</span> Completed' in html
    # The default view lists open cases, the overdue one first and marked.
    assert html.index(f"Case #{late.pk}") < html.index(f"Case #{fresh.pk}") and f"Case #{done.pk}<" not in html
    assert "35 / 28 days" in html and 'class="overdue"' in html and "Overdue</span>" in html

    by_org = support_client.get(QUEUE, {"state": "all", "organisation": other_org.pk}).content.decode()
    assert f"Case #{fresh.pk}" in by_org and f"Case #{late.pk}<" not in by_org
    overdue = support_client.get(QUEUE, {"state": "open", "age": "overdue"}).content.decode()
    assert f"Case #{late.pk}" in overdue and f"Case #{fresh.pk}<" not in overdue
    by_state = support_client.get(QUEUE, {"state": "completed"}).content.decode()
    assert f"Case #{done.pk}" in by_state and f"Case #{late.pk}<" not in by_state
    newest = support_client.get(QUEUE, {"sort": "newest"}).content.decode()
    assert newest.index(f"Case #{fresh.pk}") < newest.index(f"Case #{late.pk}")


def test_queue_filtering_and_paging_answer_the_partial(support_client, org):
    cases = [make_case(org, State.FORM_SENT, numbers=[], opened_days_ago=i) for i in range(30)]
    html = support_client.get(QUEUE, {"state": "open", "page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and 'id="queue"' in html and "Page 2 of 2" in html
    assert html.count("Case #") == 5 and f"Case #{cases[0].pk}<" not in html  # the newest is on page 1
    assert 'hx-target="#queue"' in html


def test_the_default_queue_puts_overdue_cases_first_then_the_latest_change(support_client, org):
    # 30 cases of the last three weeks, two overdue ones, and one opened just now: 33 cases, 25 a page.
    settled = [make_case(org, State.FORM_SENT, numbers=[], opened_days_ago=1 + i % 20) for i in range(30)]
    late = make_case(org, State.BRAND_SUBMITTED, numbers=[], opened_days_ago=35)
    later = make_case(org, State.OPENED, numbers=[], opened_days_ago=50)
    new = make_case(org, State.OPENED, numbers=[])
    first = support_client.get(QUEUE).content.decode()
    rows = [int(n) for n in re.findall(r">Case #(\d+)<", first)]
    assert rows[:3] == [later.pk, late.pk, new.pk]  # the longest overdue on top, then the newest change
    assert 'value="attention" selected' in first
    # A case that just moved comes before one that has not moved for a fortnight.
    moved = settled[-1]
    RegistrationCase.objects.filter(pk=moved.pk).update(state_changed=timezone.now())
    rows = [int(n) for n in re.findall(r">Case #(\d+)<", support_client.get(QUEUE).content.decode())]
    assert rows.index(moved.pk) < rows.index(settled[0].pk)
    oldest_first = support_client.get(QUEUE, {"sort": "oldest"}).content.decode()
    assert f">Case #{new.pk}<" not in oldest_first  # the order support had before: the new case on the last page


@pytest.mark.parametrize(
    "params, message",
    [
        ({"state": "done"}, "Choose a state from the list."),
        ({"organisation": "²"}, "Choose an organisation from the list."),
        ({"organisation": "9" * 25}, "Choose an organisation from the list."),
        ({"organisation": "-1"}, "Choose an organisation from the list."),
        ({"age": "ancient"}, "Choose an age from the list."),
        ({"sort": "random"}, "Choose a sort order from the list."),
        ({"state": "all\x00"}, "Choose a state from the list."),
    ],
)
def test_a_filter_value_the_queue_does_not_offer_is_refused_with_a_message(support_client, org, params, message):
    case = make_case(org, State.FORM_SENT)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = support_client.get(QUEUE, params, **headers)
        html = response.content.decode()
        assert response.status_code == 400
        assert message in html and "That filter is not applied." in html and 'role="alert"' in html
        assert f">Case #{case.pk}<" in html and "\x00" not in html  # the other filters, at their defaults, still list


def test_an_organisation_without_cases_is_not_a_filter_choice(support_client, org, other_org):
    make_case(org, State.FORM_SENT)
    response = support_client.get(QUEUE, {"organisation": other_org.pk})
    assert response.status_code == 400 and "Choose an organisation from the list." in response.content.decode()
    assert support_client.get(QUEUE, {"organisation": org.pk}).status_code == 200


def test_queue_query_count_does_not_grow_with_cases(support_client, org, django_assert_num_queries):
    for i in range(3):
        other = make_org()
        for state in (State.FORM_SENT, State.BRAND_SUBMITTED, State.COMPLETED):
            make_case(other, state, opened_days_ago=i * 10)
    # session + user, the counts per state, organisations, the page's count, the page's rows, support's to-dos, the
    # retention purge's health (support staff's banner; the HTMX piece has neither to-dos nor banner).
    with django_assert_num_queries(8):
        response = support_client.get(QUEUE, {"state": "all"})
    assert response.status_code == 200 and response.content.decode().count("Case #") == 9
    with django_assert_num_queries(4):
        support_client.get(QUEUE, {"state": "all"}, HTTP_HX_REQUEST="true")


def test_support_case_page_offers_only_the_actions_the_state_allows(support_client, org):
    expectations = {
        State.OPENED: {"Send registration form", "Cancel case"},
        State.FORM_SENT: {"Cancel case"},
        State.FORM_SUBMITTED: {"Submit brand", "Cancel case"},
        State.BRAND_SUBMITTED: {"Record brand decision", "Check with the carrier now", "Cancel case"},
        State.BRAND_APPROVED: {"Submit campaign", "Cancel case"},
        State.BRAND_REJECTED: {"Cancel case"},
        State.CAMPAIGN_SUBMITTED: {"Record campaign decision", "Check with the carrier now", "Cancel case"},
        State.CAMPAIGN_APPROVED: {"Assign numbers", "Cancel case"},
        State.CAMPAIGN_REJECTED: {"Cancel case"},
        State.NUMBERS_ASSIGNED: {"Check with the carrier now", "Cancel case"},
        State.COMPLETED: set(),
        State.CANCELLED: set(),
    }
    every = set().union(*expectations.values())
    for state, offered in expectations.items():
        case = make_case(org, state)
        html = support_client.get(reverse("compliance:support_case", args=[case.pk])).content.decode()
        actions_html = html[html.index('id="case-actions"') : html.index('id="registration-form"')]
        for label in every:
            assert (f">{label}</" in actions_html) == (label in offered), (state, label)


def test_support_sees_internal_notes_and_the_submitted_form(support_client, org, support):
    from compliance import actions

    case = make_case(org, State.FORM_SUBMITTED)
    case.registration.submitted_at = case.opened_at
    case.registration.save()
    actions.add_internal_note(case, support, "Double-check the EIN.")
    html = support_client.get(reverse("compliance:support_case", args=[case.pk])).content.decode()
    assert "Double-check the EIN." in html and "Internal note" in html
    assert "Acme Test Inc." in html and "12-3456789" in html


def test_support_sends_the_form(support_client, org, mailoutbox, django_capture_on_commit_callbacks):
    case = make_case(org, State.OPENED)
    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(action_url(case, "send-form"), {"expected_state": "opened"}, follow=True)
    assert "The registration form is sent" in response.content.decode()
    case.refresh_from_db()
    assert case.state == State.FORM_SENT and len(mailoutbox) == 1


def test_second_click_on_an_out_of_date_page_is_refused_and_changes_nothing(support_client, org):
    case = make_case(org, State.OPENED)
    support_client.post(action_url(case, "send-form"), {"expected_state": "opened"})
    audits = AuditEvent.objects.count()
    response = support_client.post(action_url(case, "send-form"), {"expected_state": "opened"}, follow=True)
    html = response.content.decode()
    assert "changed while you were looking at it: it is now in &#x27;Form sent&#x27;" in html
    assert AuditEvent.objects.count() == audits


def test_impossible_action_is_refused_with_a_clear_message(support_client, org):
    case = make_case(org, State.FORM_SENT)
    response = support_client.post(
        action_url(case, "brand-decision"), {"brand-decision": "approved", "brand-registry_id": "B123456"}, follow=True
    )
    assert (
        "This case is in &#x27;Form sent&#x27;: a brand cannot be approved before it was submitted."
        in response.content.decode()
    )
    case.refresh_from_db()
    assert case.state == State.FORM_SENT


def test_manual_decision_form_errors_show_next_to_fields(support_client, org):
    case = make_case(org, State.BRAND_SUBMITTED, brand_registry_id="")
    html = support_client.post(
        action_url(case, "brand-decision"), {"brand-decision": "approved", "brand-registry_id": "X1"}
    ).content.decode()
    assert "A brand id is B and 6 letters or digits" in html
    html = support_client.post(action_url(case, "brand-decision"), {"brand-decision": "rejected"}).content.decode()
    assert "Say why: the customer needs the reason" in html
    case.refresh_from_db()
    assert case.state == State.BRAND_SUBMITTED
    support_client.post(action_url(case, "brand-decision"), {"brand-decision": "rejected", "brand-reason": "EIN"})
    case.refresh_from_db()
    assert case.state == State.BRAND_REJECTED and case.brand.reason == "EIN"


def test_support_messages_and_notes(support_client, org):
    case = make_case(org, State.FORM_SENT)
    support_client.post(action_url(case, "message"), {"message-text": "Hello from support"})
    support_client.post(action_url(case, "note"), {"note-text": "Internal only"})
    html = support_client.post(action_url(case, "note"), {"note-text": ""}).content.decode()
    assert "This field is required." in html
    assert list(case.events.values_list("kind", "text")) == [
        ("message", "Hello from support"),
        ("internal_note", "Internal only"),
    ]


def test_support_cancels_with_a_reason(support_client, org):
    case = make_case(org, State.CAMPAIGN_APPROVED)
    support_client.post(
        action_url(case, "cancel"), {"cancel-reason": "Customer withdrew", "expected_state": "campaign_approved"}
    )
    case.refresh_from_db()
    assert case.state == State.CANCELLED and "Customer withdrew" in case.events.last().text


def test_unknown_action_is_404(support_client, org):
    case = make_case(org, State.OPENED)
    assert support_client.post(action_url(case, "approve-everything")).status_code == 404


def test_the_case_page_splits_messages_from_the_timeline_in_constant_queries(
    support_client, admin, org, support, django_assert_num_queries
):
    from django.test import Client

    case = make_case(org, State.FORM_SENT)
    support_client.post(action_url(case, "message"), {"message-text": "Hello from support"})
    support_client.post(action_url(case, "note"), {"note-text": "Internal only"})
    url = reverse("compliance:support_case", args=[case.pk])
    support_client.get(url)
    # Session, user, the case, its form, versions, the purge's health (the banner), support users (the owner's
    # options, read once), numbers, events (timeline and messages in one query).
    with django_assert_num_queries(9):
        html = support_client.get(url).content.decode()
    conversation = re.search(r'<ul class="conversation".*?</ul>', html, re.S).group()
    timeline = re.search(r'<ol class="timeline".*?</ol>', html, re.S).group()
    assert "Hello from support" in conversation and "Hello from support" not in timeline
    assert "Internal only" in timeline and "Internal only" not in conversation
    customer = Client()
    customer.force_login(admin)
    html = customer.get(reverse("compliance:case", args=[case.pk])).content.decode()
    conversation = re.search(r'<ul class="conversation".*?</ul>', html, re.S).group()
    assert "Hello from support" in conversation and "Internal only" not in html
