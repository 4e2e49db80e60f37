"""The isolation sweep for the role the main sweep has not got: a compliance officer of the home organisation asks
every compliance-officer URL (`compliance_view`, found from the resolver by its access mark) with the OTHER
organisation's ids and data. Never a 500, never the other organisation's data, another organisation's hold is a 404,
a form naming another organisation's users or numbers is refused (422) and nothing changes anywhere; and every answer
is the same byte for byte as when the other organisation does not exist at all."""

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .snapshot import differences, fingerprint
from .test_isolation_sweep import Target, _answer_seen, _leaks, _prepare, _send, url_patterns
from .world import World, build_world, forget

OFFICER_TARGETS = {
    "compliance:holds": (Target(get={}, post={}), 200, 405),
    "compliance:hold_new": (
        Target(
            get={},
            post={},
            data=lambda w: {"name": "Hijack", "users": [w.other.end_user.pk], "numbers": ""},
        ),
        200,
        422,
    ),
    "compliance:hold": (Target(get={}, post={}, kwargs=lambda w: {"pk": w.other.hold.pk}), 404, 405),
    "compliance:hold_edit": (
        Target(
            get={},
            post={},
            kwargs=lambda w: {"pk": w.other.hold.pk},
            data=lambda w: {"name": "Hijack", "users": [w.home.end_user.pk]},
        ),
        404,
        404,
    ),
    "compliance:hold_release": (
        Target(get={}, post={}, kwargs=lambda w: {"pk": w.other.hold.pk}, data=lambda w: {"confirm": "on"}),
        404,
        404,
    ),
}
# A number typed into the home organisation's hold form that is the other organisation's.
NUMBER_OF_ANOTHER = Target(
    get={}, post={}, data=lambda w: {"name": "Hijack", "users": [], "numbers": w.other.numbers[2].e164}
)


def officer_client(world: World):
    from django.test import Client

    client = Client()
    client.force_login(world.home.officer)
    return client


@pytest.fixture
def world(carrier_sim, django_capture_on_commit_callbacks):
    return build_world(django_capture_on_commit_callbacks)


def test_every_compliance_officer_url_is_swept():
    from django.urls import resolve

    names = set()
    for name, pattern in url_patterns():
        view = pattern.callback
        if getattr(view, "access", None) == "compliance" and name.startswith("compliance:hold"):
            names.add(name)
    assert names == set(OFFICER_TARGETS), "declare new legal hold URLs in OFFICER_TARGETS"
    assert resolve(reverse("compliance:holds")).func.access == "compliance"


def _requests(world):
    for name, (target, get_status, post_status) in OFFICER_TARGETS.items():
        for method, htmx, status in (
            ("get", False, get_status),
            ("get", True, get_status),
            ("post", False, post_status),
        ):
            yield (
                f"{method.upper()}{' (htmx)' if htmx else ''} {name}",
                _prepare(method, name, target, world, htmx),
                status,
            )
    yield "POST a stranger's number", _prepare("post", "compliance:hold_new", NUMBER_OF_ANOTHER, world), 422


@pytest.mark.django_db
def test_an_officer_never_reaches_another_organisations_holds(world):
    scopes = {world.home.org.pk: "home", world.other.org.pk: "other"}
    problems = []
    for label, request, status in _requests(world):
        client = officer_client(world)  # signing in is audited: before the fingerprint
        before = fingerprint(scopes)
        response = _send(client, request)
        if response.status_code != status:
            problems.append(f"{label}: expected {status}, got {response.status_code}")
        leaked = _leaks(response, world.other.markers, request.sent)
        if leaked:
            problems.append(f"{label}: shows the other organisation's data {leaked[:3]}")
        changed = differences(before, fingerprint(scopes))
        if changed:
            problems.append(f"{label} changed data: {changed[:4]}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_an_officer_gets_the_same_answer_for_a_strangers_id_as_for_none(world):
    problems = []
    for label, request, _status in _requests(world):
        with time_machine.travel(timezone.now(), tick=False):
            savepoint = transaction.savepoint()
            forget(world.other.org)
            missing = _answer_seen(officer_client(world), request)
            transaction.savepoint_rollback(savepoint)
            stranger = _answer_seen(officer_client(world), request)
        if stranger != missing:
            problems.append(f"{label}: differs from an id that does not exist")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_control_the_officer_sees_their_own_hold(world):
    """Control for the leak check: the other organisation's officer does see its own hold's name on these pages."""
    own = officer_client(World(home=world.other, other=world.home, support=world.support))
    page = own.get(reverse("compliance:hold", args=[world.other.hold.pk])).content.decode()
    assert f"{world.other.tag} matter" in page and world.other.end_user.email in page
