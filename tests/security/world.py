"""A rich two-organisation world for the security tests, built through the apps' own actions (and the test
factories where no action exists: organisations, locations, numbers and users come from provisioning and identity
systems outside the portal).

Every organisation has: two locations (one on Cisco Calling Plan), numbers, a full administrator, a read-only
administrator, an end user with a primary number, a completed authorisation order (the carrier simulator answered),
a 10DLC registration case with its form sent, business texts in and out, a messaging API token, a compliance
officer (an end user granted the role) with an eDiscovery export of the texts and a legal hold on the end user's
texts, an opt-out added by hand and a number suspended by support. Support staff belong to no organisation. The
retention purge has run once (so its health check answers 200).

Each organisation's data carries strings no other organisation has (`Side.markers`), so a page that shows another
organisation's data is caught by looking for them.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from compliance import actions as case_actions
from compliance.actions import discovery as discovery_actions
from compliance.actions.holds import place_hold
from compliance.discovery import Search
from compliance.models import (
    Brand,
    Campaign,
    CampaignNumber,
    DiscoveryExport,
    LegalHold,
    RegistrationCase,
    SupportTodo,
)
from portal.actions import set_compliance_officer
from portal.middleware import SUPPORT_ORG_SESSION_KEY
from portal.models import Organisation, User
from provisioning.actions import place_authorisation_order
from provisioning.models import AuthorisationOrder, Location, PhoneNumber, WizardSelectedNumber, WizardSelection
from provisioning.phone import display_tn
from tests.factories import make_location, make_numbers, make_org, make_user
from texting import actions as texting_actions
from texting.models import ApiToken, Message, OptOut, Suspension
from texting.retention import purge_expired_messages

APP_VERSION = "42.12.0.2345"


@dataclass
class Side:
    """One organisation of the world and everything it owns."""

    tag: str
    org: Organisation
    location: Location  # Cisco Calling Plan
    other_location: Location  # Cloud Connected PSTN
    numbers: list[PhoneNumber]
    admin: User
    readonly: User
    end_user: User
    order: AuthorisationOrder
    case: RegistrationCase
    token_row: ApiToken
    token: str
    texts: list[Message]
    recipient: str
    officer: User  # compliance officer (an end user granted the role)
    export: DiscoveryExport
    hold: LegalHold
    opt_out: OptOut
    suspension: Suspension
    markers: list[str] = field(default_factory=list)
    brand: Brand | None = None  # an approved 10DLC brand (support's brand page, secondary vetting)
    todo: SupportTodo | None = None  # a support to-do from a campaign event
    selection: WizardSelection | None = None  # the administrator's Authorize wizard, one number ticked

    @property
    def authorisable(self) -> PhoneNumber:
        return next(n for n in self.numbers if n.texting_state == PhoneNumber.TextingState.NOT_AUTHORISED)


@dataclass
class World:
    home: Side  # the organisation of the people making requests
    other: Side  # the organisation whose objects they ask for
    support: User
    operator: User | None = None  # the Django admin's operator: no Control Hub at all


def build_side(tag: str, support: User, recipient: str, do_not_text: str, capture_on_commit) -> Side:
    org = make_org(f"{tag} Holdings Ltd")
    location = make_location(org, f"{tag} Harbour Depot")
    other_location = make_location(org, f"{tag} Cloud Annex", pstn=Location.PstnConnection.CLOUD_CONNECTED)
    numbers = make_numbers(location, 8, start=1)
    make_numbers(other_location, 2, start=1)
    admin = make_user(org, role=User.Role.FULL_ADMIN, email=f"admin@{tag.lower()}.test")
    readonly = make_user(org, role=User.Role.READONLY_ADMIN, email=f"readonly@{tag.lower()}.test")
    end_user = make_user(org, role=User.Role.END_USER, email=f"texter@{tag.lower()}.test", app_version=APP_VERSION)
    User.objects.filter(pk=admin.pk).update(full_name=f"{tag} Administrator")

    # An authorisation order for four numbers, submitted to the carrier simulator and answered.
    with capture_on_commit(execute=True):
        order, _ = place_authorisation_order(org, admin, location, [n.pk for n in numbers[:4]], str(uuid.uuid4()))
    order.refresh_from_db()
    authorised = list(PhoneNumber.objects.filter(location=location, texting_state=PhoneNumber.TextingState.AUTHORISED))
    assert len(authorised) >= 3, "the carrier simulator should have authorised the order's numbers"

    # A 10DLC case for two authorised numbers; support sends the registration form.
    with capture_on_commit(execute=True):
        case = case_actions.open_case(
            org,
            admin,
            [n.pk for n in authorised[:2]],
            contact_name=f"{tag} Contact",
            contact_email=f"contact@{tag.lower()}.test",
            note=f"{tag} case note",
        )
        case = case_actions.send_registration_form(case, support)

    # Business texting: the switch on, the end user's primary number registered (what a completed case leads to),
    # a text out and a text in, and an API token for the end user.
    primary = authorised[2]
    PhoneNumber.objects.filter(pk=primary.pk).update(
        assigned_user=end_user, is_primary=True, texting_state=PhoneNumber.TextingState.REGISTERED
    )
    with capture_on_commit(execute=True):
        texting_actions.set_business_texting(org, admin, True)
        sent = texting_actions.send_text(end_user, to=recipient, body=f"{tag} outbound secret", app_version=APP_VERSION)
        received, _ = texting_actions.receive_text(
            carrier_message_id=f"{tag}-in-1", sender=recipient, recipient=primary.e164, body=f"{tag} inbound secret"
        )
    token_row, token = texting_actions.issue_api_token(org, admin, end_user, label=f"{tag} integration")
    # A compliance officer (an end user granted the role by the full administrator) and an export of the texts.
    officer = make_user(org, role=User.Role.END_USER, email=f"officer@{tag.lower()}.test")
    officer = set_compliance_officer(admin, officer, True)
    today = sent.created_at.date()
    with capture_on_commit(execute=True):
        export = discovery_actions.request_export(
            org, officer, Search(start=today - timedelta(days=1), end=today, keywords=f"{tag} secret")
        )
    export.refresh_from_db()
    assert export.status == DiscoveryExport.Status.READY, export.detail
    # A legal hold the officer placed on the end user's texts and the primary number's.
    hold = place_hold(
        org,
        officer,
        name=f"{tag} matter",
        reference=f"{tag}-LIT-1",
        user_ids=[end_user.pk],
        number_ids=[primary.pk],
    )
    # Its 10DLC registration (the Registration page): a brand, a campaign, the registered number in it.
    brand = Brand.objects.create(
        organisation=org, legal_name=f"{tag} Brand Legal", registry_id=f"B{tag[:6].upper()}", status="approved"
    )
    campaign = Campaign.objects.create(
        organisation=org, brand=brand, use_case="CUSTOMER_CARE", registry_id=f"C{tag[:6].upper()}", status="active"
    )
    CampaignNumber.objects.create(campaign=campaign, number=primary, status="assigned")
    # A support to-do about one of its campaigns (a campaign event).
    todo = SupportTodo.objects.create(
        organisation=org, kind=SupportTodo.Kind.CAMPAIGN_SUSPENDED, carrier="tmobile", text=f"{tag} campaign suspended"
    )

    numbers = list(PhoneNumber.objects.filter(location__organisation=org).order_by("e164"))
    # The opt-out registry: a number added by hand with a reason; and a number Cisco PSTN support suspended.
    opt_out = texting_actions.add_opt_out(org, admin, do_not_text, f"{tag} do-not-text note")
    suspension = texting_actions.suspend_texting(support, org, f"{tag} suspension note", number=numbers[0])
    markers = [
        brand.legal_name,
        brand.registry_id,
        campaign.registry_id,
        org.name,
        location.name,
        other_location.name,
        f"{tag} Administrator",
        f"{tag} Contact",
        f"{tag} case note",
        f"{tag} outbound secret",
        f"{tag} inbound secret",
        f"{tag} integration",
        f"{tag} matter",
        f"{tag}-LIT-1",
        f"{tag} do-not-text note",
        f"{tag} suspension note",
        recipient,
        display_tn(recipient),
        do_not_text,
        display_tn(do_not_text),
        token_row.hint,
    ]
    markers += [u.email for u in (admin, readonly, end_user, officer)] + [case.contact_email, export.sha256]
    for number in numbers:
        markers += [number.e164, display_tn(number.e164)]
    return Side(
        tag=tag,
        org=org,
        location=location,
        other_location=other_location,
        numbers=numbers,
        admin=admin,
        readonly=readonly,
        end_user=end_user,
        order=order,
        case=case,
        token_row=token_row,
        token=token,
        texts=[sent, received],
        recipient=recipient,
        officer=officer,
        export=export,
        hold=hold,
        opt_out=opt_out,
        suspension=suspension,
        markers=markers,
        brand=brand,
        todo=todo,
        selection=_wizard_selection(admin, location, numbers),
    )


def _wizard_selection(admin, location, numbers) -> WizardSelection:
    selection = WizardSelection.objects.create(
        organisation=admin.organisation, user=admin, location=location, selected_count=1
    )
    WizardSelectedNumber.objects.create(selection=selection, number=numbers[-1])
    return selection


def build_world(capture_on_commit) -> World:
    """Needs the carrier simulator (fixture `carrier_sim`) and `django_capture_on_commit_callbacks`."""
    support = make_user(None, role=User.Role.SUPPORT, email="support@pstn-sweep.test")
    home = build_side("Alderhome", support, "+14165550111", "+14165550112", capture_on_commit)
    other = build_side("Zenithvictim", support, "+14165550199", "+14165550198", capture_on_commit)
    operator = User.objects.create_superuser("operator@sweep.test", "Operator-Passw0rd!")
    purge_expired_messages()  # nothing is old enough to go; the run makes /healthz/retention healthy
    return World(home=home, other=other, support=support, operator=operator)


ROLES = ("anonymous", "end_user", "readonly_admin", "full_admin", "support", "operator", "compliance_officer")


def client_for(role: str, world: World):
    """A test client signed in as `role` of the home organisation (support staff: switched to it)."""
    from django.test import Client

    client = Client()
    user = {
        "end_user": world.home.end_user,
        "readonly_admin": world.home.readonly,
        "full_admin": world.home.admin,
        "support": world.support,
        "operator": world.operator,
        "compliance_officer": world.home.officer,
    }.get(role)
    if user is not None:
        client.force_login(user)
    if role == "support":
        session = client.session
        session[SUPPORT_ORG_SESSION_KEY] = world.home.org.pk
        session.save()
    return client


# A CSRF token as Django renders it (masked afresh for every response): 64 letters and digits.
CSRF_TOKEN = re.compile(r"\b[A-Za-z0-9]{64}\b")
# The Authorize wizard's token (random for every new selection), in its links, forms and redirects.
WIZARD_TOKEN = re.compile(r"(wizard=|name=\"wizard\" value=\")[0-9a-f-]{36}")


def forget(org: Organisation) -> None:
    """Delete `org` and everything it owns, so that its ids exist nowhere (numbers and locations are protected from
    a plain cascade: what refers to them goes first)."""
    # By id, not by instance: deleting an instance clears its pk, and the world's objects are used again.
    AuthorisationOrder.objects.filter(organisation_id=org.pk).delete()
    RegistrationCase.objects.filter(organisation_id=org.pk).delete()
    CampaignNumber.objects.filter(campaign__organisation_id=org.pk).delete()
    Campaign.objects.filter(organisation_id=org.pk).delete()
    Brand.objects.filter(organisation_id=org.pk).delete()
    Message.objects.filter(organisation_id=org.pk).delete()
    PhoneNumber.objects.filter(location__organisation_id=org.pk).delete()
    Organisation.objects.filter(pk=org.pk).delete()


def content(response) -> bytes:
    """The body of a response, streamed (a CSV export) or not; a streamed body is read once and kept."""
    if getattr(response, "streaming", False):
        if not hasattr(response, "_swept_body"):
            response._swept_body = b"".join(response.streaming_content)
        return response._swept_body
    return response.content


def body_text(response) -> str:
    """The body of `response` as text, a streamed one (a CSV export) included."""
    return content(response).decode(errors="replace")


def answer(response) -> str:
    """What a user gets from `response`, to compare two answers byte for byte: the status, where it redirects, and
    the body with CSRF tokens and new wizard tokens (different in every response) blanked out."""
    body = CSRF_TOKEN.sub("<csrf>", body_text(response))
    seen = f"{response.status_code} {response.get('Location', '')}\n{body}"
    return WIZARD_TOKEN.sub(r"\1<wizard>", seen)
