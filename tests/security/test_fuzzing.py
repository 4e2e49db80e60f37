"""Every form and the JSON API, driven by hypothesis with arbitrary input.

For each submission: never a server error; a refused submission saves nothing (a fingerprint of every table before
and after, tests/security/snapshot.py) and the user is told (a 4xx answer, or the page shown again with the error);
an accepted one changes only what that form is about. Hypothesis often produces valid submissions too (inputs are
valid forms with a few fields replaced), so every test decides from the answer which one it got.

Covered (URL name: what is fuzzed):
- `login`: sign-in (username, password, next: open redirects too);
- `password_change`: old and new passwords;
- `portal:switch_organisation`: support staff's choice of organisation;
- `provisioning:authorize_selection`: the Authorize wizard's selection changes (op, location, id, number, page_ids,
  q, assigned, page), plain and HTMX; the selection never holds a number that cannot be authorised;
- `provisioning:authorize_summary` + `provisioning:authorize_submit`: the summary's one-time token (right, stale,
  another order's, anything) over selections that may have gone stale;
- `compliance:case_open`: contact fields, numbers, location, "include all matching";
- `compliance:case_form`: the 10DLC registration form, every field, as a draft and submitted, brand unlocked and
  locked (after a campaign rejection);
- `compliance:case_message`, `compliance:case_cancel`: the customer's message and cancellation;
- `compliance:support_action`: each action slug in a run of its own (and unknown slugs), on cases in states drawn from
  the ten support acts on (half the time one that allows the action), with every action's fields;
- `texting:set_business_texting`: the switch, with and without the add-on licence;
- `texting:issue_api_token`: email and label;
- `texting:opt_out_add`, `texting:support_suspend`: the opt-out registry's number and reason, support's
  organisation, number and reason (the do-not-text import's parser has a property test of its own:
  tests/texting/test_opt_out_registry.py);
- `texting:api_send_message`: JSON bodies of every shape, not-JSON bytes, huge bodies, any token and app version;
- `texting:api_inbound`, `texting:carrier_message_callback`, `provisioning:number_order_callback`,
  `compliance:registration_callback`: bodies of every shape, signed and not.

Not here: GET-only pages and filters (tests/security/test_isolation_sweep.py requests every URL), the password reset
pages (Django's own, and they change nothing before the emailed link), Django's admin site.

Strategies are aimed at the bench's real objects (valid forms with a few fields replaced, real ids most of the
time), and the two tests whose guards would otherwise stop most examples (the wizard's selection, the support actions)
count how each example ended (`Reached`) and fail unless enough of them reached the selection or the action.

Each example runs in a savepoint rolled back afterwards (tests/security/fuzzing.py: `undone`), so examples do not
leak into one another and a failure replays exactly. Examples are derandomised: CI sees the same inputs every run.
"""

from urllib.parse import quote, urlsplit

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.models import RegistrationCase
from compliance.models.registration import EntityType, MonthlyVolume, StockExchange, UseCase, Vertical
from compliance.views.support import ACTIONS
from portal.env import env_int
from portal.lists import NotAnId, parse_id, parse_ids
from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import AuditEvent, User
from provisioning.actions import AUTHORISABLE_STATES
from provisioning.models import AuthorisationOrder, Licence, PhoneNumber, WizardSelectedNumber, WizardSelection
from provisioning.wizard import SESSION_KEY
from tests.compliance.factories import VALID_FORM
from tests.factories import PASSWORD
from texting.models import ApiToken, BlockReason, Message, OptOut, ServiceSettings, Suspension

from .fuzzing import (
    APP_VERSION,
    CASE_STATES,
    RECIPIENT,
    Reached,
    build_bench,
    header_text,
    hostile_text,
    ids,
    json_object,
    json_values,
    mostly,
    mutated,
    raw_bodies,
    signed,
    submit,
    undone,
    value,
)
from .snapshot import fingerprint

pytestmark = pytest.mark.django_db

# FUZZ_EXAMPLES=500 searches deeper (minutes): worth a run after changing a form or a parser.
FUZZ = settings(
    max_examples=env_int("FUZZ_EXAMPLES", 40),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def bench(db):
    return build_bench()


# --- the shell: signing in, changing one's password ---------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_sign_in_form(bench, data):
    form = data.draw(
        mutated(
            {"username": bench.admin.email, "password": PASSWORD, "next": "/cases/"},
            {
                "username": value(bench.admin.email, bench.admin.email.upper(), bench.support.email),
                "password": value(PASSWORD, PASSWORD.upper()),
                "next": value(
                    "/cases/", "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x()"
                ),
            },
        )
    )
    with undone():
        client = bench.client()
        last_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        seen = submit(client, bench, reverse("login"), form=form)
        if seen.status == 302:
            assert "_auth_user_id" in client.session and form.get("password") == PASSWORD, seen.describe()
            target = urlsplit(seen.response["Location"].replace("\\", "/"))
            assert not target.scheme and not target.netloc, f"sent off-site: {seen.response['Location']}"
            assert seen.changed <= {"portal.User", "portal.AuditEvent"}, seen.describe()
        else:
            assert seen.status == 200 and seen.shows_error, f"sign-in refused without saying why: {seen.describe()}"
            assert "_auth_user_id" not in client.session
            # Nothing saved but the audit of the failed attempt (README: every failed sign-in is in the audit log).
            assert seen.changed <= {"portal.AuditEvent"}, seen.describe()
            new_events = AuditEvent.objects.filter(pk__gt=last_event).values_list("action", flat=True)
            assert set(new_events) <= {"auth.login_failed"}


NEW_PASSWORD = "Fuzz-Strong-Passw0rd!"


@FUZZ
@given(data=st.data())
def test_password_change_form(bench, data):
    form = data.draw(
        mutated(
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
            {
                name: value(PASSWORD, NEW_PASSWORD, "short", bench.admin.email)
                for name in ("old_password", "new_password1", "new_password2")
            },
        )
    )
    with undone():
        client = bench.client(bench.admin)
        seen = submit(client, bench, reverse("password_change"), form=form)
        admin = User.objects.get(pk=bench.admin.pk)
        if seen.status == 302:
            assert form.get("old_password") == PASSWORD and admin.check_password(form["new_password1"])
            assert seen.changed <= {"portal.User", "portal.AuditEvent"}, seen.describe()
        else:
            assert seen.status == 200 and seen.shows_error, seen.describe()
            assert not seen.changes and admin.check_password(PASSWORD), seen.describe()


@FUZZ
@given(data=st.data())
def test_support_organisation_switcher(bench, data):
    form = data.draw(st.fixed_dictionaries({}, optional={"organisation": ids(bench.org.pk)}))
    with undone():
        client = bench.client(bench.support)
        seen = submit(client, bench, reverse("portal:switch_organisation"), form=form)
        assert seen.status == 302, seen.describe()
        if parse_id(form.get("organisation")) == bench.org.pk:
            assert "info" in seen.levels and client.session[SUPPORT_ORG_SESSION_KEY] == bench.org.pk
            assert seen.changed <= {"portal.AuditEvent"}, seen.describe()
        else:
            assert "error" in seen.levels and SUPPORT_ORG_SESSION_KEY not in client.session, seen.describe()
            assert not seen.changes, seen.describe()


# --- provisioning: the Authorize wizard -----------------------------------------------------------------------------

SELECTION_OPS = ("toggle", "select_page", "save_page", "clear_page", "select_matching", "clear")


def as_list(item) -> list:
    """A form field as the view's getlist() sees it."""
    return item if isinstance(item, list) else [] if item is None else [item]


def selection_after(form: dict, before: set[int], selectable: set[int]) -> set[int] | None:
    """What the selection holds after `form` changed it (what the wizard promises the administrator), or None when
    the change must be refused (a list of ids with one that is not an id is refused whole). select_matching depends
    on the search: the caller checks it apart."""
    op = form.get("op")
    try:
        return _selection_after(op, form, before, selectable)
    except NotAnId:
        return None


def _selection_after(op, form: dict, before: set[int], selectable: set[int]) -> set[int] | None:
    if op == "toggle":
        number_id = parse_id(form.get("id"))
        if number_id is None:
            return None
        if str(number_id) not in as_list(form.get("number")):  # unticked
            return before - {number_id}
        return before | {number_id} if number_id in selectable else None
    page = set(parse_ids(as_list(form.get("page_ids")))) if op in ("select_page", "save_page", "clear_page") else set()
    if op in ("select_page", "save_page"):
        chosen = page if op == "select_page" else set(parse_ids(as_list(form.get("number"))))
        if chosen - page or chosen - selectable:
            return None
        return (before - page) | chosen
    if op == "clear_page":
        return before - page
    if op == "clear":
        return set()
    return None


def test_authorize_wizard_selection(bench):
    """Ticks, unticks, pages and "select all matching" with any ids: an accepted change leaves exactly the selection
    the administrator asked for, a refused one leaves it as it was and says why, and it never holds a number that
    cannot be authorised. Most examples aim at the wizard's own location and numbers, so most reach the selection."""
    selectable = set(
        PhoneNumber.objects.filter(location=bench.location, texting_state__in=AUTHORISABLE_STATES).values_list(
            "pk", flat=True
        )
    )
    # Not selectable: authorised already, in an order already, of the location the wizard does not offer.
    refused = [
        bench.authorised[0].pk,
        bench.order.lines.first().number_id,
        PhoneNumber.objects.filter(location=bench.other_location).values_list("pk", flat=True).first(),
    ]
    number_ids = mostly(st.sampled_from(sorted(map(str, selectable))), ids(*refused))
    reached = Reached()

    @FUZZ
    @given(data=st.data())
    def example(data):
        before = set(data.draw(st.lists(st.sampled_from(sorted(selectable)), max_size=4, unique=True)))
        page = data.draw(st.lists(st.sampled_from(sorted(selectable)), min_size=1, max_size=5, unique=True))
        # The page's boxes as the browser posts them: ticked if selected, and the one clicked (`id`) flipped.
        changed = data.draw(st.sampled_from(page))
        ticked = set(page) & before ^ {changed}
        valid = {
            "location": str(bench.location.pk),
            "op": data.draw(mostly(st.just("toggle"), st.sampled_from(SELECTION_OPS), odds=1)),  # a checkbox: most
            "id": str(changed),
            "number": [str(pk) for pk in sorted(ticked)],
            "page_ids": [str(pk) for pk in page],
            "q": "",
            "assigned": "",
            "page": "1",
        }
        form = data.draw(
            mutated(
                valid,
                {
                    "location": ids(bench.location.pk, bench.other_location.pk),
                    "op": value(*SELECTION_OPS),
                    "id": number_ids,
                    "number": st.lists(number_ids, max_size=4),
                    "page_ids": st.lists(number_ids, max_size=4),
                    "q": value("415", "0000", "2"),
                    "assigned": value("assigned", "unassigned"),
                    "page": value("1", "2"),
                },
            )
        )
        htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "wizard-numbers"} if data.draw(st.booleans()) else {}
        with undone():
            client = bench.client(bench.admin)
            selection = start_selection(client, bench, before)
            seen = submit(
                client,
                bench,
                reverse("provisioning:authorize_selection"),
                form=form,
                before=fingerprint(bench.scopes),
                **htmx,
            )
            assert seen.changed <= SELECTION_MODELS, f"only the selection may change: {seen.describe()}"
            if seen.status == 404:
                assert parse_id(form.get("location")) != bench.location.pk, seen.describe()
                assert not seen.changes, seen.describe()
                reached("404: not a location the wizard offers")
                return
            assert seen.status == (200 if htmx else 302), seen.describe()
            held = selected(selection)
            assert held <= selectable, f"the selection holds numbers that cannot be authorised: {held - selectable}"
            expected = selection_after(form, before, selectable)
            if form.get("op") == "select_matching":
                assert not seen.shows_error and before <= held, seen.describe()
            elif expected is None:
                assert seen.shows_error, f"a meaningless change was not refused visibly: {seen.describe()}"
                assert held == before, f"a refused change changed the selection: {before} -> {held}"
                reached("refused with a message")
                return
            else:
                assert not seen.shows_error, seen.describe()
                assert held == expected, f"{form.get('op')} left {sorted(held)}, not {sorted(expected)}"
            if held == before:
                reached("accepted: nothing to change")
            elif form.get("op") == "toggle":
                reached("changed: ticked a number" if held > before else "changed: unticked a number")
            else:
                reached(f"changed: {form['op']}")

    example()
    # Most examples must reach the selection itself, a good share change it, and some tick a number.
    reached.at_least(0.6, "accepted", "changed", "refused")
    reached.at_least(0.2, "changed")
    reached.at_least(0.05, "changed: ticked a number")


SUMMARY_TOKEN = "<the summary's token>"
SELECTION_MODELS = {"provisioning.WizardSelection", "provisioning.WizardSelectedNumber"}


def start_selection(client, bench, number_ids) -> WizardSelection:
    """The administrator's wizard in the bench's location, with `number_ids` ticked, as the session's current one
    (rows written directly: an example may start from a selection that has gone stale since)."""
    selection = WizardSelection.objects.create(organisation=bench.org, user=bench.admin, location=bench.location)
    WizardSelectedNumber.objects.bulk_create(
        WizardSelectedNumber(selection=selection, number_id=pk) for pk in sorted(number_ids)
    )
    WizardSelection.objects.filter(pk=selection.pk).update(selected_count=len(number_ids))
    session = client.session
    session[SESSION_KEY] = str(selection.token)
    session.save()
    return selection


def selected(selection) -> set[int]:
    return set(WizardSelectedNumber.objects.filter(selection=selection).values_list("number_id", flat=True))


@FUZZ
@given(data=st.data())
def test_authorize_submit_with_any_token(bench, data):
    candidates = [n.pk for n in bench.authorisable] + [bench.authorised[0].pk]
    # The selection as it may be by now: numbers another order took meanwhile. (A number deleted leaves it with its
    # row: the foreign key cascades.)
    chosen = data.draw(st.lists(st.sampled_from(candidates), max_size=3, unique=True))
    token = data.draw(
        st.one_of(st.just(SUMMARY_TOKEN), st.just(str(bench.order.submission_token)), st.uuids().map(str), hostile_text)
    )
    valid = bool(chosen) and set(chosen) <= {n.pk for n in bench.authorisable} and token == SUMMARY_TOKEN
    with undone():
        client = bench.client(bench.admin)
        selection = start_selection(client, bench, chosen)
        assert client.get(reverse("provisioning:authorize_summary")).status_code in (200, 302)
        selection.refresh_from_db()
        shown = str(selection.submission_token or "")
        orders = AuthorisationOrder.objects.count()
        seen = submit(
            client,
            bench,
            reverse("provisioning:authorize_submit"),
            form={"token": shown if token == SUMMARY_TOKEN else token},
            before=fingerprint(bench.scopes),
        )
        assert seen.status == 302, seen.describe()
        if "success" in seen.levels:
            assert valid, f"an order was placed from a stale selection or token: {seen.describe()}"
            assert AuthorisationOrder.objects.count() == orders + 1
            assert seen.changed <= {
                "provisioning.AuthorisationOrder",
                "provisioning.OrderChunk",
                "provisioning.OrderLine",
                "provisioning.PhoneNumber",
                "portal.AuditEvent",
                "provisioning.AuthorisableCount",  # fewer numbers of the location can be authorised
                *SELECTION_MODELS,  # the selection is deleted with the order placed
            }
            assert not WizardSelection.objects.filter(pk=selection.pk).exists()
        else:
            assert not valid, f"a valid order was refused: {seen.describe()}"
            # At most the numbers that can no longer be ordered were taken out of the selection.
            assert seen.changed <= SELECTION_MODELS, seen.describe()
            assert selected(selection) <= {n.pk for n in bench.authorisable}
            # Refused, or (the earlier order's token: a double submission) shown the order already placed.
            assert seen.levels & {"error", "info"}, seen.describe()


# --- compliance: the customer's case pages ------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_open_case_form(bench, data):
    numbers = ids(*[n.pk for n in bench.authorised], bench.authorisable[0].pk, bench.cases["opened"].pk)
    form = data.draw(
        mutated(
            {
                "contact_name": "Casey Contact",
                "contact_email": "casey@fuzz.test",
                "contact_phone": "+1 415 555 0100",
                "note": "Please register these.",
                "numbers": [str(bench.authorised[0].pk)],
            },
            {
                "numbers": st.lists(numbers, max_size=3),
                "location": ids(bench.location.pk, bench.other_location.pk),
                "all_matching": value("1"),
                "q": value("415", "0"),
                "contact_email": value("casey@fuzz.test", "CASEY@FUZZ.TEST", "casey@"),
                "contact_phone": value("+1 415 555 0100", "+44 20 7946 0000", "555"),
            },
        )
    )
    with undone():
        seen = submit(bench.client(bench.admin), bench, reverse("compliance:case_open"), form=form)
        if seen.status == 302:
            assert "success" in seen.levels, seen.describe()
            assert seen.changed <= {
                "compliance.RegistrationCase",
                "compliance.CaseNumber",
                "compliance.CaseEvent",
                "portal.AuditEvent",
            }, seen.describe()
        else:
            assert seen.status == 200 and seen.shows_error, f"refused without saying why: {seen.describe()}"
            assert not seen.changes, seen.describe()


REGISTRATION_FIELDS = {
    "entity_type": value(*EntityType.values),
    "country": value("US", "CA"),
    "tax_number": value("12-3456789", "00-1234567", "123456782", "123456789"),
    "postal_code": value("94105", "M5V 1L9", "D0D 0D0"),
    "website": value("https://www.acme.example", "http://acme"),
    "vertical": value(*Vertical.values),
    "stock_symbol": value("CSCO", "1BAD"),
    "stock_exchange": value(*StockExchange.values),
    "use_case": value(*UseCase.values),
    "monthly_volume": value(*MonthlyVolume.values),
    "support_phone": value("+1 415 555 0100", "+44 20 7946 0000"),
    "opt_out_keywords": value("STOP", "QUIT", "STOP, NOT A WORD"),
    "help_keywords": value("HELP", "INFO"),
    "embedded_links": value("on"),
    "age_gated": value("on"),
    "sample_3": value("Acme: a third sample. Reply STOP."),
}
CUSTOMER_EDITS = {"compliance.RegistrationForm"}  # a refused submission still keeps what was typed, as a draft


@FUZZ
@given(data=st.data())
def test_registration_form(bench, data):
    case = bench.cases[data.draw(st.sampled_from(["form_sent", "campaign_rejected"]))]  # brand editable, locked
    form = data.draw(
        mutated(
            {**VALID_FORM, "expected_state": case.state},
            {**REGISTRATION_FIELDS, "expected_state": value(case.state, "form_submitted")},
        )
    )
    submitting = data.draw(st.booleans())
    if submitting:
        form["submit"] = "1"
    with undone():
        seen = submit(bench.client(bench.admin), bench, reverse("compliance:case_form", args=[case.pk]), form=form)
        state = RegistrationCase.objects.get(pk=case.pk).state
        if seen.status == 200:  # the form shown again with what is wrong
            assert submitting and seen.shows_error and "error" in seen.levels, seen.describe()
            assert seen.changed <= CUSTOMER_EDITS and state == case.state, seen.describe()
            return
        assert seen.status == 302, seen.describe()
        if "error" in seen.levels:  # refused outright (the case moved on): nothing kept
            assert not seen.changes, seen.describe()
        elif submitting:
            assert "success" in seen.levels and state == RegistrationCase.State.FORM_SUBMITTED, seen.describe()
            assert seen.changed <= CUSTOMER_EDITS | {
                "compliance.RegistrationCase",
                "compliance.RegistrationVersion",  # the submitted form, kept as it was
                "compliance.CaseEvent",
                "portal.AuditEvent",
            }, seen.describe()
        else:  # a draft: kept as typed, whatever is wrong with it, and the case does not move
            assert "success" in seen.levels and state == case.state, seen.describe()
            assert seen.changed <= CUSTOMER_EDITS | {"portal.AuditEvent"}, seen.describe()


@FUZZ
@given(data=st.data())
def test_case_message_and_cancel_forms(bench, data):
    case = bench.cases[data.draw(st.sampled_from(["form_sent", "opened", "cancelled"]))]
    which = data.draw(st.sampled_from(["case_message", "case_cancel"]))
    if which == "case_message":
        form = data.draw(mutated({"message-text": "When will the brand be registered?"}))
        # (the case is marked unread for support: compliance.actions.unread)
        allowed = {"compliance.CaseEvent", "compliance.RegistrationCase", "portal.AuditEvent"}
    else:
        form = data.draw(
            mutated(
                {"cancel-reason": "We no longer need texting.", "expected_state": case.state},
                {"expected_state": value(case.state, "completed")},
            )
        )
        allowed = {"compliance.RegistrationCase", "compliance.CaseEvent", "compliance.CaseNumber", "portal.AuditEvent"}
    with undone():
        seen = submit(bench.client(bench.admin), bench, reverse(f"compliance:{which}", args=[case.pk]), form=form)
        if seen.status == 200:
            assert seen.shows_error, f"the form came back without saying what is wrong: {seen.describe()}"
            assert not seen.changes, seen.describe()
        else:
            assert seen.status == 302, seen.describe()
            if seen.changes:
                assert "error" not in seen.levels and seen.changed <= allowed, seen.describe()
            else:
                assert "error" in seen.levels, f"nothing happened and nobody said why: {seen.describe()}"


SUPPORT_FORM = {
    "brand-decision": "approved",
    "brand-registry_id": "B4K9Q2X",
    "brand-reason": "",
    "brand-identity_status": "VERIFIED",
    "campaign-decision": "approved",
    "campaign-registry_id": "C4K9Q2X",
    "campaign-reason": "",
    "cancel-reason": "The customer asked.",
    "message-text": "We are on it.",
    "note-text": "Checked the EIN.",
}
SUPPORT_FIELDS = {
    "brand-decision": value("approved", "rejected"),
    "campaign-decision": value("approved", "rejected"),
    "brand-registry_id": value("B4K9Q2X", "b4k9q2x", "C4K9Q2X", ""),
    "campaign-registry_id": value("C4K9Q2X", ""),
    "brand-identity_status": value("VERIFIED", "UNVERIFIED", ""),
    "brand-reason": value("", "EIN mismatch"),
    "campaign-reason": value("", "Samples do not match"),
}
SUPPORT_EDITS = {
    "compliance.RegistrationCase",
    "compliance.Brand",  # the organisation's brand and campaign take the registry's answers
    "compliance.Campaign",
    "compliance.RegistrationVersion",  # a rejection is noted on the version it rejected
    "compliance.CampaignNumber",  # assigned numbers join the campaign (pending assignment)
    "compliance.CaseEvent",
    "compliance.CaseNumber",
    "compliance.RegistrationForm",
    "portal.AuditEvent",
}


# Where support may take each action, among the bench's cases (one in each state): the state machine's answer
# (RegistrationCase.TRANSITIONS and its guards; tests/compliance/test_state_machine.py tests every transition).
BENCH_STATES = set(CASE_STATES)
SUPPORT_TAKES = {
    "send-form": {"opened"},
    "submit-brand": {"form_submitted"},
    "brand-decision": {"brand_submitted"},
    "submit-campaign": {"brand_approved"},
    "campaign-decision": {"campaign_submitted"},
    "assign-numbers": {"campaign_approved"},
    "check-carrier": {"brand_submitted", "campaign_submitted", "numbers_assigned"},
    "remove-numbers": set(),  # only a case that removes numbers: none on the bench
    "complete": set(),  # only a case without numbers completes at the campaign's approval: none on the bench
    "cancel": BENCH_STATES - {"cancelled"},
    "message": BENCH_STATES - {"cancelled"},
    "note": BENCH_STATES,
    # Owners: support takes, gives or unassigns a case in any state (the form offers support staff only).
    "take": BENCH_STATES,
    "unassign": BENCH_STATES,
    "assign-owner": BENCH_STATES,
}
UNKNOWN_ACTION = "any-other-slug"
# A quarter of the examples for each action (eleven runs).
PER_ACTION = settings(FUZZ, max_examples=max(8, FUZZ.max_examples // 4))


@pytest.mark.parametrize("action", [*sorted(ACTIONS), UNKNOWN_ACTION])
def test_support_actions(bench, action):
    """Each support action, and slugs that are none, with the action's fields replaced by anything, on the bench's
    cases (half the time one in a state that allows the action, else any of the ten) or on any id. Accepted only in a
    state that allows it, changing only the case; refused, it changes nothing and says why; an unknown slug or case
    is a 404. Most examples must reach the action, and it must be accepted at least once."""
    assert set(SUPPORT_TAKES) == set(ACTIONS), "a new support action needs its states here"
    cases = sorted(bench.cases.values(), key=lambda c: c.pk)
    allowing = [case for case in cases if case.state in SUPPORT_TAKES.get(action, ())]
    reached = Reached()

    @PER_ACTION
    @given(data=st.data())
    def example(data):
        slug = action if action in ACTIONS else data.draw(hostile_text.filter(lambda text: text not in ACTIONS))
        case = data.draw(
            mostly(st.sampled_from(allowing), st.sampled_from(cases), odds=1) if allowing else st.sampled_from(cases)
        )
        case_pk = data.draw(mostly(st.just(case.pk), st.integers(0, 2**64), odds=7))
        owners = ids(bench.support.pk, bench.admin.pk)  # support staff, a customer, any id, anything
        form = data.draw(
            mutated(
                {**SUPPORT_FORM, "owner-owner": str(bench.support.pk), "expected_state": case.state},
                {**SUPPORT_FIELDS, "owner-owner": owners, "expected_state": value(*RegistrationCase.State.values)},
            )
        )
        with undone():
            seen = submit(
                bench.client(bench.support), bench, f"/support/cases/{case_pk}/{quote(slug, safe='')}/", form=form
            )
            if seen.status == 404:
                assert slug not in ACTIONS or case_pk != case.pk, seen.describe()
                assert not seen.changes, seen.describe()
                reached("404: no such action or case")
                return
            assert slug in ACTIONS, f"an unknown action was not a 404: {seen.describe()}"
            if seen.status == 200:  # the case page with the action's form and its errors
                assert seen.shows_error and "error" in seen.levels, seen.describe()
                assert not seen.changes, seen.describe()
                reached("refused: the form shown with its errors")
                return
            assert seen.status == 302, seen.describe()
            if "error" in seen.levels:
                assert not seen.changes, f"refused, yet data changed: {seen.describe()}"
                reached("refused: a message (the state does not allow it, the page is out of date)")
            else:
                assert "success" in seen.levels and seen.changed <= SUPPORT_EDITS, seen.describe()
                assert case.state in SUPPORT_TAKES[slug], f"{slug} accepted on a {case.state} case: {seen.describe()}"
                reached("accepted")

    example()
    if action == UNKNOWN_ACTION:
        return
    reached.at_least(
        0.6,
        "accepted",
        "refused: the form shown with its errors",
        "refused: a message (the state does not allow it, the page is out of date)",
    )
    if SUPPORT_TAKES[action]:  # an action no bench case allows is only ever refused
        reached.at_least(0.2, "accepted")


# --- texting: the switch, API tokens ----------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_business_texting_switch(bench, data):
    form = data.draw(st.fixed_dictionaries({}, optional={"enabled": value("on", "off", "ON", "true")}))
    has_addon = data.draw(st.booleans())
    with undone():
        before = None
        if not has_addon:
            Licence.objects.filter(organisation=bench.org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON).delete()
            before = fingerprint(bench.scopes)
        seen = submit(
            bench.client(bench.admin), bench, reverse("texting:set_business_texting"), form=form, before=before
        )
        assert seen.status == 302, seen.describe()
        switched_on = ServiceSettings.objects.get(organisation=bench.org).business_texting_enabled
        if "error" in seen.levels:
            assert form.get("enabled") == "on" and not has_addon and not seen.changes, seen.describe()
        else:
            assert "success" in seen.levels and switched_on == (form.get("enabled") == "on"), seen.describe()
            assert seen.changed <= {"texting.ServiceSettings", "portal.AuditEvent"}, seen.describe()


@FUZZ
@given(data=st.data())
def test_issue_api_token_form(bench, data):
    emails = (bench.texter.email, bench.texter.email.upper(), bench.admin.email, bench.support.email, "no@fuzz.test")
    form = data.draw(mutated({"email": bench.texter.email, "label": "Dana's Webex App"}, {"email": value(*emails)}))
    with undone():
        tokens = ApiToken.objects.count()
        seen = submit(bench.client(bench.admin), bench, reverse("texting:issue_api_token"), form=form)
        if seen.status == 201:
            assert ApiToken.objects.count() == tokens + 1 and ApiToken.PREFIX in seen.page, seen.describe()
            assert seen.changed <= {"texting.ApiToken", "portal.AuditEvent"}, seen.describe()
        else:
            assert seen.status == 422 and seen.shows_error, seen.describe()
            assert not seen.changes, seen.describe()


# --- texting: the opt-out registry and suspensions by support ------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_opt_out_add_form(bench, data):
    numbers = ("+1 415 555 0177", "4155550177", "(416) 555-0101", bench.primary.e164, "+44 20 7946 0958", "555")
    form = data.draw(
        mutated(
            {"add-number": "+1 415 555 0177", "add-reason": "Asked us by phone"},
            {"add-number": value(*numbers), "add-reason": value("Asked us by phone", "", " ", "x" * 301)},
        )
    )
    with undone():
        entries = OptOut.objects.filter(opted_in_at__isnull=True).count()
        seen = submit(bench.client(bench.admin), bench, reverse("texting:opt_out_add"), form=form)
        if seen.status == 302:
            assert "success" in seen.levels, seen.describe()
            assert OptOut.objects.filter(opted_in_at__isnull=True).count() == entries + 1, seen.describe()
            assert seen.changed <= {"texting.OptOut", "portal.AuditEvent"}, seen.describe()
        else:
            assert seen.status == 422 and seen.shows_error, seen.describe()
            assert not seen.changes, seen.describe()


@FUZZ
@given(data=st.data())
def test_support_suspend_form(bench, data):
    form = data.draw(
        mutated(
            {"organisation": str(bench.org.pk), "number": "", "reason": "Spam complaints from T-Mobile"},
            {
                "organisation": ids(bench.org.pk),
                "number": value("", bench.primary.e164, bench.primary.display, "+1 415 555 0177", "555"),
                "reason": value("Spam complaints", "", " ", "x" * 301),
            },
        )
    )
    with undone():
        seen = submit(bench.client(bench.support), bench, reverse("texting:support_suspend"), form=form)
        if seen.status == 302:
            assert "success" in seen.levels and Suspension.objects.count() == 1, seen.describe()
            assert seen.changed <= {"texting.Suspension", "portal.AuditEvent"}, seen.describe()
        else:
            assert seen.status == 422 and seen.shows_error, seen.describe()
            assert not seen.changes and not Suspension.objects.exists(), seen.describe()


# --- texting: the messaging API and the carrier's callbacks ---------------------------------------------------------

# The token's "last used" time is bookkeeping of the authentication (at most one write a minute), not the request.
BOOKKEEPING = {"texting.ApiToken"}
UNSTORED = {
    401: None,
    400: "malformed_request",
    413: "request_too_large",
    415: "unsupported_media_type",
    403: "number_not_in_organisation",
}


@FUZZ
@given(data=st.data())
def test_send_message_api(bench, data):
    shape = {
        "to": value(RECIPIENT, "+1 (416) 555-0123", "+44 20 7946 0000", "911"),
        "body": value("Your table is ready.", "é" * 200, "x" * 1600, "   "),
        "media": st.one_of(st.just([]), st.just(["https://example.com/a.png"]), json_values),
        "from": value(bench.primary.e164, bench.authorised[0].e164, "+14165550199"),
    }
    body = data.draw(raw_bodies(json_object(shape)))
    authorization = data.draw(
        st.one_of(
            st.just(f"Bearer {bench.token}"),
            st.just(f"Bearer {bench.token}"),
            header_text.map(lambda text: f"Bearer {text}"),
            header_text,
        )
    )
    version = data.draw(st.one_of(st.just(APP_VERSION), header_text))
    with undone():
        texts = Message.objects.count()
        seen = submit(
            bench.client(),
            bench,
            reverse("texting:api_send_message"),
            body=body,
            HTTP_AUTHORIZATION=authorization,
            HTTP_X_WEBEX_APP_VERSION=version,
        )
        answer = seen.json  # every answer is JSON
        stored = seen.changed - BOOKKEEPING
        reason = answer.get("reason")
        if seen.status in UNSTORED and UNSTORED[seen.status] in (None, reason):
            assert not stored and Message.objects.count() == texts, seen.describe()
            assert reason, f"a refusal without a reason: {answer}"
            return
        # Accepted, or refused by the sending policy: either way stored, once.
        assert stored <= {"texting.Message", "portal.User"} and Message.objects.count() == texts + 1, seen.describe()
        text = Message.objects.get(pk=answer["id"])
        if seen.status == 202:
            assert text.status == Message.Status.ACCEPTED and answer["status"] == "accepted"
        else:
            assert seen.status in (403, 422, 429) and reason in BlockReason.values, seen.describe()
            assert text.status == Message.Status.BLOCKED and text.blocked_reason == reason


SIGNATURES = ("signed", "unsigned", "forged")


def _signature(kind: str, body: bytes, settings) -> dict:
    if kind == "signed":
        return signed(body, settings.CARRIER_WEBHOOK_SECRET)
    return {} if kind == "unsigned" else signed(body, "not-the-secret")


@FUZZ
@given(data=st.data())
def test_inbound_text_webhook(bench, data, settings):
    shape = {
        "message_id": value("fuzz-in-1", "carrier-" + "9" * 70),
        "from": value(RECIPIENT, "+44 7700 900123"),
        "to": value(bench.primary.e164, bench.authorised[0].e164, "+14155550000"),
        "body": value("STOP", "help", "START", "Hello there"),
        "media": json_values,
    }
    event = st.one_of(
        json_object(shape), st.fixed_dictionaries({"type": value("message.received"), "payload": json_object(shape)})
    )
    body = data.draw(raw_bodies(event))
    signature = data.draw(st.sampled_from(SIGNATURES))
    with undone():
        texts = Message.objects.count()
        newest = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        seen = submit(
            bench.client(), bench, reverse("texting:api_inbound"), body=body, **_signature(signature, body, settings)
        )
        answer = seen.json
        if signature != "signed":
            assert seen.status == 401 and not seen.changes, seen.describe()
        elif seen.status == 201:  # a new text: stored once, inbound (and perhaps the automatic STOP/HELP reply)
            assert not answer["duplicate"] and answer["id"] > newest, seen.describe()
            assert Message.objects.get(pk=answer["id"]).direction == Message.Direction.INBOUND
            assert seen.changed <= {"texting.Message", "texting.OptOut"} and Message.objects.count() > texts
        else:
            assert seen.status in (200, 400, 404, 415) and not seen.changes, seen.describe()
            assert seen.status == 200 or answer.get("reason"), answer


@FUZZ
@given(data=st.data())
def test_carrier_callbacks(bench, data, settings):
    brand_case, campaign_case = bench.cases["brand_submitted"], bench.cases["campaign_submitted"]
    order_number = bench.order.lines.first().number.e164
    endpoints = {
        "provisioning:number_order_callback": (
            st.fixed_dictionaries(
                {
                    "type": value("number_order.updated"),
                    "payload": json_object(
                        {
                            "order_id": value("fuzz-order-1"),
                            "reference": value(str(bench.order.pk)),
                            "status": value("completed", "pending"),
                            "numbers": st.lists(
                                json_object(
                                    {
                                        "e164": value(order_number, bench.primary.e164),
                                        "status": value("authorised", "rejected"),
                                        "reason": value("Not a mobile-capable number"),
                                    }
                                ),
                                max_size=3,
                            ),
                        }
                    ),
                }
            ),
            {
                "provisioning.OrderLine",
                "provisioning.OrderChunk",
                "provisioning.AuthorisationOrder",
                "provisioning.PhoneNumber",
                "portal.AuditEvent",
            },
            403,
        ),
        "compliance:registration_callback": (
            st.fixed_dictionaries(
                {
                    "type": value("brand.updated", "campaign.updated"),
                    "payload": json_object(
                        {
                            "brand_id": value(brand_case.brand.registry_id, "BNEW001"),
                            "campaign_id": value(campaign_case.campaign_registry_id, "CNEW001"),
                            "reference": value(
                                brand_case.brand_reference,
                                campaign_case.campaign_reference,
                                f"case-{brand_case.pk}-brand-²",
                            ),
                            "status": value("APPROVED", "REJECTED", "ACTIVE", "PENDING", "approved"),
                            "reason": value("", "EIN mismatch"),
                            "identity_status": value("VERIFIED", "UNVERIFIED"),
                        }
                    ),
                }
            ),
            {"compliance.RegistrationCase", "compliance.CaseEvent", "compliance.CaseNumber", "portal.AuditEvent"},
            403,
        ),
        "texting:carrier_message_callback": (
            st.fixed_dictionaries(
                {
                    "type": value("message.updated"),
                    "payload": json_object(
                        {
                            "message_id": value("carrier-msg-1", "m" * 80),
                            "reference": value(bench.text.reference, "texting-message-²"),
                            "status": value("sent", "delivered", "failed", "queued"),
                            "reason": value("Handset off"),
                        }
                    ),
                }
            ),
            {"texting.Message"},
            401,
        ),
    }
    name = data.draw(st.sampled_from(sorted(endpoints)))
    shaped, allowed, unsigned_status = endpoints[name]
    body = data.draw(raw_bodies(shaped))
    signature = data.draw(st.sampled_from(SIGNATURES))
    with undone():
        seen = submit(bench.client(), bench, reverse(name), body=body, **_signature(signature, body, settings))
        if signature != "signed":
            assert seen.status == unsigned_status and not seen.changes, seen.describe()
        elif seen.status == 200:
            assert seen.changed <= allowed, seen.describe()
        else:
            assert seen.status in (202, 400), seen.describe()
            assert not seen.changes, f"a callback we did not apply changed data: {seen.describe()}"
