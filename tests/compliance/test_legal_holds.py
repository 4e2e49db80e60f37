"""Legal hold pages and actions (compliance officers only): placing, listing with the count of held texts, changing,
releasing with confirmation; every change audited; another organisation's hold is a 404; full and read-only
administrators without the compliance-officer role are refused; bad input saves nothing and says why."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from compliance.actions.holds import HoldRefused, change_hold, place_hold, release_hold
from compliance.models import LegalHold, LegalHoldNumber, LegalHoldUser
from portal.models import AuditEvent, User
from tests.factories import client_for, make_compliance_officer, make_location, make_numbers, make_user
from tests.texting.factories import make_text

OLD = datetime.now(UTC) - timedelta(days=500)


@pytest.fixture
def officer(org):
    return make_compliance_officer(org, role=User.Role.READONLY_ADMIN, email="officer@acme.test")


@pytest.fixture
def officer_client(officer):
    return client_for(officer)


@pytest.fixture
def texter(org):
    return make_user(org, role=User.Role.END_USER, email="texter@acme.test")


@pytest.fixture
def number(org):
    return make_numbers(make_location(org), 1, start=3)[0]


@pytest.fixture
def hold(org, officer, texter):
    return place_hold(org, officer, name="Smith v Acme", reference="LIT-7", user_ids=[texter.pk])


def tables():
    return (LegalHold.objects.count(), LegalHoldUser.objects.count(), LegalHoldNumber.objects.count())


@pytest.mark.django_db
def test_an_officer_places_a_hold_and_sees_it_listed_with_its_held_texts(officer_client, org, texter, number):
    make_text(org, created_at=OLD, user=texter)
    make_text(org, user=texter)
    make_text(org, created_at=OLD, number=number.e164)
    make_text(org, created_at=OLD)  # nobody's: not held
    response = officer_client.post(
        reverse("compliance:hold_new"),
        {
            "name": "Smith v Acme",
            "reference": "LIT-2026-014",
            "description": "Preserve everything",
            "users": [texter.pk],
            "numbers": f"({number.e164[2:5]}) {number.e164[5:8]}-{number.e164[8:]}",
            "first_day": "",
            "last_day": "",
        },
    )
    hold = LegalHold.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("compliance:hold", args=[hold.pk])
    assert list(hold.users.all()) == [texter] and [n.e164 for n in hold.custodian_numbers.all()] == [number.e164]
    event = AuditEvent.objects.get(action="legal_hold.placed")
    assert event.organisation == org and event.target_id == str(hold.pk)
    assert event.details["users"] == [texter.email] and event.details["numbers"] == [number.e164]

    page = officer_client.get(reverse("compliance:holds")).content.decode()
    assert "Smith v Acme" in page and "LIT-2026-014" in page
    assert '<td class="held-count">3 <span class="muted small">(2 past retention)</span></td>' in page
    detail = officer_client.get(reverse("compliance:hold", args=[hold.pk])).content.decode()
    assert '<strong class="held-count">3</strong>' in detail and texter.email in detail and number.e164 in detail


@pytest.mark.django_db
def test_a_date_range_is_whole_days_in_utc(officer_client, texter):
    officer_client.post(
        reverse("compliance:hold_new"),
        {"name": "Q1", "users": [texter.pk], "first_day": "2025-01-01", "last_day": "2025-03-31"},
    )
    hold = LegalHold.objects.get()
    assert hold.held_from == datetime(2025, 1, 1, tzinfo=UTC) and hold.held_until == datetime(2025, 4, 1, tzinfo=UTC)
    page = officer_client.get(reverse("compliance:hold", args=[hold.pk])).content.decode()
    assert "2025-01-01 – 2025-03-31" in page


def _bad(officer_client, **fields):
    data = {"name": "Matter", "users": [], "numbers": "", "first_day": "", "last_day": "", **fields}
    before = (tables(), AuditEvent.objects.count())
    response = officer_client.post(reverse("compliance:hold_new"), data)
    assert response.status_code == 422
    assert (tables(), AuditEvent.objects.count()) == before  # nothing saved, nothing audited
    return response.content.decode()


@pytest.mark.django_db
def test_bad_input_saves_nothing_and_says_why(officer_client, org, other_org, texter, number):
    stranger = make_user(other_org, role=User.Role.END_USER, email="stranger@globex.test")
    their_number = make_numbers(make_location(other_org), 1, start=8)[0]
    assert "not users of your organisation" in _bad(officer_client, users=[texter.pk, stranger.pk])
    assert "not users of your organisation" in _bad(officer_client, users=[999999])
    assert "not users of your organisation" in _bad(officer_client, users=["x1"])
    page = _bad(officer_client, numbers=f"{number.e164}\n{their_number.e164}")
    assert "is not a number of your organisation" in page
    assert "is not a valid US or Canadian telephone number" in _bad(officer_client, numbers="+1 555 000")
    assert "Choose at least one custodian" in _bad(officer_client)
    assert "The last day is before the first day" in _bad(
        officer_client, users=[texter.pk], first_day="2025-02-01", last_day="2025-01-31"
    )
    assert "Enter a valid date" in _bad(officer_client, users=[texter.pk], first_day="2025-02-30")
    assert "This field is required" in _bad(officer_client, name="", users=[texter.pk])


@pytest.mark.django_db
def test_the_actions_refuse_other_organisations_custodians_and_other_people(org, other_org, officer, texter, admin):
    stranger = make_user(other_org, role=User.Role.END_USER, email="stranger@globex.test")
    their_number = make_numbers(make_location(other_org), 1, start=8)[0]
    with pytest.raises(HoldRefused, match="not users of your organisation"):
        place_hold(org, officer, name="x", user_ids=[stranger.pk])
    with pytest.raises(HoldRefused, match="not numbers of your organisation"):
        place_hold(org, officer, name="x", number_ids=[their_number.pk])
    with pytest.raises(HoldRefused, match="Only compliance officers"):
        place_hold(org, admin, name="x", user_ids=[texter.pk])
    with pytest.raises(HoldRefused, match="before its first day"):
        place_hold(org, officer, name="x", user_ids=[texter.pk], held_from=OLD, held_until=OLD)
    assert tables() == (0, 0, 0)


@pytest.mark.django_db
def test_changing_a_hold_replaces_its_custodians_and_is_audited(officer_client, officer, org, hold, number):
    page = officer_client.get(reverse("compliance:hold_edit", args=[hold.pk])).content.decode()
    assert 'value="Smith v Acme"' in page and " selected>" in page
    response = officer_client.post(
        reverse("compliance:hold_edit", args=[hold.pk]),
        {"name": "Smith v Acme (amended)", "reference": "LIT-7", "numbers": number.e164},
    )
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.name == "Smith v Acme (amended)"
    assert list(hold.users.all()) == [] and list(hold.numbers.all()) == [number]
    event = AuditEvent.objects.get(action="legal_hold.changed")
    assert event.details["before"]["users"] == ["texter@acme.test"] and event.details["after"]["numbers"] == [
        number.e164
    ]


@pytest.mark.django_db
def test_release_needs_confirmation_then_releases_once(officer_client, officer, hold):
    url = reverse("compliance:hold_release", args=[hold.pk])
    page = officer_client.get(url).content.decode()
    assert "Release legal hold" in page and "keeps 0 texts" in page
    response = officer_client.post(url, {"note": "Settled"})
    assert response.status_code == 422 and "Tick the box to confirm the release" in response.content.decode()
    hold.refresh_from_db()
    assert hold.is_active and not AuditEvent.objects.filter(action="legal_hold.released").exists()

    response = officer_client.post(url, {"note": "Settled", "confirm": "on"}, follow=True)
    hold.refresh_from_db()
    assert hold.status == LegalHold.Status.RELEASED and hold.released_by == officer and hold.release_note == "Settled"
    assert "Legal hold released" in response.content.decode()
    assert AuditEvent.objects.filter(action="legal_hold.released", target_id=str(hold.pk)).count() == 1

    again = officer_client.post(url, {"confirm": "on"}, follow=True)
    assert "already released" in again.content.decode()
    assert AuditEvent.objects.filter(action="legal_hold.released").count() == 1
    edit = officer_client.post(reverse("compliance:hold_edit", args=[hold.pk]), {"name": "x"}, follow=True)
    assert "can no longer be changed" in edit.content.decode()
    with pytest.raises(HoldRefused, match="can no longer be changed"):
        change_hold(hold, officer, name="x", user_ids=[officer.pk])
    with pytest.raises(HoldRefused, match="already released"):
        release_hold(hold, officer)


def _every_hold_request(hold):
    data = {"name": "Hijacked", "users": [], "numbers": "", "confirm": "on"}
    return [
        ("get", reverse("compliance:holds"), None),
        ("get", reverse("compliance:hold_new"), None),
        ("post", reverse("compliance:hold_new"), data),
        ("get", reverse("compliance:hold", args=[hold.pk]), None),
        ("get", reverse("compliance:hold_edit", args=[hold.pk]), None),
        ("post", reverse("compliance:hold_edit", args=[hold.pk]), data),
        ("get", reverse("compliance:hold_release", args=[hold.pk]), None),
        ("post", reverse("compliance:hold_release", args=[hold.pk]), data),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("role", [User.Role.FULL_ADMIN, User.Role.READONLY_ADMIN, User.Role.END_USER])
def test_without_the_officer_role_every_hold_page_and_action_is_refused(org, hold, role):
    user = make_user(org, role=role, email=f"{role}@acme.test")
    client = client_for(user)
    before = (tables(), list(LegalHold.objects.values_list("name", "status")), AuditEvent.objects.count())
    for method, url, data in _every_hold_request(hold):
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 403, (method, url)
    assert (tables(), list(LegalHold.objects.values_list("name", "status")), AuditEvent.objects.count()) == before
    anonymous = Client().get(reverse("compliance:holds"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_another_organisations_officer_gets_404_and_changes_nothing(other_org, hold):
    stranger = client_for(make_compliance_officer(other_org, role=User.Role.FULL_ADMIN, email="officer@globex.test"))
    before = (tables(), list(LegalHold.objects.values_list("name", "status")), AuditEvent.objects.count())
    for method, url, data in _every_hold_request(hold)[3:]:
        response = getattr(stranger, method)(url, data) if data else getattr(stranger, method)(url)
        assert response.status_code == 404, (method, url)
    assert (tables(), list(LegalHold.objects.values_list("name", "status")), AuditEvent.objects.count()) == before
    listing = stranger.get(reverse("compliance:holds")).content.decode()
    assert "Smith v Acme" not in listing and "No legal holds yet." in listing


@pytest.mark.django_db
def test_changes_need_the_csrf_token(officer, hold, texter):
    client = client_for(officer, enforce_csrf_checks=True)
    assert client.post(reverse("compliance:hold_new"), {"name": "x", "users": [texter.pk]}).status_code == 403
    assert client.post(reverse("compliance:hold_release", args=[hold.pk]), {"confirm": "on"}).status_code == 403
    assert LegalHold.objects.count() == 1 and LegalHold.objects.get().is_active


@pytest.mark.django_db
def test_the_sidebar_shows_legal_holds_to_officers_only(officer_client, admin_client):
    assert "Legal holds" in officer_client.get(reverse("portal:overview")).content.decode()
    assert "Legal holds" not in admin_client.get(reverse("portal:overview")).content.decode()


@pytest.mark.django_db
def test_the_edit_page_offers_every_user_once_with_the_custodians_selected_in_constant_queries(
    officer_client, org, hold, texter, django_assert_num_queries
):
    others = [make_user(org, role=User.Role.END_USER, email=f"person{i}@acme.test") for i in range(20)]
    url = reverse("compliance:hold_edit", args=[hold.pk])
    officer_client.get(url)  # the session's first read aside
    # Session, user, organisation, the hold, its users, its numbers, the users to choose from: the choices are read
    # once (the form is built once), however many users there are.
    with django_assert_num_queries(7):
        page = officer_client.get(url).content.decode()
    assert page.count(f'<option value="{texter.pk}" selected>') == 1
    for person in others:
        assert page.count(f'<option value="{person.pk}">') == 1
