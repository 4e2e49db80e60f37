"""The opt-out registry (issue 11): the page, its search and CSV export, adding and removing a number by hand with a
reason, importing a do-not-text list all or nothing, and the sending API applying every change at once."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import AuditEvent, User
from provisioning.phone import normalise_tn
from tests.factories import make_org, make_user
from tests.security.snapshot import differences, fingerprint
from tests.texting.factories import APP_VERSION, issue_token, make_texter
from texting import actions
from texting.actions import receive_text
from texting.actions.opt_outs import MAX_IMPORT_BYTES, MAX_IMPORT_NUMBERS, check_do_not_text_file
from texting.models import Message, OptOut

pytestmark = pytest.mark.django_db

REGISTRY = "/texting/opt-outs/"
ADD = "/texting/opt-outs/add/"
IMPORT = "/texting/opt-outs/import/"
EXPORT = "/texting/opt-outs/export.csv"


def remove_url(entry):
    return f"/texting/opt-outs/{entry.pk}/remove/"


def post_text(token, to):
    return Client(enforce_csrf_checks=True).post(
        "/api/texting/messages",
        data=json.dumps({"to": to, "body": "Your table is ready."}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_X_WEBEX_APP_VERSION=APP_VERSION,
    )


def upload(content: bytes, name="do-not-text.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def stop_from(number, party, message_id="M-stop"):
    receive_text(carrier_message_id=message_id, sender=party, recipient=number.e164, body="STOP")


def switch_support(client, support, org):
    """Sign support staff in, switched to `org` (read-only, like Control Hub's support view)."""
    client.force_login(support)
    session = client.session
    session[SUPPORT_ORG_SESSION_KEY] = org.pk
    session.save()


def entry_of(org, party):
    return OptOut.objects.get(organisation=org, party=party)


@pytest.fixture
def texter(org, admin):
    user, number = make_texter(org)
    return user, number, issue_token(admin, user)


def test_the_urls_are_the_documented_ones():
    assert reverse("texting:opt_outs") == REGISTRY
    assert reverse("texting:opt_out_add") == ADD
    assert reverse("texting:opt_out_import") == IMPORT
    assert reverse("texting:opt_outs_export") == EXPORT


# --- the page ------------------------------------------------------------------------------------------------------


def test_the_registry_lists_every_opt_out_of_the_organisation_and_only_its_own(
    admin_client, org, other_org, texter, admin
):
    _, number, _ = texter
    stop_from(number, "+14155550101")
    actions.add_opt_out(org, admin, "+1 416 555 0102", "Asked by phone")
    other_admin = make_user(other_org, role=User.Role.FULL_ADMIN, email="admin@globex.test")
    actions.add_opt_out(other_org, other_admin, "+14155550999", "Globex private note")
    page = admin_client.get(REGISTRY).content.decode()
    assert "+1 415-555-0101" in page and "STOP keyword" in page and "<code>STOP</code>" in page
    assert "+1 416-555-0102" in page and "Asked by phone" in page and "admin@acme.test" in page
    assert "555-0999" not in page and "Globex private note" not in page
    assert "2 numbers are on the registry" in page


def test_the_registry_searches_by_partial_digits_in_any_writing(admin_client, org, admin):
    for party in ("+14155550101", "+14155550102", "+14165550177"):
        actions.add_opt_out(org, admin, party, "Listed")
    for search in ("0177", "416 555", "(416) 555-0177"):
        page = admin_client.get(REGISTRY, {"q": search}).content.decode()
        assert "+1 416-555-0177" in page and "+1 415-555-0101" not in page, search
    page = admin_client.get(REGISTRY, {"q": "1 415 555"}).content.decode()
    assert "+1 415-555-0101" in page and "+1 415-555-0102" in page and "+1 416-555-0177" not in page


def test_a_search_without_digits_is_refused_with_a_message_and_not_applied(admin_client, org, admin):
    actions.add_opt_out(org, admin, "+14155550101", "Listed")
    response = admin_client.get(REGISTRY, {"q": "smith"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Search by the digits of a number." in page and "+1 415-555-0101" in page


def test_the_registry_pages_fifty_at_a_time_and_swaps_the_table_with_htmx(admin_client, org, admin):
    OptOut.objects.bulk_create(
        [OptOut(organisation=org, party=f"+1415555{n:04d}", keyword="STOP") for n in range(1000, 1060)]
    )
    first = admin_client.get(REGISTRY).content.decode()
    assert "Page 1 of 2" in first and first.count('class="tn"') == 50
    second = admin_client.get(REGISTRY, {"page": "2"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="registry")
    body = second.content.decode()
    assert body.lstrip().startswith('<section class="card" id="registry">') and "<html" not in body
    assert body.count('class="tn"') == 10 and "Page 2 of 2" in body
    assert "HX-Request" in second["Vary"]


def test_ended_entries_are_listed_under_ended_not_in_effect(admin_client, org, admin, texter):
    _, number, _ = texter
    stop_from(number, "+14155550101", "M1")
    receive_text(carrier_message_id="M2", sender="+14155550101", recipient=number.e164, body="START")
    entry = actions.add_opt_out(org, admin, "+14155550102", "Listed")
    actions.remove_opt_out(org, admin, entry.pk, "Customer asked to hear from us again")
    in_effect = admin_client.get(REGISTRY).content.decode()
    assert "555-0101" not in in_effect and "555-0102" not in in_effect
    ended = admin_client.get(REGISTRY, {"state": "ended"}).content.decode()
    assert "Opted back in (START)" in ended and "Customer asked to hear from us again" in ended


def test_read_only_admins_and_support_see_the_registry_without_the_forms(readonly_client, client, org, admin, support):
    actions.add_opt_out(org, admin, "+14155550101", "Listed")
    page = readonly_client.get(REGISTRY).content.decode()
    assert "+1 415-555-0101" in page and ADD not in page and "/remove/" not in page and IMPORT not in page
    switch_support(client, support, org)
    page = client.get(REGISTRY).content.decode()
    assert "+1 415-555-0101" in page and ADD not in page


def test_end_users_have_no_registry(client, org):
    client.force_login(make_user(org, role=User.Role.END_USER))
    assert client.get(REGISTRY).status_code == 403


# --- adding and removing by hand -----------------------------------------------------------------------------------


def test_a_full_admin_adds_a_number_and_the_next_text_to_it_is_refused(admin_client, org, admin, texter):
    _, _, token = texter
    assert post_text(token, "+14155550188").status_code == 202
    response = admin_client.post(ADD, {"add-number": "(415) 555-0188", "add-reason": "Asked us by phone"})
    assert response.status_code == 302
    entry = entry_of(org, "+14155550188")
    assert (entry.source, entry.reason, entry.added_by, entry.is_active) == ("manual", "Asked us by phone", admin, True)
    event = AuditEvent.objects.get(action="texting.opt_out.added")
    assert event.actor == admin and event.organisation == org and event.details["reason"] == "Asked us by phone"
    refused = post_text(token, "+14155550188")
    assert refused.status_code == 403
    data = refused.json()
    assert data["reason"] == "recipient_opted_out" and "do-not-text list" in data["detail"]
    assert Message.objects.get(pk=data["id"]).blocked_reason == "recipient_opted_out"


def test_removing_a_number_allows_texting_it_again_at_once(admin_client, org, admin, texter):
    _, number, token = texter
    stop_from(number, "+14155550188")
    assert post_text(token, "+14155550188").json()["reason"] == "recipient_opted_out"
    entry = entry_of(org, "+14155550188")
    response = admin_client.post(remove_url(entry), {"remove-reason": "Consent on file, signed form"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert not entry.is_active and entry.removed_by == admin and entry.removal_reason == "Consent on file, signed form"
    assert entry.source == "keyword" and entry.keyword == "STOP"  # the history of how it started is kept
    event = AuditEvent.objects.get(action="texting.opt_out.removed")
    assert event.actor == admin and event.details["party"] == "+14155550188"
    assert post_text(token, "+14155550188").status_code == 202


def test_a_stop_after_a_manual_removal_opts_out_again_as_a_keyword(org, admin, texter):
    _, number, token = texter
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    actions.remove_opt_out(org, admin, entry.pk, "Mistake")
    stop_from(number, "+14155550188")
    entry.refresh_from_db()
    assert entry.is_active and entry.source == "keyword" and entry.reason == "" and entry.removal_reason == ""
    assert "replied STOP" in post_text(token, "+14155550188").json()["detail"]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"add-number": "+14155550188", "add-reason": ""}, "Say why this number must not be texted."),
        ({"add-number": "+14155550188", "add-reason": "   "}, "Say why this number must not be texted."),
        ({"add-number": "", "add-reason": "By phone"}, "Enter the number to add."),
        ({"add-number": "555", "add-reason": "By phone"}, "not a valid US or Canadian telephone number"),
        ({"add-number": "+44 20 7946 0958", "add-reason": "By phone"}, "not a US or Canadian number"),
        ({"add-number": "+14155550188", "add-reason": "x" * 301}, "at most 300 characters"),
        ({"add-number": "+14155550188", "add-reason": "bad\x00"}, "NUL"),
    ],
)
def test_bad_input_to_add_is_refused_with_a_message_and_changes_nothing(admin_client, org, data, message):
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(ADD, data)
    assert response.status_code == 422 and message in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_adding_a_number_already_on_the_registry_says_so_and_changes_nothing(admin_client, org, texter):
    _, number, _ = texter
    stop_from(number, "+14155550188")
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(ADD, {"add-number": "415 555 0188", "add-reason": "By phone"})
    assert response.status_code == 422 and "already on the opt-out registry" in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_removing_without_a_reason_or_twice_changes_nothing(admin_client, org, admin):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(remove_url(entry), {"remove-reason": " "}, follow=True)
    assert "was not removed" in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []
    actions.remove_opt_out(org, admin, entry.pk, "Consent")
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(remove_url(entry), {"remove-reason": "Again"}, follow=True)
    assert "no longer on the opt-out registry" in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 301, "nul\x00"])
def test_the_actions_refuse_a_missing_or_bad_reason_and_change_nothing(org, admin, reason):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    before = fingerprint({org.pk: "home"})
    with pytest.raises(actions.TextingError):
        actions.add_opt_out(org, admin, "+14155550177", reason)
    with pytest.raises(actions.TextingError):
        actions.remove_opt_out(org, admin, entry.pk, reason)
    with pytest.raises(actions.TextingError):
        actions.import_do_not_text_list(org, admin, b"+14155550166\n", reason)
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_the_actions_refuse_anyone_but_the_organisations_full_admins(org, admin, readonly, other_org):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    stranger = make_user(other_org, role=User.Role.FULL_ADMIN, email="admin@globex.test")
    before = fingerprint({org.pk: "home"})
    for who in (readonly, stranger):
        with pytest.raises(actions.TextingError):
            actions.add_opt_out(org, who, "+14155550177", "Mine")
        with pytest.raises(actions.TextingError):
            actions.remove_opt_out(org, who, entry.pk, "Mine")
        with pytest.raises(actions.TextingError):
            actions.import_do_not_text_list(org, who, b"+14155550166\n", "Mine")
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_read_only_admins_and_support_cannot_change_the_registry(readonly_client, client, org, admin, support):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    switch_support(client, support, org)
    before = fingerprint({org.pk: "home"})
    for who in (readonly_client, client):
        assert who.post(ADD, {"add-number": "+14155550177", "add-reason": "x"}).status_code == 403
        assert who.post(remove_url(entry), {"remove-reason": "x"}).status_code == 403
        assert who.post(IMPORT, {"file": upload(b"+14155550166\n"), "reason": "x"}).status_code == 403
        assert who.get(IMPORT).status_code == 403
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_another_organisations_entry_is_a_404_and_stays(admin_client, other_org):
    other_admin = make_user(other_org, role=User.Role.FULL_ADMIN, email="admin@globex.test")
    entry = actions.add_opt_out(other_org, other_admin, "+14155550188", "Theirs")
    assert admin_client.post(remove_url(entry), {"remove-reason": "Mine now"}).status_code == 404
    entry.refresh_from_db()
    assert entry.is_active and entry.removed_by is None


def test_add_and_remove_are_post_only(admin_client, org, admin):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    assert admin_client.get(ADD).status_code == 405
    assert admin_client.get(remove_url(entry)).status_code == 405


def test_add_and_remove_need_the_csrf_token(org, admin):
    entry = actions.add_opt_out(org, admin, "+14155550188", "By phone")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin)
    assert browser.post(ADD, {"add-number": "+14155550177", "add-reason": "x"}).status_code == 403
    assert browser.post(remove_url(entry), {"remove-reason": "x"}).status_code == 403
    assert entry_of(org, "+14155550188").is_active and not OptOut.objects.filter(party="+14155550177").exists()


# --- importing a do-not-text list ---------------------------------------------------------------------------------


def test_a_clean_file_is_imported_whole_in_one_go_and_audited_with_the_count(admin_client, org, admin, texter):
    _, number, token = texter
    stop_from(number, "+14155550103")  # already on the registry: left as it was
    content = b"number,reason\n+1 415 555 0101,CRM flag\n(415) 555-0102\n\n4155550103\n"
    response = admin_client.post(IMPORT, {"file": upload(content), "reason": "CRM do-not-text list"}, follow=True)
    page = response.content.decode()
    assert "Imported 2 numbers" in page and "1 was already on it" in page
    first, second = entry_of(org, "+14155550101"), entry_of(org, "+14155550102")
    assert (first.source, first.reason, first.added_by) == ("import", "CRM flag", admin)
    assert (second.source, second.reason) == ("import", "CRM do-not-text list")
    assert entry_of(org, "+14155550103").source == "keyword"
    event = AuditEvent.objects.get(action="texting.opt_outs.imported")
    assert event.details["count"] == 2 and event.details["already"] == 1 and event.actor == admin
    assert post_text(token, "+14155550102").json()["reason"] == "recipient_opted_out"


def test_an_import_restarts_numbers_whose_opt_out_had_ended(org, admin, texter):
    _, number, _ = texter
    stop_from(number, "+14155550101", "M1")
    receive_text(carrier_message_id="M2", sender="+14155550101", recipient=number.e164, body="START")
    result = actions.import_do_not_text_list(org, admin, b"+14155550101\n", "List")
    entry = entry_of(org, "+14155550101")
    assert (result.added, result.restarted, entry.is_active, entry.source) == (0, 1, True, "import")


def test_a_file_with_errors_lists_each_with_its_line_number_and_imports_nothing(admin_client, org):
    content = b"number\n+14155550101\nnot a number\n+44 20 7946 0958\n415-555-0101\n+14155550105\n"
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(IMPORT, {"file": upload(content), "reason": "CRM list"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was imported" in page and "The file has 3 errors" in page
    assert '<td class="num">3</td><td>“not a number” is not a telephone number.' in page
    assert '<td class="num">4</td>' in page and "not a US or Canadian number" in page
    assert '<td class="num">5</td><td>+1 415-555-0101 is already on line 2.' in page
    assert differences(before, fingerprint({org.pk: "home"})) == []
    assert not AuditEvent.objects.filter(action="texting.opt_outs.imported").exists()


def test_a_list_over_the_size_limit_is_refused_at_the_line_that_passes_it(admin_client, org):
    lines = "\n".join(f"+1415{n:07d}" for n in range(5550000, 5550000 + MAX_IMPORT_NUMBERS + 1))
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(IMPORT, {"file": upload(lines.encode()), "reason": "Big list"})
    assert response.status_code == 422
    assert f'<td class="num">{MAX_IMPORT_NUMBERS + 1}</td><td>More than 10,000 numbers' in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


@pytest.mark.parametrize(
    "content, message",
    [
        (b"x" * (MAX_IMPORT_BYTES + 1), "The file is larger than 1024 KB"),
        (b"\xff\xfe+\x001\x00", "not UTF-8"),
        (b"number\n\n", "holds no telephone numbers"),
        (b"+14155550101,\x00\n", "NUL"),
    ],
)
def test_a_file_that_is_not_a_list_is_refused_as_a_whole(admin_client, org, content, message):
    before = fingerprint({org.pk: "home"})
    response = admin_client.post(IMPORT, {"file": upload(content), "reason": "List"})
    assert response.status_code == 422 and message in response.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_an_import_without_a_file_or_a_reason_is_refused(admin_client, org):
    before = fingerprint({org.pk: "home"})
    no_file = admin_client.post(IMPORT, {"reason": "List"})
    assert no_file.status_code == 422 and "Choose a CSV file to import." in no_file.content.decode()
    no_reason = admin_client.post(IMPORT, {"file": upload(b"+14155550101\n"), "reason": ""})
    assert no_reason.status_code == 422 and "Say why you import this list" in no_reason.content.decode()
    assert differences(before, fingerprint({org.pk: "home"})) == []


def test_the_import_page_explains_the_format(admin_client):
    page = admin_client.get(IMPORT).content.decode()
    assert "one telephone number per line" in page and "10,000" in page and "All or nothing" in page


# --- CSV export ----------------------------------------------------------------------------------------------------


def test_the_export_streams_the_filtered_registry_as_csv_and_is_audited(readonly_client, org, admin, readonly):
    actions.add_opt_out(org, admin, "+14155550101", "=HYPERLINK(evil)")
    actions.add_opt_out(org, admin, "+14165550102", "By phone")
    response = readonly_client.get(EXPORT, {"q": "416"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["number", "status", "source"] and len(rows) == 2
    assert rows[1][:3] == ["+14165550102", "opted_out", "manual"] and rows[1][5] == "By phone"
    event = AuditEvent.objects.get(action="texting.opt_outs.exported")
    assert event.actor == readonly and event.details == {"rows": 1, "search": "416", "state": "active"}
    everything = readonly_client.get(EXPORT)
    rows = list(csv.reader(io.StringIO(b"".join(everything.streaming_content).decode())))
    assert "'=HYPERLINK(evil)" in [row[5] for row in rows]  # never run as a formula by a spreadsheet


def test_the_export_holds_only_the_organisations_own_entries(admin_client, org, admin, other_org):
    other_admin = make_user(other_org, role=User.Role.FULL_ADMIN, email="admin@globex.test")
    actions.add_opt_out(other_org, other_admin, "+14155550999", "Theirs")
    actions.add_opt_out(org, admin, "+14155550101", "Ours")
    body = b"".join(admin_client.get(EXPORT, {"state": "all"}).streaming_content).decode()
    assert "+14155550101" in body and "+14155550999" not in body and "Theirs" not in body


def test_an_organisation_without_business_texting_still_has_a_registry_page(client):
    org = make_org("No Addon", addon=False)
    client.force_login(make_user(org, role=User.Role.FULL_ADMIN))
    assert client.get(REGISTRY).status_code == 200


# --- reading a do-not-text file, for any bytes ---------------------------------------------------------------------


FILE_LIKE = st.text(alphabet=st.sampled_from('+1()-. ,\n\r"4155502369x'), max_size=400).map(str.encode)


@given(st.one_of(st.binary(max_size=400), FILE_LIKE))
@settings(max_examples=300, deadline=None, derandomize=True)
def test_any_file_is_either_refused_with_line_numbers_or_read_as_distinct_valid_numbers(content):
    """Reading never raises; a file is refused with its errors (each with a line number within the file) or gives
    numbers, every one a valid E.164 US/CA number, none twice."""
    check = check_do_not_text_file(content)
    lines = content.count(b"\n") + content.count(b"\r") + 1
    assert check.errors or check.lines
    for line, message in check.errors:
        assert 0 <= line <= lines and message
    parties = [item.party for item in check.lines]
    assert len(parties) == len(set(parties))
    assert all(normalise_tn(party) == party for party in parties)
