"""The support console for the long run: one search box (case number, phone number in any form, registry id, name),
the kind filter, case owners (assign to me / a colleague / unassign, audited), the unread mark and support's e-mail
when the customer writes or submits, and the cost of a registry action shown before support submits it."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from compliance import actions
from compliance.models import Brand, Campaign, CaseEvent, RegistrationCase
from compliance.queries import SearchRefused, parse_case_search
from portal.models import AuditEvent, User
from provisioning.models import PhoneNumber
from tests.factories import make_location, make_numbers, make_user

from .factories import VALID_FORM, make_case

pytestmark = pytest.mark.django_db
State = RegistrationCase.State
Kind = RegistrationCase.Kind
QUEUE = reverse("compliance:support_queue")


@pytest.fixture
def support_client(support):
    client = Client()
    client.force_login(support)
    return client


@pytest.fixture
def colleague(db):
    return make_user(None, role=User.Role.SUPPORT, email="colleague@pstn.test")


def listed(html: str) -> set[int]:
    return {int(n) for n in re.findall(r">Case #(\d+)<", html)}


def action_url(case, action):
    return reverse("compliance:support_action", args=[case.pk, action])


def numbers(org, e164s):
    location = make_location(org)
    return [
        PhoneNumber.objects.create(e164=e164, location=location, texting_state=PhoneNumber.TextingState.AUTHORISED)
        for e164 in e164s
    ]


@pytest.fixture
def world(org, other_org):
    """Two organisations' cases: Acme's with 512-555-01xx numbers, a brand B1ACME1 and a campaign C1ACME1; Globex's
    with other numbers, one completed."""
    acme_numbers = numbers(org, ["+15125550100", "+15125550101", "+15125550102"])
    brand = Brand.objects.create(
        organisation=org, legal_name="Acme Test Inc.", registry_id="B1ACME1", status="approved"
    )
    campaign = Campaign.objects.create(
        organisation=org, brand=brand, use_case="CUSTOMER_CARE", registry_id="C1ACME1", status="active"
    )
    acme = make_case(org, State.FORM_SENT, numbers=acme_numbers[:2], brand=brand)
    acme_more = make_case(
        org, State.CAMPAIGN_SUBMITTED, numbers=acme_numbers[2:], brand=brand, campaign=campaign, kind=Kind.ADD_NUMBERS
    )
    globex = make_case(
        other_org,
        State.COMPLETED,
        numbers=numbers(other_org, ["+17375550200", "+17375550201"]),
        form={"legal_name": "Globex Corporation"},  # its own brand, registered by this case
    )
    return {"acme": acme, "acme_more": acme_more, "globex": globex, "numbers": acme_numbers}


@pytest.mark.parametrize(
    "typed",
    ["+1 512-555-0100", "5125550100", "(512) 555-0100", "+15125550100", "1 512 555 0100", "512.555.0100"],
)
def test_a_phone_number_typed_any_way_finds_its_case(support_client, world, typed):
    html = support_client.get(QUEUE, {"q": typed}).content.decode()
    assert listed(html) == {world["acme"].pk}
    assert "searched for the number +15125550100" in html


def test_the_first_or_last_digits_find_every_case_with_a_matching_number(support_client, world):
    html = support_client.get(QUEUE, {"q": "512-555"}).content.decode()
    assert listed(html) == {world["acme"].pk, world["acme_more"].pk}
    assert "numbers starting or ending with 512555" in html
    assert listed(support_client.get(QUEUE, {"q": "555-0102"}).content.decode()) == {world["acme_more"].pk}
    assert listed(support_client.get(QUEUE, {"q": "0101"}).content.decode()) == {world["acme"].pk}
    assert listed(support_client.get(QUEUE, {"q": "1 737"}).content.decode()) == {world["globex"].pk}
    assert listed(support_client.get(QUEUE, {"q": "9999"}).content.decode()) == set()


def test_a_case_number_finds_that_case_in_any_state(support_client, world):
    done = world["globex"]
    for typed in (f"#{done.pk}", f"case {done.pk}", f"Case #{done.pk}"):
        assert listed(support_client.get(QUEUE, {"q": typed}).content.decode()) == {done.pk}, typed
    # A state chosen explicitly still applies to the search.
    assert listed(support_client.get(QUEUE, {"q": f"#{done.pk}", "state": "open"}).content.decode()) == set()


def test_registry_ids_find_the_cases_of_the_brand_or_campaign(support_client, world):
    by_brand = support_client.get(QUEUE, {"q": "b1acme1"}).content.decode()
    assert listed(by_brand) == {world["acme"].pk, world["acme_more"].pk}
    assert "searched for brand or campaign id B1ACME1" in by_brand
    by_campaign = support_client.get(QUEUE, {"q": "C1ACME1"}).content.decode()
    assert listed(by_campaign) == {world["acme_more"].pk}
    assert listed(support_client.get(QUEUE, {"q": "C9NONE9"}).content.decode()) == set()


def test_an_organisation_or_brand_name_finds_its_cases(support_client, world):
    assert listed(support_client.get(QUEUE, {"q": "globex"}).content.decode()) == {world["globex"].pk}
    assert listed(support_client.get(QUEUE, {"q": "Acme Test Inc"}).content.decode()) == {
        world["acme"].pk,
        world["acme_more"].pk,
    }


def test_the_kind_filter(support_client, world):
    html = support_client.get(QUEUE, {"kind": "add_numbers", "state": "all"}).content.decode()
    assert listed(html) == {world["acme_more"].pk}
    assert "Add numbers to an approved campaign" in html
    refused = support_client.get(QUEUE, {"kind": "everything"})
    assert refused.status_code == 400 and "Choose a case kind from the list." in refused.content.decode()


@pytest.mark.parametrize(
    "typed, message",
    [
        ("x", "Type at least 2 characters of an organisation or brand name."),
        ("+1 (", "Type at least 3 digits of a phone number, or # and a case number."),
        ("#abc", "A case number is digits after #, for example #1042."),
        ("case one", "A case number is digits after #, for example #1042."),
    ],
)
def test_a_search_too_short_to_mean_anything_is_refused_with_a_message(support_client, world, typed, message):
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = support_client.get(QUEUE, {"q": typed}, **headers)
        html = response.content.decode()
        assert response.status_code == 400, typed
        assert message in html and "That filter is not applied." in html and 'role="alert"' in html
        # The rest of the queue still shows (open cases), unsearched.
        assert listed(html) == {world["acme"].pk, world["acme_more"].pk}


def test_search_parsing_rules():
    assert parse_case_search("") is None
    assert parse_case_search("1042").case_number == 1042 and parse_case_search("1042").phone_digits == "1042"
    assert parse_case_search("12").case_number == 12 and not parse_case_search("12").phone_digits
    assert parse_case_search("+1 512-555-0100").phone == "+15125550100"
    assert parse_case_search("bx4y5z6").registry_id == "BX4Y5Z6"
    with pytest.raises(SearchRefused):
        parse_case_search("+1")


def test_queue_query_count_is_the_same_for_a_search_with_one_or_many_matches(
    support_client, org, django_assert_num_queries
):
    location = make_location(org)
    cases = [make_case(org, State.FORM_SENT, numbers=make_numbers(location, 2, start=i * 10)) for i in range(6)]
    # session + user, counts, organisations, to-dos, purge health, the matching cases' ids, the page's count, its rows.
    with django_assert_num_queries(9):
        many = support_client.get(QUEUE, {"q": "415"})
    with django_assert_num_queries(9):
        one = support_client.get(QUEUE, {"q": f"#{cases[0].pk}"})
    assert len(listed(many.content.decode())) == 6 and listed(one.content.decode()) == {cases[0].pk}


# --- owners -------------------------------------------------------------------------------------------------------


def test_assign_to_me_then_to_a_colleague_then_unassign(support_client, support, colleague, org):
    case = make_case(org, State.FORM_SUBMITTED)
    page = support_client.get(reverse("compliance:support_case", args=[case.pk])).content.decode()
    assert "Nobody owns this case yet." in page and "Assign to me" in page

    response = support_client.post(action_url(case, "take"), follow=True)
    case.refresh_from_db()
    assert case.owner == support and "You own this case now." in response.content.decode()
    assert "You own this case." in response.content.decode()
    mine = support_client.get(QUEUE, {"owner": "mine"}).content.decode()
    assert listed(mine) == {case.pk} and "<strong>Me</strong>" in mine

    response = support_client.post(action_url(case, "assign-owner"), {"owner-owner": colleague.pk}, follow=True)
    case.refresh_from_db()
    assert case.owner == colleague and f"{colleague.full_name} owns this case now." in response.content.decode()
    assert listed(support_client.get(QUEUE, {"owner": "mine"}).content.decode()) == set()

    support_client.post(action_url(case, "unassign"))
    case.refresh_from_db()
    assert case.owner is None
    assert listed(support_client.get(QUEUE, {"owner": "unassigned"}).content.decode()) == {case.pk}

    audits = list(AuditEvent.objects.filter(action="registration_case.owner_changed").order_by("id"))
    assert [(a.details.get("owner"), a.details.get("previous_owner")) for a in audits] == [
        ("support@pstn.test", ""),
        ("colleague@pstn.test", "support@pstn.test"),
        ("", "colleague@pstn.test"),
    ]
    notes = list(case.events.filter(kind=CaseEvent.Kind.INTERNAL_NOTE).values_list("text", flat=True))
    assert len(notes) == 3 and "Assigned to" in notes[1]


def test_a_case_cannot_be_given_to_someone_who_is_not_support(support_client, support, admin, org):
    case = make_case(org, State.FORM_SUBMITTED, owner=support)
    audits = AuditEvent.objects.count()
    response = support_client.post(action_url(case, "assign-owner"), {"owner-owner": admin.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Only Cisco PSTN support staff can own a case: choose a colleague from the list." in html
    case.refresh_from_db()
    assert case.owner == support and AuditEvent.objects.count() == audits
    # The action itself refuses too, whoever calls it.
    with pytest.raises(actions.CaseRefused, match="not Cisco PSTN support staff"):
        actions.assign_case_owner(case, support, admin)
    case.refresh_from_db()
    assert case.owner == support and AuditEvent.objects.count() == audits


def test_only_support_assigns_owners(admin, support, org):
    case = make_case(org, State.FORM_SUBMITTED)
    with pytest.raises(actions.CaseRefused):
        actions.assign_case_owner(case, admin, support)
    case.refresh_from_db()
    assert case.owner is None


def test_customers_never_reach_the_support_console(admin_client, readonly_client, org, support):
    case = make_case(org, State.FORM_SUBMITTED)
    for client in (admin_client, readonly_client):
        assert client.get(QUEUE, {"q": "Acme"}).status_code == 403
        assert client.get(reverse("compliance:support_case", args=[case.pk])).status_code == 403
        assert client.post(action_url(case, "take")).status_code == 403
        assert client.post(action_url(case, "assign-owner"), {"owner-owner": support.pk}).status_code == 403
    case.refresh_from_db()
    assert case.owner is None


def test_owner_changes_are_post_only(support_client, org):
    case = make_case(org, State.FORM_SUBMITTED)
    assert support_client.get(action_url(case, "take")).status_code == 405
    case.refresh_from_db()
    assert case.owner is None


# --- unread -------------------------------------------------------------------------------------------------------


def test_a_customer_message_marks_the_case_unread_and_emails_its_owner(
    admin_client, support_client, support, colleague, org, django_capture_on_commit_callbacks
):
    case = make_case(org, State.FORM_SENT, owner=colleague)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("compliance:case_message", args=[case.pk]), {"message-text": "Any news?"})
    case.refresh_from_db()
    assert case.unread_by_support
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["colleague@pstn.test"]
    assert f"Case #{case.pk}" in mail.outbox[0].subject and "wrote a message" in mail.outbox[0].subject

    queue = support_client.get(QUEUE).content.decode()
    assert re.search(rf'<tr class="[^"]*unread[^"]*">\s*<td><strong><a [^>]*>Case #{case.pk}</a></strong>', queue)
    assert listed(support_client.get(QUEUE, {"read": "unread"}).content.decode()) == {case.pk}

    # Support opening the case page clears it.
    support_client.get(reverse("compliance:support_case", args=[case.pk]))
    case.refresh_from_db()
    assert not case.unread_by_support
    assert listed(support_client.get(QUEUE, {"read": "unread"}).content.decode()) == set()


def test_a_submitted_form_marks_the_case_unread_and_emails_support_when_nobody_owns_it(
    admin_client, support, colleague, org, settings, django_capture_on_commit_callbacks
):
    settings.SUPPORT_NOTIFICATION_EMAIL = []
    case = make_case(org, State.FORM_SENT)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("compliance:case_form", args=[case.pk]), {**VALID_FORM, "submit": "1"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == State.FORM_SUBMITTED and case.unread_by_support
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["colleague@pstn.test", "support@pstn.test"]
    assert "submitted the registration form" in mail.outbox[0].subject

    settings.SUPPORT_NOTIFICATION_EMAIL = ["pstn-support@cisco.test"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("compliance:case_message", args=[case.pk]), {"message-text": "Done"})
    assert [m.to for m in mail.outbox] == [["pstn-support@cisco.test"]]


def test_support_acting_clears_the_unread_mark_and_support_messages_do_not_set_it(support_client, org):
    case = make_case(org, State.FORM_SUBMITTED, unread_by_support=True)
    # A refused action changes nothing, the mark included.
    support_client.post(action_url(case, "send-form"), {"expected_state": case.state})
    case.refresh_from_db()
    assert case.unread_by_support
    support_client.post(action_url(case, "note"), {"note-text": "Looking at it"})
    case.refresh_from_db()
    assert not case.unread_by_support
    support_client.post(action_url(case, "message"), {"message-text": "We are on it"})
    case.refresh_from_db()
    assert not case.unread_by_support and not mail.outbox


def test_the_page_poll_does_not_clear_the_unread_mark(support_client, org):
    case = make_case(org, State.BRAND_SUBMITTED, unread_by_support=True)
    url = reverse("compliance:support_case", args=[case.pk])
    support_client.get(url, {"seen": case.state}, HTTP_HX_REQUEST="true")
    case.refresh_from_db()
    assert case.unread_by_support


# --- costs ------------------------------------------------------------------------------------------------------------


def test_the_cost_of_a_registry_action_is_shown_before_support_submits_it(support_client, org, settings):
    settings.REGISTRY_COST_BRAND = 4.5
    settings.REGISTRY_COST_CAMPAIGN_VETTING = 15
    settings.REGISTRY_COST_CAMPAIGN_MONTHLY = 10
    form_submitted = make_case(org, State.FORM_SUBMITTED)
    page = support_client.get(reverse("compliance:support_case", args=[form_submitted.pk])).content.decode()
    assert "Costs $4.50: the registry's brand registration fee, billed again for every submission." in page
    assert "Costs $25.00 now" not in page

    brand_approved = make_case(org, State.BRAND_APPROVED)
    page = support_client.get(reverse("compliance:support_case", args=[brand_approved.pk])).content.decode()
    assert "Costs $25.00 now: campaign vetting $15.00 and the first monthly fee $10.00" in page
    assert "Costs $4.50" not in page


def test_registering_the_brand_again_is_warned_about(support_client, org):
    Brand.objects.create(organisation=org, legal_name="Acme Test Inc.", registry_id="B7OLD77", status="approved")
    case = make_case(org, State.FORM_SUBMITTED)
    page = support_client.get(reverse("compliance:support_case", args=[case.pk])).content.decode()
    assert "already has the approved brand B7OLD77" in page


def test_a_search_finding_too_many_cases_says_so(support_client, org):
    from compliance.queries import SEARCH_LIMIT

    template = make_case(org, State.FORM_SENT, numbers=[])
    fields = {
        f.attname: getattr(template, f.attname) for f in RegistrationCase._meta.concrete_fields if not f.primary_key
    }
    RegistrationCase.objects.bulk_create([RegistrationCase(**fields) for _ in range(SEARCH_LIMIT)])
    html = support_client.get(QUEUE, {"q": "Acme"}).content.decode()
    assert f"More than {SEARCH_LIMIT:,} cases match: the first {SEARCH_LIMIT:,} found are listed." in html
    narrow = support_client.get(QUEUE, {"q": f"#{template.pk}"}).content.decode()
    assert listed(narrow) == {template.pk} and "More than" not in narrow


def test_other_organisations_are_not_in_a_search_for_one(support_client, world):
    html = support_client.get(QUEUE, {"q": "Acme"}).content.decode()
    assert world["globex"].pk not in listed(html)


# --- the indexes the search relies on (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, index",
    [
        ("555-0100", "phone_number_e164_reversed"),  # the last digits
        ("512-555", "provisioning_phonenumber_e164_"),  # the first digits: e164's pattern index (…_like)
        ("B1ACME1", "brand_registry_id_unique"),
        ("Acme Test", "organisation_name_upper_trgm"),
    ],
)
def test_each_search_can_be_answered_from_its_index(postgres, world, typed, index):
    """The SQL the search sends matches the expression its index was built on (migration 0006_support_search), so
    PostgreSQL can use it once the tables are large (here, with sequential scans switched off, it must)."""
    from compliance.queries import search_query

    with postgres.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # nor a whole-index scan with a filter: tiny tables
    plan = search_query(parse_case_search(typed)).explain()
    assert index in plan, plan
