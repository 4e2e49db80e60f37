"""Building blocks of tests/security/test_fuzzing.py: hostile input as hypothesis strategies, a small organisation to
aim it at, and one submission observed the way the user (the page or JSON they get back) and the database (a
fingerprint of every table, tests/security/snapshot.py) see it.

Every example runs inside a savepoint that is rolled back (`undone`), so each starts from the same rows and the same
session (sessions live in the database too), and hypothesis can replay and shrink an example exactly.
"""

import json
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client
from hypothesis import strategies as st

from carrier import SIGNATURE_HEADER, sign_webhook_body
from compliance.models import RegistrationCase
from portal.models import Organisation, User
from provisioning.actions import place_authorisation_order
from provisioning.models import AuthorisationOrder, Location, PhoneNumber
from tests.compliance.factories import make_case
from tests.factories import make_location, make_numbers, make_org, make_user
from tests.texting.factories import APP_VERSION, RECIPIENT, make_texter, send
from texting import actions as texting_actions
from texting.models import Message

from .snapshot import differences, fingerprint

# --- hostile input ------------------------------------------------------------------------------------------------

# Values that break naive parsing: NUL (PostgreSQL refuses it in text), control characters, digits that str.isdigit()
# accepts but int() refuses (superscripts) or reads as other digits (Arabic-Indic), numbers int() refuses (over 4,300
# digits) or no column holds, markup, injection, right-to-left overrides, case-folding surprises, and strings longer
# than any column.
NASTY = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\t\x0b\x0c\x1c",
    "\x1b[2J",
    "\x7f\x85\x9f",
    "²",
    "¹²³",
    "١٢٣",
    "Ⅻ",
    "-1",
    "0",
    "1.5",
    "1e3",
    "0x1F",
    "+1",
    "9" * 25,
    "9" * 5000,
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "<script>alert(1)</script>",
    '" onmouseover="x',
    "' OR '1'='1' --",
    "%s%n%x",
    "{{ 7*7 }}",
    "../../etc/passwd",
    "\u202eevil\u202c",
    "\ufeff",
    "ﬀ",
    "ß",
    "İ",
    "😀" * 30,
    "ｓｔｏｐ",
    " STOP ",
    "x" * 5000,
)

hostile_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),  # all of Unicode but surrogates, control characters included
    st.text(st.characters(max_codepoint=0xA0), max_size=40),  # ASCII with the C0 and C1 control characters
)


def value(*good):
    """A form value: one of the `good` ones, or anything."""
    return st.one_of(st.sampled_from(good), hostile_text) if good else hostile_text


def ids(*known):
    """An id as a form sends it: a real one, a number of any size or sign, or anything."""
    return st.one_of(
        st.sampled_from([str(pk) for pk in known] or ["1"]), st.integers(-(2**70), 2**70).map(str), hostile_text
    )


def mostly(likely, *others, odds: int = 3):
    """`likely` in `odds` branches of st.one_of against one for each of `others`, so drawn several times as often
    (hypothesis does not pick branches evenly over a few dozen examples: `Reached` checks what the examples reached):
    hostile input aimed at a real object, rather than at ids no view gets past. Each copy is a new strategy object:
    st.one_of keeps only one of branches that are the same object."""
    return st.one_of(*[likely.map(lambda drawn: drawn) for _ in range(odds)], *others)


def mutated(valid: dict, fields: dict | None = None):
    """A form submission: `valid` with up to three fields replaced (by `fields[name]` or anything), some fields left
    out, and perhaps a stray field. Often still valid, so every test must tell the two apart from the answer."""
    fields = fields or {}
    names = sorted(set(valid) | set(fields))
    replacement = st.sampled_from(names).flatmap(lambda name: st.tuples(st.just(name), fields.get(name, hostile_text)))
    return st.builds(
        _mutate,
        st.just(valid),
        st.lists(replacement, max_size=3),
        st.sets(st.sampled_from(names), max_size=2),
        st.dictionaries(hostile_text, hostile_text, max_size=1),
    )


def _mutate(valid, replacements, dropped, stray):
    data = {**stray, **valid}
    data.update(replacements)
    return {key: item for key, item in data.items() if key not in dropped}


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(), hostile_text)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def json_object(shape: dict):
    """A JSON object with some of the keys of `shape` (each value from its strategy, or any JSON value), or any JSON
    value at all."""
    optional = {key: st.one_of(strategy, json_values) for key, strategy in shape.items()}
    return st.one_of(st.fixed_dictionaries({}, optional=optional), st.fixed_dictionaries(optional), json_values)


def raw_bodies(shaped):
    """Request bodies: `shaped` JSON, bytes that are not JSON (or not UTF-8), deeply nested JSON, or a huge one."""
    return st.one_of(
        shaped.map(lambda data: json.dumps(data).encode()),
        shaped.map(lambda data: json.dumps(data).encode()),
        st.binary(max_size=80),
        st.sampled_from(["empty", "cut", "utf-16", "deep", "huge"]).map(_odd_body),
    )


def _odd_body(kind: str) -> bytes:
    """Built on demand: hypothesis would otherwise print these bodies in full with every strategy it describes."""
    return {
        "empty": lambda: b"",
        "cut": lambda: b'{"to": "+1',
        "utf-16": lambda: '{"to": 1}'.encode("utf-16"),
        "deep": lambda: b"[" * 20_000 + b"]" * 20_000,  # 40 KB: under the API's size limit
        "huge": lambda: json.dumps({"body": "x" * 70_000}).encode(),
    }[kind]()


# Header values as HTTP can carry them: visible Latin-1 characters and spaces (no NUL, no line breaks).
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60)


class Reached:
    """How the examples of one fuzz test ended, by outcome; `at_least` fails the test (listing the counts) when too
    few examples got past the guards (a 404, a refused id) to the behaviour the test is about: a strategy that only
    ever produces 404s passes every other assertion while testing nothing.

    Call it from a @given function defined inside the test and run there, then check the counts: hypothesis.event()
    would only reach `--hypothesis-show-statistics`, which no test can assert on."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def __call__(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def at_least(self, share: float, *outcomes: str) -> None:
        """At least `share` of the examples ended in an outcome that starts with one of `outcomes`."""
        total = self.counts.total()
        got = sum(count for outcome, count in self.counts.items() if outcome.startswith(outcomes))
        assert total and got >= share * total, (
            f"only {got} of {total} examples reached {' or '.join(outcomes)} (wanted {share:.0%}): {dict(self.counts)}"
        )


# --- the organisation under fire ----------------------------------------------------------------------------------


@dataclass
class Bench:
    """One organisation with something of every kind for the forms to act on, plus support staff.

    Its people are signed in once, when it is built: every example then starts from exactly the same rows (sessions
    included), so the fingerprint before a submission is taken once (`baseline`).
    """

    org: Organisation
    location: Location  # Cisco Calling Plan: the Authorize wizard's location
    other_location: Location  # Cloud Connected PSTN: not offered by the wizard
    authorisable: list[PhoneNumber]
    authorised: list[PhoneNumber]  # can join a new 10DLC case
    admin: User
    support: User
    texter: User
    primary: PhoneNumber  # the texter's number, registered in a campaign
    token: str  # the texter's messaging API token
    order: AuthorisationOrder  # placed, its chunk known to the carrier as "fuzz-order-1"
    cases: dict[str, RegistrationCase]  # one case in each state support acts on, by state
    text: Message  # an accepted outbound text, waiting for the carrier
    sessions: dict[int, str] = field(default_factory=dict)  # user id -> session key
    _baseline: dict | None = None

    def _repr_pretty_(self, printer, cycle):  # hypothesis prints the fixture with every failing example
        printer.text(f"Bench(org #{self.org.pk})")

    @property
    def scopes(self) -> dict[int, str]:
        return {self.org.pk: "fuzz"}

    def sign_in(self, *users: User) -> None:
        for user in users:
            client = Client()
            client.force_login(user)
            self.sessions[user.pk] = client.session.session_key

    def client(self, user: User | None = None) -> Client:
        """A fresh client (no cookies left by an earlier example), signed in as `user` (one of `sign_in`'s)."""
        client = Client()
        if user is not None:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[user.pk]
        return client

    def baseline(self) -> dict:
        """The fingerprint every example starts from."""
        if self._baseline is None:
            self._baseline = fingerprint(self.scopes)
        return self._baseline


CASE_STATES = (
    "opened",
    "form_sent",
    "form_submitted",
    "brand_submitted",
    "brand_approved",
    "campaign_submitted",
    "campaign_approved",
    "campaign_rejected",
    "numbers_assigned",
    "cancelled",
)


def build_bench() -> Bench:
    org = make_org("Fuzz Holdings")
    location = make_location(org, "Fuzz Harbour")
    other_location = make_location(org, "Fuzz Cloud", pstn=Location.PstnConnection.CLOUD_CONNECTED)
    authorisable = make_numbers(location, 6)
    make_numbers(other_location, 2)
    authorised = make_numbers(location, 3, texting_state=PhoneNumber.TextingState.AUTHORISED)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email="admin@fuzz.test")
    support = make_user(None, role=User.Role.SUPPORT, email="support@fuzz.test")
    texter, primary = make_texter(org, location=location, email="texter@fuzz.test")
    order, _ = place_authorisation_order(org, admin, location, [authorisable[-1].pk], str(uuid.uuid4()))
    order.chunks.update(carrier_order_id="fuzz-order-1")
    # The case waiting for its brand registers another legal entity than the bench's approved brand (registering
    # the same one twice is refused).
    other_entity = {"form_submitted": {"legal_name": "Fuzz Labs LLC", "tax_number": "98-7654321"}}
    cases = {state: make_case(org, state, form=other_entity.get(state)) for state in CASE_STATES}
    text = send(texter)
    texting_actions.receive_text(
        carrier_message_id="fuzz-in-1", sender=RECIPIENT, recipient=primary.e164, body="Thanks!"
    )
    token = texting_actions.issue_api_token(org, admin, texter, label="fuzz")[1]
    bench = Bench(
        org=org,
        location=location,
        other_location=other_location,
        authorisable=authorisable[:-1],
        authorised=authorised,
        admin=admin,
        support=support,
        texter=texter,
        primary=primary,
        token=token,
        order=order,
        cases=cases,
        text=text,
    )
    bench.sign_in(admin, support)
    return bench


# --- one submission, observed -------------------------------------------------------------------------------------


@contextmanager
def undone():
    """Run one example in a savepoint that is rolled back afterwards, whatever happened."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


ERROR_MARKS = ('class="errorlist', 'class="message error', 'class="error"', 'class="errornote')


@dataclass
class Seen:
    """A submission's answer, the messages it gave the user and what it changed in the database."""

    response: object
    page: str  # the answer's body
    levels: set[str]  # levels of the flash messages it gave (success, info, error): shown by this page or, after a
    # redirect, by the next one (base.html lists them)
    changes: list[str]  # differences(), in words
    changed: set[str]  # labels of the models whose rows changed

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def shows_error(self) -> bool:
        """The answer is an error message or a form marked with its errors (what the templates render them as)."""
        return "error" in self.levels or any(mark in self.page for mark in ERROR_MARKS)

    @property
    def json(self) -> dict:
        return json.loads(self.response.content)

    def describe(self) -> str:
        where = f" → {self.response['Location']}" if self.response.has_header("Location") else ""
        return f"HTTP {self.status}{where}, changed {self.changes or 'nothing'}, messages {sorted(self.levels)}"


def submit(
    client,
    bench: Bench,
    path: str,
    *,
    form: dict | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
    before: dict | None = None,
    **headers,
) -> Seen:
    """POST `form` (URL-encoded, so any key or value survives) or the raw `body` to `path` and observe it. `before` is
    the fingerprint to compare with, when the example changed data itself before submitting.

    A 500 surfaces as the view's exception (the test client re-raises it), so hypothesis reports the input and the
    traceback; an error answer the view builds itself is caught by `assert_no_server_error`.
    """
    if form is not None:
        body, content_type = urlencode(form, doseq=True).encode(), "application/x-www-form-urlencoded"
    before = before or bench.baseline()
    response = client.post(path, data=body, content_type=content_type, **headers)
    after = fingerprint(bench.scopes)
    changed = {
        label for label, _scope in set(before) | set(after) if before.get((label, _scope)) != after.get((label, _scope))
    }
    levels = {message.level_tag for message in get_messages(response.wsgi_request)}
    seen = Seen(
        response=response,
        page=response.content.decode(errors="replace"),
        levels=levels,
        changes=differences(before, after),
        changed=changed,
    )
    assert_no_server_error(seen)
    return seen


def assert_no_server_error(seen: Seen) -> None:
    assert seen.status < 500, f"server error: {seen.describe()}\n{seen.page[:500]}"


def assert_unchanged(seen: Seen, why: str) -> None:
    assert not seen.changes, f"{why}, yet it changed data: {seen.describe()}"


def assert_changed_only(seen: Seen, allowed: set[str]) -> None:
    assert seen.changed <= allowed, f"changed more than {sorted(allowed)}: {seen.describe()}"


def path(name_or_path: str, *parts) -> str:
    """A URL with arbitrary path segments, quoted (reverse() refuses what the URL patterns would not match)."""
    return name_or_path + "/".join(quote(str(part), safe="") for part in parts)


def signed(body: bytes, secret: str) -> dict:
    """The carrier's signature header for `body`, as test-client keyword arguments."""
    return {f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook_body(body, secret)}


__all__ = [
    "APP_VERSION",
    "RECIPIENT",
    "Bench",
    "Reached",
    "Seen",
    "build_bench",
    "hostile_text",
    "ids",
    "json_object",
    "json_values",
    "mostly",
    "mutated",
    "raw_bodies",
    "submit",
    "undone",
    "value",
    "header_text",
    "signed",
    "path",
]
