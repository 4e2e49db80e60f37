"""Tenant isolation, swept over EVERY URL pattern of the project.

The URL patterns come from the resolver (recursively through includes), so a new view is swept without anyone
remembering. Each is requested by every role of one organisation ("home": anonymous, end user, read-only admin,
full admin, support staff switched to it; and the portal operator, who gets what end users get) with the ids and
data of ANOTHER organisation ("other"), by GET (plain and as HTMX) and by POST, and:

- never answers 500;
- never shows the other organisation's data (its name, locations, numbers in E.164 and display form, users'
  emails, case contact, texts, API token) unless the request itself sent that string (a search box echoes it);
- answers what `EXPECTED` declares for that URL name and role;
- changes none of the other organisation's rows, and when it refuses (4xx, or the sign-in redirect) changes
  nothing at all (fingerprints of every table before and after: tests/security/snapshot.py).

A refusal never names, counts or distinguishes another organisation's object: every request of the sweep (and of
OWN_CONTEXT, which puts another organisation's ids inside the requester's own location or token) is answered once as
it is and once with the other organisation deleted, and the two answers (through a redirect to its flashed message)
must be the same byte for byte apart from CSRF tokens.

Machine-to-machine endpoints (carrier callbacks, the texting JSON API) are swept too: without a signature or token
they refuse (400/401/403) and change nothing, whatever session cookie comes along.

A URL name the resolver knows but `EXPECTED` does not FAILS `test_every_url_pattern_has_declared_expectations`:
declare the new view below (copy the entry of a similar view: the building blocks are right under here).
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from .snapshot import differences, fingerprint
from .world import ROLES, World, answer, build_world, client_for, content, forget

# --- what a response may be ---------------------------------------------------------------------------------------

LOGIN = "login"  # 302 to the sign-in page
REDIRECT = "redirect"  # 302 somewhere else (after a POST, to the organisation switcher, ...)
SIGNED_OUT = "signed out"  # 302 to the sign-in page after signing out (audited: a change of the user's own)
OK = 200


@dataclass(frozen=True)
class ByDesign:
    """Access to another organisation's data that the product intends (support staff work every organisation's
    cases). Still never a 500; the leak and no-change checks do not apply. Say why."""

    status: int | str
    why: str


SUPPORT_SEES_ALL = "Cisco PSTN support staff work every organisation's cases (support console)"
SUPPORT_SUSPENDS = "Cisco PSTN support suspends texting of any organisation and lifts it (support console, audited)"


def roles(anonymous, end_user, readonly_admin, full_admin, support):
    return {
        "anonymous": anonymous,
        "end_user": end_user,
        "readonly_admin": readonly_admin,
        "full_admin": full_admin,
        "support": support,
    }


def everyone(expectation):
    return roles(*[expectation] * 5)


# Building blocks (GET, POST). Customer pages refuse end users (403) and changes by anyone but a full admin (403);
# another organisation's object is a 404; support staff are switched to the home organisation and read-only.
ORG_PAGE = (roles(LOGIN, 403, OK, OK, OK), roles(LOGIN, 403, 403, OK, 403))
ORG_OBJECT = (roles(LOGIN, 403, 404, 404, 404), roles(LOGIN, 403, 403, 404, 403))
MANAGE_PAGE = (roles(LOGIN, 403, 403, OK, 403), roles(LOGIN, 403, 403, OK, 403))
# organisation_view(manage=True) then require_POST: GET by a full admin is 405.
MANAGE_POST_OBJECT = (roles(LOGIN, 403, 403, 405, 403), roles(LOGIN, 403, 403, 404, 403))
# require_POST then organisation_view(manage=True): GET is 405 for everyone.
POST_ONLY_MANAGE = (everyone(405), roles(LOGIN, 403, 403, REDIRECT, 403))
# The same on another organisation's object: a 404 for the full admin.
POST_ONLY_MANAGE_OBJECT = (everyone(405), roles(LOGIN, 403, 403, 404, 403))
MACHINE_SIGNED = (everyone(405), everyone(403))  # provisioning/compliance callbacks: 403 without the signature
MACHINE_API = (everyone(405), everyone(401))  # texting API: 401 without a token / signature
PUBLIC_PAGE = (everyone(OK), everyone(OK))
PUBLIC_GET_ONLY = (everyone(OK), everyone(405))
SIGNED_IN_PAGE = (roles(LOGIN, OK, OK, OK, OK), roles(LOGIN, OK, OK, OK, OK))


def officer(expectation, others=None):
    """A compliance officer's page: only the home organisation's compliance officer (role "compliance_officer", an
    end user granted the role) gets `expectation`; everyone else, full administrators included, is refused. Every
    other URL answers the officer what it answers end users."""
    return {**(others or roles(LOGIN, 403, 403, 403, 403)), "compliance_officer": expectation}


# eDiscovery pages are GET/HEAD only (require_safe), so a POST is 405 for everyone.
OFFICER_PAGE = (officer(OK), officer(405, everyone(405)))
OFFICER_OBJECT = (officer(404), officer(405, everyone(405)))


@dataclass
class Target:
    """How to request one URL name with the other organisation's ids, and what each role must get."""

    get: dict
    post: dict
    kwargs: Callable[[World], dict] = lambda w: {}
    query: Callable[[World], dict] = lambda w: {}  # GET parameters (sent on both methods)
    data: Callable[[World], dict] = lambda w: {}  # POST form fields
    json: Callable[[World], dict] | None = None  # POST a JSON body instead of a form
    headers: Callable[[World], dict] = lambda w: {}  # extra request headers (test client keywords: HTTP_...)
    hx_target: str = ""  # the HTMX target the page's partial answers to
    note: str = ""

    @classmethod
    def of(cls, pair, **kwargs):
        return cls(get=pair[0], post=pair[1], **kwargs)


def _uid(user) -> str:
    return base64.urlsafe_b64encode(str(user.pk).encode()).decode().rstrip("=")


def _signed_callback(w: World):
    chunk = w.other.order.chunks.first()
    return {
        "type": "number_order.updated",
        "payload": {
            "order_id": chunk.carrier_order_id,
            "status": "completed",
            "numbers": [{"e164": w.other.numbers[0].e164, "status": "rejected", "reason": "forged"}],
        },
    }


# --- THE TABLE: every URL name of the project, and what each role must get ----------------------------------------

EXPECTED: dict[str, Target] = {
    # The shell.
    "home": Target.of(
        (roles(LOGIN, *[REDIRECT] * 4), roles(LOGIN, *[REDIRECT] * 4)),
        note="sign-in for the anonymous; everyone else to their own page (overview, switcher, eDiscovery)",
    ),
    "healthz": Target.of(PUBLIC_PAGE, note="load balancer health check: says ok/unavailable, nothing else"),
    "metrics": Target.of(
        (everyone(403), everyone(403)), note="Prometheus only (METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES): none here"
    ),
    "portal:overview": Target.of(ORG_PAGE),
    "portal:users": Target.of(ORG_PAGE, query=lambda w: {"q": w.other.end_user.email}),
    "portal:user": Target.of(ORG_OBJECT, kwargs=lambda w: {"pk": w.other.admin.pk}),
    "portal:user_compliance_officer": Target.of(
        MANAGE_POST_OBJECT, kwargs=lambda w: {"pk": w.other.end_user.pk}, data=lambda w: {"grant": "1"}
    ),
    "portal:audit_log": Target.of(ORG_PAGE),
    "portal:set_language": Target.of(
        (roles(LOGIN, 405, 405, 405, 405), roles(LOGIN, REDIRECT, REDIRECT, REDIRECT, REDIRECT)),
        data=lambda w: {"language": "en"},
        note="the user menu's language chooser: the signed-in user's own language, no organisation's data",
    ),
    "portal:switch_organisation": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(OK, "support staff choose any organisation to look at")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, "support staff switch to any organisation (audited)")),
        ),
        query=lambda w: {"q": w.other.org.name},
        data=lambda w: {"organisation": w.other.org.pk},
    ),
    # Provisioning: locations, numbers, the Authorize wizard, orders.
    "provisioning:locations": Target.of(ORG_PAGE),
    "provisioning:location": Target.of(
        ORG_OBJECT, kwargs=lambda w: {"pk": w.other.location.pk}, query=lambda w: {"q": w.other.numbers[0].e164[-4:]}
    ),
    "provisioning:retry_assignments": Target.of(
        POST_ONLY_MANAGE_OBJECT,
        kwargs=lambda w: {"pk": w.other.location.pk},
        data=lambda w: {"all": "1"},
        note="another organisation's location is a 404: nothing retried",
    ),
    "provisioning:deauthorise": Target.of(
        POST_ONLY_MANAGE_OBJECT,
        kwargs=lambda w: {"pk": w.other.location.pk},
        data=lambda w: {"number": [w.other.numbers[5].pk], "confirmed": "yes"},
        note="another organisation's location is a 404: nothing de-authorised",
    ),
    "provisioning:calling_pstn": Target.of(ORG_PAGE),
    "provisioning:authorize": Target.of(
        (roles(LOGIN, 403, 403, 404, 403), roles(LOGIN, 403, 403, 404, 403)),
        query=lambda w: {"location": w.other.location.pk},
        hx_target="wizard-numbers",
    ),
    "provisioning:authorize_selection": Target.of(
        (everyone(405), roles(LOGIN, 403, 403, 404, 403)),
        data=lambda w: {
            "location": w.other.location.pk,
            "wizard": str(w.other.selection.token),
            "op": "toggle",
            "id": w.other.authorisable.pk,
            "number": w.other.authorisable.pk,
        },
    ),
    "provisioning:authorize_summary": Target.of(
        (roles(LOGIN, 403, 403, 404, 403), roles(LOGIN, 403, 403, 404, 403)),
        query=lambda w: {"wizard": str(w.other.selection.token)},
        note="the other organisation's wizard token is a 404",
    ),
    "provisioning:authorize_submit": Target.of(
        (everyone(405), roles(LOGIN, 403, 403, 404, 403)),
        data=lambda w: {"token": str(w.other.order.submission_token), "wizard": str(w.other.selection.token)},
        note="the other organisation's wizard token is a 404: no order placed",
    ),
    "provisioning:orders": Target.of(ORG_PAGE),
    "provisioning:order": Target.of(ORG_OBJECT, kwargs=lambda w: {"pk": w.other.order.pk}, hx_target="order-live"),
    "provisioning:number_order_callback": Target.of(MACHINE_SIGNED, json=_signed_callback),
    # Compliance: the customer's 10DLC cases, the support console, the registry callback.
    "compliance:cases": Target.of(ORG_PAGE),
    "compliance:case_open": Target.of(
        MANAGE_PAGE,
        query=lambda w: {"location": w.other.location.pk},
        data=lambda w: {
            "numbers": [n.pk for n in w.other.numbers[:2]],
            "contact_name": "Mallory",
            "contact_email": "mallory@alderhome.test",
        },
        note="the other organisation's numbers are refused with a message on the form; no case opens",
    ),
    "compliance:case": Target.of(
        ORG_OBJECT, kwargs=lambda w: {"pk": w.other.case.pk}, query=lambda w: {"seen": "opened"}
    ),
    "compliance:case_form": Target.of(
        MANAGE_POST_OBJECT,
        kwargs=lambda w: {"pk": w.other.case.pk},
        data=lambda w: {"legal_name": "Hijacked", "submit": "1"},
    ),
    "compliance:case_form_check": Target.of(
        MANAGE_POST_OBJECT,
        kwargs=lambda w: {"pk": w.other.case.pk},
        data=lambda w: {"website": "http://elsewhere.example"},
    ),
    "compliance:case_message": Target.of(
        MANAGE_POST_OBJECT,
        kwargs=lambda w: {"pk": w.other.case.pk},
        data=lambda w: {"message-text": "Hello from elsewhere"},
    ),
    "compliance:case_cancel": Target.of(
        MANAGE_POST_OBJECT,
        kwargs=lambda w: {"pk": w.other.case.pk},
        data=lambda w: {"cancel-reason": "Cancelled by a stranger"},
    ),
    "compliance:registration": Target.of(ORG_PAGE),
    # Legal holds (compliance officers only): another organisation's hold is a 404; its custodians are refused (422).
    "compliance:holds": Target.of((officer(OK), officer(405))),
    "compliance:hold_new": Target.of(
        (officer(OK), officer(422)),
        data=lambda w: {"name": "Hijack", "users": [w.other.end_user.pk], "numbers": w.other.numbers[2].e164},
    ),
    "compliance:hold": Target.of((officer(404), officer(405)), kwargs=lambda w: {"pk": w.other.hold.pk}),
    "compliance:hold_edit": Target.of(
        (officer(404), officer(404)),
        kwargs=lambda w: {"pk": w.other.hold.pk},
        data=lambda w: {"name": "Hijack", "users": []},
    ),
    "compliance:hold_release": Target.of(
        (officer(404), officer(404)), kwargs=lambda w: {"pk": w.other.hold.pk}, data=lambda w: {"confirm": "on"}
    ),
    "compliance:support_queue": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SEES_ALL)),
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SEES_ALL)),
        ),
        query=lambda w: {"organisation": w.other.org.pk, "state": "all"},
    ),
    "compliance:support_case": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SEES_ALL)),
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SEES_ALL)),
        ),
        kwargs=lambda w: {"pk": w.other.case.pk},
    ),
    "compliance:support_action": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(405, "support actions are POST only")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, SUPPORT_SEES_ALL)),
        ),
        kwargs=lambda w: {"pk": w.other.case.pk, "action": "note"},
        data=lambda w: {"note-text": "Internal"},
    ),
    "compliance:support_todo_done": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(405, "marking a to-do done is POST only")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, SUPPORT_SEES_ALL)),
        ),
        kwargs=lambda w: {"pk": w.other.todo.pk},
    ),
    "compliance:support_brand": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SEES_ALL)),
            roles(LOGIN, 403, 403, 403, ByDesign(405, "the brand page is read-only")),
        ),
        kwargs=lambda w: {"pk": w.other.brand.pk},
    ),
    "compliance:support_brand_vetting": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(405, "requesting vetting is POST only")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, SUPPORT_SEES_ALL)),
        ),
        kwargs=lambda w: {"pk": w.other.brand.pk},
        data=lambda w: {"confirmed_cost": "0.01"},
        note="a cost that is not the configured one is refused with a message; nothing is requested",
    ),
    "compliance:registration_callback": Target.of(
        MACHINE_SIGNED,
        json=lambda w: {
            "type": "brand.updated",
            "payload": {"brand_id": "BFORGED", "reference": f"case-{w.other.case.pk}-brand-1", "status": "approved"},
        },
    ),
    # Texting: the switch, activity, API tokens, the messaging API and its callbacks.
    "texting:service_settings": Target.of(ORG_PAGE),
    "texting:set_business_texting": Target.of(
        (roles(LOGIN, 403, 403, 405, 403), roles(LOGIN, 403, 403, REDIRECT, 403)),
        data=lambda w: {"enabled": "on"},
        note="acts on the requester's own organisation only (it is already on: nothing changes)",
    ),
    "texting:activity": Target.of(ORG_PAGE, query=lambda w: {"number": w.other.numbers[2].e164}, hx_target="texts"),
    "texting:api_tokens": Target.of(ORG_PAGE),
    "texting:export_texts": Target.of(
        (roles(LOGIN, 403, OK, OK, 403), roles(LOGIN, 403, 403, 405, 403)),
        query=lambda w: {
            "first_day": (timezone.now() - timedelta(days=30)).date().isoformat(),
            "last_day": timezone.now().date().isoformat(),
            "number": w.other.numbers[2].e164,
        },
        note="a CSV of the requester's own organisation's texts only (none through another's number); support "
        "staff do not export a customer's texts",
    ),
    "texting:retention_health": Target.of(
        PUBLIC_GET_ONLY,
        note="monitoring check of the nightly purge: ok/stale/failed/partitions, two times and the days of "
        "partitions made ahead, nothing else",
    ),
    "texting:issue_api_token": Target.of(
        (roles(LOGIN, 403, 403, 405, 403), roles(LOGIN, 403, 403, 422, 403)),
        data=lambda w: {"email": w.other.end_user.email, "label": "stolen"},
        note="a token for another organisation's user is refused (422) and nothing is issued",
    ),
    # eDiscovery (compliance officers only): the other organisation's texts and exports are 404s; a search with its
    # user is refused like an unknown user; the search finds the home organisation's texts only.
    "compliance:discovery": Target.of(
        OFFICER_PAGE, query=lambda w: {"keywords": "secret", "other_party": w.other.recipient[-7:]}
    ),
    "compliance:discovery_text": Target.of(OFFICER_OBJECT, kwargs=lambda w: {"pk": w.other.texts[0].pk}),
    "compliance:exports": Target.of(OFFICER_PAGE),
    "compliance:export_create": Target.of(
        (everyone(405), officer(REDIRECT)),
        data=lambda w: {"keywords": "secret", "user": [w.other.end_user.pk, w.home.end_user.pk]},
        note="another organisation's user is refused like one that does not exist; nothing is exported",
    ),
    "compliance:export": Target.of(OFFICER_OBJECT, kwargs=lambda w: {"pk": w.other.export.pk}, hx_target="export-live"),
    "compliance:export_download": Target.of(OFFICER_OBJECT, kwargs=lambda w: {"pk": w.other.export.pk}),
    "texting:revoke_api_token": Target.of(MANAGE_POST_OBJECT, kwargs=lambda w: {"pk": w.other.token_row.pk}),
    # Texting: the opt-out registry (customer) and suspensions (support console).
    "texting:opt_outs": Target.of(
        ORG_PAGE, query=lambda w: {"q": w.other.opt_out.party[-7:], "state": "all"}, hx_target="registry"
    ),
    "texting:opt_outs_export": Target.of(
        (roles(LOGIN, 403, OK, OK, OK), roles(LOGIN, 403, 403, 405, 403)),
        query=lambda w: {"q": w.other.opt_out.party[-7:], "state": "all"},
        note="the requester's own registry as CSV (GET only); the other organisation's entries never appear",
    ),
    "texting:opt_out_add": Target.of(
        (roles(LOGIN, 403, 403, 405, 403), roles(LOGIN, 403, 403, 422, 403)),
        data=lambda w: {"add-number": w.home.opt_out.party, "add-reason": "Added from the sweep"},
        note="acts on the requester's own registry only, where that number already is (422: a new row would take a "
        "new id on PostgreSQL each time, and the two answers compared below would differ by it)",
    ),
    "texting:opt_out_remove": Target.of(
        MANAGE_POST_OBJECT,
        kwargs=lambda w: {"pk": w.other.opt_out.pk},
        data=lambda w: {"remove-reason": "Removed by a stranger"},
    ),
    "texting:opt_out_import": Target.of(
        (roles(LOGIN, 403, 403, OK, 403), roles(LOGIN, 403, 403, 422, 403)),
        data=lambda w: {"reason": "Imported by a stranger"},
        note="without a file the form says so (422); an import only ever writes the requester's own registry",
    ),
    "texting:support_suspensions": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(OK, SUPPORT_SUSPENDS)),
            roles(LOGIN, 403, 403, 403, ByDesign(405, "the console page is GET only")),
        ),
        query=lambda w: {"organisation": w.other.org.pk},
    ),
    "texting:support_suspend": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(405, "POST only")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, SUPPORT_SUSPENDS)),
        ),
        data=lambda w: {"organisation": w.other.org.pk, "number": "", "reason": "Suspended from the sweep"},
    ),
    "texting:support_lift_suspension": Target.of(
        (
            roles(LOGIN, 403, 403, 403, ByDesign(405, "POST only")),
            roles(LOGIN, 403, 403, 403, ByDesign(REDIRECT, SUPPORT_SUSPENDS)),
        ),
        kwargs=lambda w: {"pk": w.other.suspension.pk},
        data=lambda w: {"lift-reason": "Lifted from the sweep"},
    ),
    "texting:api_send_message": Target.of(
        MACHINE_API, json=lambda w: {"to": w.other.recipient, "body": "hi", "from": w.other.numbers[2].e164}
    ),
    "texting:api_inbound": Target.of(
        MACHINE_API,
        json=lambda w: {
            "message_id": "forged-1",
            "from": "+14165550123",
            "to": w.other.numbers[2].e164,
            "body": "STOP",
        },
    ),
    "texting:carrier_message_callback": Target.of(
        MACHINE_API,
        json=lambda w: {
            "type": "message.updated",
            "payload": {"message_id": "M1", "reference": f"message-{w.other.texts[0].pk}", "status": "failed"},
        },
    ),
    # Django's sign-in and password pages (ours: templates/registration/).
    "login": Target.of(
        (everyone(OK), everyone(OK)),
        data=lambda w: {"username": w.other.admin.email, "password": "guess"},
        note="a wrong password re-shows the form (and is audited)",
    ),
    "logout": Target.of((everyone(405), everyone(SIGNED_OUT))),
    "password_change": Target.of(
        SIGNED_IN_PAGE, data=lambda w: {"old_password": "wrong", "new_password1": "x", "new_password2": "y"}
    ),
    "password_change_done": Target.of((SIGNED_IN_PAGE[0], roles(LOGIN, 405, 405, 405, 405))),
    "password_reset": Target.of(
        (everyone(OK), everyone(REDIRECT)),
        data=lambda w: {"email": w.other.admin.email},
        note="always 'check your email', whether the address exists or not",
    ),
    "password_reset_done": Target.of(PUBLIC_GET_ONLY),
    "password_reset_confirm": Target.of(
        (everyone(OK), everyone(OK)),
        kwargs=lambda w: {"uidb64": _uid(w.other.admin), "token": "set-password"},
        data=lambda w: {"new_password1": "Hijacked-Passw0rd!", "new_password2": "Hijacked-Passw0rd!"},
        note="a forged token shows 'link expired'; the password does not change",
    ),
    "password_reset_complete": Target.of(PUBLIC_GET_ONLY),
}

# Patterns deliberately not swept, with the reason.
EXCLUDED_NAMESPACES = {
    "admin": "Django's admin site: staff only (is_staff), guarded by Django's own admin permissions, not by "
    "organisation; not part of Control Hub",
}
# Static files are served by WhiteNoise (middleware), not through the URL resolver, so they never appear here.


# --- walking the resolver -----------------------------------------------------------------------------------------


def url_patterns(resolver=None, namespace=None):
    """(name, pattern) for every named URL pattern, through includes."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part) or None
            yield from url_patterns(entry, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def swept_names() -> list[str]:
    names = []
    for name, pattern in url_patterns():
        if name and name.split(":")[0] in EXCLUDED_NAMESPACES:
            continue
        assert name, f"URL pattern {pattern.pattern} has no name: name it so the sweep can declare it"
        names.append(name)
    return sorted(set(names))


def test_every_url_pattern_has_declared_expectations():
    missing = [name for name in swept_names() if name not in EXPECTED]
    assert not missing, (
        f"These URL names have no expectations in tests/security/test_isolation_sweep.py EXPECTED: {missing}. "
        "Declare each one there: what every role of one organisation gets when it asks with another "
        "organisation's ids (copy the entry of a similar view)."
    )
    stale = sorted(set(EXPECTED) - set(swept_names()))
    assert not stale, f"EXPECTED declares URL names the project no longer has: {stale}"


# --- the sweep ----------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def _matches(response, expectation) -> bool:
    status = response.status_code
    if expectation in (LOGIN, SIGNED_OUT):
        return status == 302 and response["Location"].startswith(reverse("login"))
    if expectation == REDIRECT:
        return status == 302 and not response["Location"].startswith(reverse("login"))
    return status == expectation


def _leaks(response, markers, sent: str) -> list[str]:
    text = content(response).decode(errors="replace") + response.get("Location", "")
    return [m for m in markers if m in text and m not in sent]


@dataclass(frozen=True)
class Prepared:
    """One request, its ids and data taken from the world once, so it can be sent again after they are gone."""

    method: str
    url: str
    headers: dict
    body: str | dict | None  # JSON text, form fields, or nothing (GET)
    sent: str  # everything the request itself carries, as text (a page may echo it)


def _prepare(method, name, target, world, htmx=False) -> Prepared:
    path = reverse(name, kwargs=target.kwargs(world))
    query = target.query(world)
    url = f"{path}?{urlencode(query, doseq=True)}" if query else path
    headers = dict(target.headers(world))
    if htmx:
        headers.update(
            {"HTTP_HX_REQUEST": "true", **({"HTTP_HX_TARGET": target.hx_target} if target.hx_target else {})}
        )
    if method == "get":
        return Prepared(method, url, headers, None, json.dumps(query))
    if target.json is not None:
        body = json.dumps(target.json(world))
        return Prepared(method, url, headers, body, body + json.dumps(query))
    data = target.data(world)
    return Prepared(method, url, headers, data, json.dumps(data) + json.dumps(query))


def _send(client, request: Prepared):
    if request.method == "get":
        return client.get(request.url, **request.headers)
    if isinstance(request.body, str):
        return client.post(request.url, data=request.body, content_type="application/json", **request.headers)
    return client.post(request.url, request.body, **request.headers)


def _request(client, method, name, target, world, htmx=False):
    request = _prepare(method, name, target, world, htmx)
    return _send(client, request), request.sent


def sweep(role: str, world: World) -> Outcome:
    outcome = Outcome()
    scopes = {world.home.org.pk: "home", world.other.org.pk: "other"}
    markers = world.other.markers
    for name in swept_names():
        target = EXPECTED[name]
        for method, htmx in (("get", False), ("get", True), ("post", False)):
            expectation = expected(target, method, role)
            by_design = isinstance(expectation, ByDesign)
            wanted = expectation.status if by_design else expectation
            label = f"{role} {method.upper()}{' (htmx)' if htmx else ''} {name}"
            client = client_for(role, world)  # a fresh sign-in each time (a POST may switch or end the session)
            before = fingerprint(scopes)
            response, sent = _request(client, method, name, target, world, htmx)
            outcome.requests += 1
            if response.status_code >= 500:
                outcome.failures.append(f"{label}: answered {response.status_code}")
            elif not _matches(response, wanted):
                where = f" → {response['Location']}" if response.status_code in (301, 302) else ""
                outcome.failures.append(f"{label}: expected {wanted}, got {response.status_code}{where}")
            if not by_design:
                leaked = _leaks(response, markers, sent)
                if leaked:
                    outcome.failures.append(f"{label}: shows the other organisation's data {leaked[:3]}")
            after = fingerprint(scopes)
            if not by_design:
                refused = response.status_code >= 400 or (wanted == LOGIN and _matches(response, LOGIN))
                changed = differences(before, after, None if refused else {"other"})
                if changed:
                    outcome.failures.append(f"{label} ({response.status_code}) changed data: {changed[:4]}")
    return outcome


@pytest.fixture
def world(carrier_sim, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.EDISCOVERY_EXPORT_DIR = tmp_path / "exports"
    return build_world(django_capture_on_commit_callbacks)


def expected(target, method: str, role: str):
    """What `role` should get from `method` on a swept URL. Portal operators have no Control Hub, exactly like end
    users: they get what end users get; so does the compliance officer (an end user granted the role) outside the
    pages declared for it."""
    table = target.get if method == "get" else target.post
    if role == "operator" or (role == "compliance_officer" and role not in table):
        role = "end_user"
    return table[role]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_no_role_reaches_another_organisations_data(role, world):
    outcome = sweep(role, world)
    assert outcome.requests >= 3 * len(EXPECTED)
    assert not outcome.failures, f"{len(outcome.failures)} problems:\n" + "\n".join(outcome.failures)


@pytest.mark.django_db
def test_an_api_token_cannot_send_from_another_organisations_number(client, world):
    """The machine side of the sweep with valid credentials: a home token naming the other organisation's number as
    sender is refused (403) and nothing is stored."""
    scopes = {world.home.org.pk: "home", world.other.org.pk: "other"}
    before = fingerprint(scopes)
    response = client.post(
        reverse("texting:api_send_message"),
        content_type="application/json",
        data={"to": world.home.recipient, "body": "hi", "from": world.other.numbers[2].e164},
        HTTP_AUTHORIZATION=f"Bearer {world.home.token}",
        HTTP_X_WEBEX_APP_VERSION="42.12.0.1",
    )
    assert response.status_code == 403 and response.json()["reason"] == "number_not_in_organisation"
    assert not [
        m
        for m in world.other.markers
        if m in response.content.decode() and m != world.other.numbers[2].e164 and m != world.other.numbers[2].e164
    ]
    after = fingerprint(scopes)
    assert differences(before, after, {"other", "global"}) == []


# --- a refusal says nothing about another organisation's objects -------------------------------------------------


# Requests that carry another organisation's id inside the requester's own context (their own location, their own
# API token): there no URL lookup turns the id into a 404, a query of the action has to refuse it (issue 14.1: the
# Authorize wizard named the stranger's number). Swept by every role, like EXPECTED, but only compared (below).
def _in_own_location(op: str, fields: Callable[[World], dict]) -> tuple[str, Target]:
    """A change of the Authorize wizard's selection in the requester's own location."""
    return "provisioning:authorize_selection", Target(
        get={}, post={}, data=lambda w: {"location": w.home.location.pk, "op": op, **fields(w)}
    )


OWN_CONTEXT: dict[str, tuple[str, Target]] = {
    "de-authorise a stranger's number in one's own location": (
        "provisioning:deauthorise",
        Target(
            get={},
            post={},
            kwargs=lambda w: {"pk": w.home.location.pk},
            data=lambda w: {"number": [w.home.numbers[5].pk, w.other.numbers[5].pk], "confirmed": "yes"},
        ),
    ),
    "retry a stranger's campaign assignment in one's own location": (
        "provisioning:retry_assignments",
        Target(
            get={},
            post={},
            kwargs=lambda w: {"pk": w.home.location.pk},
            data=lambda w: {"campaign_number": [w.other.numbers[5].pk]},
        ),
    ),
    "tick a stranger's number in one's own location": _in_own_location(
        "toggle", lambda w: {"id": w.other.authorisable.pk, "number": w.other.authorisable.pk}
    ),
    "select a page holding a stranger's numbers": _in_own_location(
        "select_page", lambda w: {"page_ids": [w.home.authorisable.pk, w.other.authorisable.pk]}
    ),
    "save a page ticking a stranger's number": _in_own_location(
        "save_page", lambda w: {"page_ids": [w.other.authorisable.pk], "number": [w.other.authorisable.pk]}
    ),
    "send a text from a stranger's number with one's own token": (
        "texting:api_send_message",
        Target(
            get={},
            post={},
            json=lambda w: {"to": w.home.recipient, "body": "hi", "from": w.other.numbers[2].e164},
            headers=lambda w: {"HTTP_AUTHORIZATION": f"Bearer {w.home.token}", "HTTP_X_WEBEX_APP_VERSION": "42.12.0.1"},
        ),
    ),
}


def _stranger_id_requests(role: str, world: World) -> dict[str, Prepared]:
    """Every request of the sweep (except access support staff have by design) and of OWN_CONTEXT, prepared."""
    requests = {}
    for name in swept_names():
        target = EXPECTED[name]
        for method, htmx in (("get", False), ("get", True), ("post", False)):
            if not isinstance(expected(target, method, role), ByDesign):
                label = f"{method.upper()}{' (htmx)' if htmx else ''} {name}"
                requests[label] = _prepare(method, name, target, world, htmx)
    for what, (name, target) in OWN_CONTEXT.items():
        for htmx in (False, True):
            requests[f"POST{' (htmx)' if htmx else ''} {what}"] = _prepare("post", name, target, world, htmx)
    return requests


def _answer_seen(client, request: Prepared) -> str:
    """The answer and, for a redirect, the page it leads to: where a refusal's flashed message is shown."""
    response = _send(client, request)
    seen = answer(response)
    if 300 <= response.status_code < 400:
        seen += "\n" + answer(client.get(response["Location"]))
    return seen


def _first_difference(a: str, b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"{a[max(0, at - 60) : at + 60]!r} / {b[max(0, at - 60) : at + 60]!r}"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_a_strangers_id_gets_the_same_answer_as_an_id_that_does_not_exist(role, world):
    """Every request of the sweep and of OWN_CONTEXT is answered twice from the same state: once with the other
    organisation deleted (its ids exist nowhere; a savepoint undoes the deletion and whatever the request did) and
    once as it is. The two answers, followed through a redirect to the flashed message, must be the same byte for
    byte apart from CSRF tokens, and never show the other organisation's data: a refusal does not name, count or
    distinguish an object outside the user's organisation."""
    problems = []
    for label, request in _stranger_id_requests(role, world).items():
        with time_machine.travel(timezone.now(), tick=False):  # pages that show the time show the same time
            savepoint = transaction.savepoint()
            forget(world.other.org)
            missing = _answer_seen(client_for(role, world), request)
            transaction.savepoint_rollback(savepoint)
            stranger = _answer_seen(client_for(role, world), request)
        if stranger != missing:
            problems.append(f"{label}: differs from an id that does not exist: {_first_difference(stranger, missing)}")
        leaked = [m for m in world.other.markers if m in stranger and m not in request.sent]
        if leaked:
            problems.append(f"{label}: shows the other organisation's data {leaked[:3]}")
    assert len(_stranger_id_requests(role, world)) > 3 * len(EXPECTED) // 2
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_the_leak_detector_sees_an_organisations_data_on_its_own_pages(world):
    """Control for the sweep: the strings it looks for do appear when the other organisation's own full administrator
    opens the same pages, so a page that leaked them would be caught."""
    own = client_for("full_admin", World(home=world.other, other=world.home, support=world.support))
    unseen = []
    for name, target in EXPECTED.items():
        if (
            target.get["full_admin"] in (OK, 404)
            and target.json is None
            and name.split(":")[0] != "texting"
            or name in ("texting:activity", "texting:api_tokens", "texting:opt_outs")
        ):
            response, sent = _request(own, "get", name, target, world)
            if response.status_code == 200 and not _leaks(response, world.other.markers, sent):
                unseen.append(name)
    # Pages that show no organisation data at all (sign-in, health check, ...) are expected here, nothing else.
    assert set(unseen) <= {
        "healthz",
        "login",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "password_change",
        "password_change_done",
    }, unseen


@pytest.mark.django_db
def test_the_leak_detector_sees_an_organisations_texts_on_its_compliance_officers_pages(world):
    """Control for the eDiscovery rows of the sweep: the other organisation's own compliance officer, on the same
    requests, does see that organisation's data (its texts' bodies, its export), so a page that leaked it would be
    caught."""
    own = client_for("compliance_officer", World(home=world.other, other=world.home, support=world.support))
    unseen = []
    for name, target in EXPECTED.items():
        if target.get.get("compliance_officer") in (OK, 404):
            response, sent = _request(own, "get", name, target, world)
            if response.streaming:  # the archive (compressed): its own officer gets it
                if response.status_code != 200 or response["Content-Type"] != "application/zip":
                    unseen.append(name)
            elif response.status_code != 200 or not _leaks(response, world.other.markers, sent):
                unseen.append(name)
    assert not unseen, unseen
