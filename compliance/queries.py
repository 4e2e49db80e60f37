"""Read queries shared by the case pages, the support console and other apps (texting asks for campaign replies).

Each returns a queryset (or value) with the joins its page needs, so no template triggers a query per row.

The support queue's list, state counts and search box are reporting reads: on the read replica when one may serve
them (`.using(reporting_db())`, portal/replica.py). Everything else here reads the primary.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, When
from django.db.models.functions import Reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation, User
from portal.replica import reporting_db
from provisioning.models import PhoneNumber

from .models import (
    Brand,
    Campaign,
    CampaignCarrierStatus,
    CampaignNumber,
    CaseEvent,
    CaseNumber,
    RegistrationCase,
    RegistrationForm,
    RegistrationVersion,
    SupportTodo,
    overdue_condition,
)
from .models.cases import FORM_KINDS
from .models.registration import FIELD_LABELS

State = RegistrationCase.State


# --- for the texting app --------------------------------------------------------------------------------------------


def registered_campaign_form(phone_number: PhoneNumber | str) -> RegistrationForm | None:
    """The registration form of the approved campaign `phone_number` is registered in (a PhoneNumber or its E.164),
    or None when the number is not registered in a campaign. One query."""
    number_filter = (
        Q(case__case_numbers__number=phone_number)
        if isinstance(phone_number, PhoneNumber)
        else Q(case__case_numbers__number__e164=phone_number)
    )
    return (
        RegistrationForm.objects.filter(
            number_filter,
            case__state=State.COMPLETED,
            case__case_numbers__number__texting_state=PhoneNumber.TextingState.REGISTERED,
        )
        .order_by("-case__closed_at", "-case_id")
        .first()
    )


def help_reply_for_number(phone_number: PhoneNumber | str) -> str | None:
    """The HELP reply of the approved campaign `phone_number` is registered in; None if it is in no campaign (or the
    campaign has no reply). The texting app answers HELP/INFO with it."""
    form = registered_campaign_form(phone_number)
    return (form.help_message.strip() or None) if form is not None else None


def opt_out_reply_for_number(phone_number: PhoneNumber | str) -> str | None:
    """The opt-out (STOP) confirmation of the approved campaign `phone_number` is registered in, or None."""
    form = registered_campaign_form(phone_number)
    return (form.opt_out_message.strip() or None) if form is not None else None


# A number sends under its campaign while the carrier holds it there (assigned, or assigned and leaving).
SENDING_MEMBERSHIP = (CampaignNumber.Status.ASSIGNED, CampaignNumber.Status.PENDING_REMOVAL)


def sending_campaign(phone_number: PhoneNumber) -> Campaign | None:
    """The campaign `phone_number` sends under (with its brand and operators' statuses), or None when the carrier
    holds it in no campaign. Two queries. The texting policy asks it for every text."""
    membership = (
        CampaignNumber.objects.filter(number=phone_number, status__in=SENDING_MEMBERSHIP)
        .select_related("campaign__brand")
        .prefetch_related("campaign__carrier_statuses")  # Campaign.is_usable reads them
        .first()
    )
    return membership.campaign if membership is not None else None


def sending_numbers(*, campaign: Campaign | None = None, brand: Brand | None = None):
    """E.164 of the numbers sending under a campaign, or under every campaign of a brand (lazy queryset)."""
    numbers = CampaignNumber.objects.filter(status__in=SENDING_MEMBERSHIP)
    numbers = numbers.filter(campaign=campaign) if campaign is not None else numbers.filter(campaign__brand=brand)
    return numbers.values_list("number__e164", flat=True)


# --- carrier events and vetting (support) -----------------------------------------------------------------------------


def brand_for_support():
    """Brands with their organisation and campaigns (and each campaign's operators' statuses), for the brand page."""
    return Brand.objects.select_related("organisation").prefetch_related("campaigns__carrier_statuses")


def open_support_todos():
    """What support must do outside the cases (campaign events), oldest first, for the top of the queue."""
    return SupportTodo.objects.filter(done_at__isnull=True).select_related("organisation", "campaign__brand")


# --- customer pages ---------------------------------------------------------------------------------------------------


def cases_of(org: Organisation):
    """An organisation's cases, newest first, with how many numbers each covers."""
    return (
        RegistrationCase.objects.filter(organisation=org)
        .annotate(number_count=Count("case_numbers"))
        .order_by("-opened_at", "-id")
    )


def numbers_available_for_case(org: Organisation, *, leaving: Campaign | None = None):
    """What a new case may cover: the organisation's authorised numbers in no campaign and no open case (numbers
    joining a campaign) or, with `leaving`, the numbers of that campaign in no open case (numbers leaving it)."""
    in_open_case = CaseNumber.objects.filter(number=OuterRef("pk"), is_open=True)
    in_campaign = CampaignNumber.objects.filter(number=OuterRef("pk")).exclude(status=CampaignNumber.Status.REMOVED)
    if leaving is not None:
        numbers = PhoneNumber.objects.filter(Exists(in_campaign.filter(campaign=leaving)), location__organisation=org)
    else:
        numbers = PhoneNumber.objects.filter(
            location__organisation=org, texting_state=PhoneNumber.TextingState.AUTHORISED
        ).exclude(Exists(in_campaign))
    return (
        numbers.exclude(Exists(in_open_case))
        .select_related("location", "assigned_user")
        .order_by("location__name", "e164")
    )


def campaigns_for_case(org: Organisation, kind: str):
    """The organisation's campaigns a case of `kind` may be about: active ones to add numbers to, ones with numbers
    to remove them from, and ones to correct — rejected, suspended or expired at the registry, or rejected or
    suspended by an operator — that no open case is correcting already."""
    campaigns = Campaign.objects.filter(organisation=org).select_related("brand").order_by("created", "pk")
    if kind == RegistrationCase.Kind.ADD_NUMBERS:
        return campaigns.filter(status=Campaign.Status.ACTIVE)
    if kind == RegistrationCase.Kind.REMOVE_NUMBERS:
        return campaigns.filter(
            Exists(CampaignNumber.objects.filter(campaign=OuterRef("pk")).exclude(status=CampaignNumber.Status.REMOVED))
        )
    if kind == RegistrationCase.Kind.RESUBMIT:
        stopped_by_an_operator = CampaignCarrierStatus.objects.filter(
            campaign=OuterRef("pk"),
            status__in=(CampaignCarrierStatus.Status.SUSPENDED, CampaignCarrierStatus.Status.REJECTED),
        )
        being_corrected = RegistrationCase.objects.filter(
            campaign=OuterRef("pk"), state__in=RegistrationCase.OPEN_STATES, kind__in=FORM_KINDS
        )
        return campaigns.filter(
            Q(status__in=Campaign.CORRECTABLE) | (Q(status=Campaign.Status.ACTIVE) & Q(Exists(stopped_by_an_operator)))
        ).exclude(Exists(being_corrected))
    return campaigns.none()


def approved_brands(org: Organisation):
    """The organisation's brands a new campaign may go under: approved, and not UNVERIFIED (the registry refuses
    campaigns under an unverified brand)."""
    return (
        Brand.objects.filter(organisation=org, status=Brand.Status.APPROVED)
        .exclude(registry_id="")
        .exclude(identity_status__iexact="UNVERIFIED")
        .order_by("approved_at", "pk")
    )


def case_numbers(case: RegistrationCase):
    return (
        PhoneNumber.objects.filter(registration_case_lines__case=case)
        .select_related("location", "assigned_user")
        .order_by("e164")
    )


def case_events(case: RegistrationCase, *, for_support: bool) -> tuple[list[CaseEvent], list[CaseEvent]]:
    """The case page's two lists, oldest first, read in one query: the timeline (state changes and carrier events;
    support also sees internal notes) and the conversation between the customer and support (never internal
    notes)."""
    kinds = [CaseEvent.Kind.TRANSITION, CaseEvent.Kind.CARRIER, CaseEvent.Kind.MESSAGE]
    if for_support:
        kinds.append(CaseEvent.Kind.INTERNAL_NOTE)
    timeline, conversation = [], []
    for event in case.events.filter(kind__in=kinds).order_by("created", "id"):
        (conversation if event.kind == CaseEvent.Kind.MESSAGE else timeline).append(event)
    return timeline, conversation


def registration_of(org: Organisation):
    """The organisation's 10DLC registration for its Registration page: its brands (oldest first), each with
    `campaign_list` (each with its per-carrier statuses, `current_numbers`: the numbers in it now with their
    assignment status and the case that asked for it, and `case_list`: the cases that created, extended or
    corrected it) and `case_list` (every case of the brand). Six queries however many brands, campaigns, numbers
    and cases there are."""
    cases = RegistrationCase.objects.order_by("-opened_at", "-id")
    numbers = (
        CampaignNumber.objects.filter(status__in=CampaignNumber.CURRENT)
        .select_related("number__location", "case")
        .order_by("number__e164")
    )
    campaigns = Campaign.objects.prefetch_related(
        Prefetch("carrier_statuses", queryset=CampaignCarrierStatus.objects.order_by("carrier")),
        Prefetch("campaign_numbers", queryset=numbers, to_attr="current_numbers"),
        Prefetch("cases", queryset=cases, to_attr="case_list"),
    ).order_by("created", "id")
    return (
        Brand.objects.filter(organisation=org)
        .prefetch_related(
            Prefetch("campaigns", queryset=campaigns, to_attr="campaign_list"),
            Prefetch("cases", queryset=cases, to_attr="case_list"),
        )
        .order_by("created", "id")
    )


# --- support console --------------------------------------------------------------------------------------------------

AGE_FILTERS = {
    # value: (label, filter on opened_at given now)
    "overdue": (_("Overdue (over 4 weeks; numbers only: 3 days)"), overdue_condition),
    "3w": (_("Over 3 weeks"), lambda now: Q(opened_at__lt=now - timedelta(days=21))),
    "1w": (_("Over 1 week"), lambda now: Q(opened_at__lt=now - timedelta(days=7))),
    "new": (_("Under 1 week"), lambda now: Q(opened_at__gte=now - timedelta(days=7))),
}
SORTS = {
    # value: (label, ordering); "attention" depends on the time, so support_queue() builds it.
    "attention": (_("Overdue first, then latest change"), None),
    "updated": (_("Latest change first"), ("-state_changed", "-id")),
    "newest": (_("Newest first"), ("-opened_at", "-id")),
    "oldest": (_("Oldest first"), ("opened_at", "id")),
    "organisation": (_("Organisation"), ("organisation__name", "opened_at", "id")),
    "state": (_("State"), ("state", "opened_at", "id")),
}
# What support works on first: cases past the four weeks (the longest overdue on top), then every other case with
# the latest change first, so a case opened or moved a minute ago is on the first page, not the last.
DEFAULT_SORT = "attention"


OWNER_FILTERS = {"mine": _("Mine"), "unassigned": _("Nobody's")}
READ_FILTERS = {"unread": _("Unread (the customer wrote or submitted)")}


# --- the support queue's search box -------------------------------------------------------------------------------

# A case number: "#1042", "case 1042", "case #1042".
_CASE_NUMBER = re.compile(r"(?:case\s*)?#\s*(\d{1,18})|case\s+(\d{1,18})", re.IGNORECASE)
# A Campaign Registry id: B (brand) or C (campaign) and six letters or digits (SPEC.md 4).
_REGISTRY_ID = re.compile(r"[BC][A-Z0-9]{6}", re.IGNORECASE)
# What a person types for a phone number: digits, spaces, + - . ( ) /.
_PHONE_LIKE = re.compile(r"[\d\s+\-.()/]+")
MIN_PHONE_DIGITS = 3  # fewer digits match half the numbers; the trigram index needs three characters too
MIN_NAME_LENGTH = 2


class SearchRefused(ValueError):
    """The search box holds something that is not a case number, phone number, registry id or name; the message
    says what to type."""


@dataclass(frozen=True)
class CaseSearch:
    """What the search box asked for, read once (`parse_case_search`), so the page can say what it searched."""

    text: str
    case_number: int | None = None  # "#1042", or a plain number that may be a case number
    phone: str = ""  # a whole number in E.164 (+15125550100)
    phone_digits: str = ""  # the first or last digits of a number (partial)
    registry_id: str = ""  # B… or C…, upper case
    name: str = ""  # part of an organisation's or brand's name

    @property
    def description(self) -> str:
        if self.registry_id:
            return _("brand or campaign id %(id)s") % {"id": self.registry_id}
        if self.phone:
            return _("the number %(number)s") % {"number": self.phone}
        if self.phone_digits and self.case_number is not None:
            return _("case #%(case)s, or numbers starting or ending with %(digits)s") % {
                "case": self.case_number,
                "digits": self.phone_digits,
            }
        if self.phone_digits:
            return _("numbers starting or ending with %(digits)s") % {"digits": self.phone_digits}
        if self.case_number is not None:
            return _("case #%(case)s") % {"case": self.case_number}
        return _("organisations or brands named like “%(name)s”") % {"name": self.name}


def parse_case_search(text: str) -> CaseSearch | None:
    """Read the support queue's one search box. None for an empty box; SearchRefused for something too short to
    search (one letter, a phone number of one or two digits, "#" without a number).

    - "#1042", "case 1042": that case;
    - B/C and six letters or digits ("B1A2C3D", "cx4y5z6"): that brand or campaign id (any case);
    - a phone number in any form a person types ("+1 512-555-0100", "(512) 555-0100", "5125550100"): the cases with
      that number; with 3 to 9 digits, the cases with a number ending ("555-0100", "0100") or starting ("512-555",
      after +1) with them; plain digits may also be a case number ("1042" finds case #1042 and numbers ending in
      1042);
    - anything else: organisations and brands (legal or DBA name) whose name contains it.
    """
    text = (text or "").strip()
    if not text:
        return None
    match = _CASE_NUMBER.fullmatch(text)
    if match:
        return CaseSearch(text, case_number=int(match.group(1) or match.group(2)))
    if text.startswith("#") or text.lower().startswith("case "):
        raise SearchRefused(_("A case number is digits after #, for example #1042."))
    if _REGISTRY_ID.fullmatch(text):
        # Only as a registry id: matching names too read every organisation and brand (benchmarks/support_search.py
        # measured the registry id search growing 1.9× from 10 to 1,000 organisations with them).
        return CaseSearch(text, registry_id=text.upper())
    if _PHONE_LIKE.fullmatch(text):
        digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
        plain = text.isascii() and text.isdigit()
        case_number = int(digits) if plain and len(digits) <= 18 and int(digits) > 0 else None
        if len(digits) == 11 and digits.startswith("1") or len(digits) == 10 and not digits.startswith("1"):
            return CaseSearch(text, phone="+" + digits.rjust(11, "1"), case_number=case_number)
        if len(digits) >= MIN_PHONE_DIGITS:
            return CaseSearch(text, phone_digits=digits[-10:] if len(digits) > 11 else digits, case_number=case_number)
        if case_number is not None:
            return CaseSearch(text, case_number=case_number)
        raise SearchRefused(
            _("Type at least %(n)d digits of a phone number, or # and a case number.") % {"n": MIN_PHONE_DIGITS}
        )
    if len(text) < MIN_NAME_LENGTH:
        raise SearchRefused(
            _("Type at least %(n)d characters of an organisation or brand name.") % {"n": MIN_NAME_LENGTH}
        )
    return CaseSearch(text, name=text)


# A search finding more cases than this lists these and asks for a narrower search.
SEARCH_LIMIT = 1000


def search_cases(search: CaseSearch) -> tuple[list[int], bool]:
    """The ids of the cases `search` finds (at most SEARCH_LIMIT), and whether there were more. One query
    (`search_query`). The queue then reads the cases by primary key: given the UNION as a subquery instead,
    PostgreSQL read every case to join them (benchmarks/support_search.py showed it)."""
    found = list(search_query(search).using(reporting_db())[: SEARCH_LIMIT + 1])
    return found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT


def search_query(search: CaseSearch):
    """The ids of the cases `search` finds: a UNION of one indexed lookup per kind of match (README: the support
    console), so a search costs the same whatever the number of cases."""

    def ids(queryset, field="pk"):
        return queryset.values_list(field, flat=True).order_by()

    branches = []
    cases = RegistrationCase.objects
    if search.case_number is not None:
        branches.append(ids(cases.filter(pk=search.case_number)))
    if search.phone:
        branches.append(ids(CaseNumber.objects.filter(number__e164=search.phone), "case_id"))
    if search.phone_digits:
        digits = search.phone_digits
        # The end of a number ("555-0100", "0100") from an index on the reversed number; its start ("512-555") from
        # the number's own index. (A trigram index on digits was no faster than reading every number: see README.)
        ends = PhoneNumber.objects.annotate(reversed_e164=Reverse("e164")).filter(
            reversed_e164__startswith=digits[::-1]
        )
        starts = PhoneNumber.objects.filter(e164__startswith="+1" + (digits[1:] if digits.startswith("1") else digits))
        branches.append(ids(CaseNumber.objects.filter(number__in=ends.values("pk").order_by()), "case_id"))
        branches.append(ids(CaseNumber.objects.filter(number__in=starts.values("pk").order_by()), "case_id"))
    if search.registry_id:
        branches.append(ids(cases.filter(brand__registry_id=search.registry_id)))
        branches.append(ids(cases.filter(campaign__registry_id=search.registry_id)))
        branches.append(ids(cases.filter(campaign__brand__registry_id=search.registry_id)))
    if search.name:
        branches.append(ids(cases.filter(organisation__name__icontains=search.name)))
        branches.append(ids(cases.filter(brand__legal_name__icontains=search.name)))
        branches.append(ids(cases.filter(brand__dba_name__icontains=search.name)))
    first, *rest = branches
    return first.union(*rest) if rest else first


def support_queue(
    *,
    state: str = "",
    organisation_id: int | None = None,
    age: str = "",
    sort: str = DEFAULT_SORT,
    kind: str = "",
    owner: str = "",
    read: str = "",
    case_ids: list[int] | None = None,
    user: User | None = None,
    now=None,
):
    """Every organisation's cases for the support console, filtered and sorted. `state` may also be "open"
    (every state but completed and cancelled), the default view of the queue. `owner` is "mine" (`user`'s cases)
    or "unassigned"; `read` "unread"; `case_ids` the cases the search box found (search_cases)."""
    now = now or timezone.now()
    cases = (
        RegistrationCase.objects.using(reporting_db())
        .select_related("organisation", "owner")
        .annotate(number_count=Count("case_numbers"))
    )
    if state == "open":
        cases = cases.filter(state__in=RegistrationCase.OPEN_STATES)
    elif state in State.values:
        cases = cases.filter(state=state)
    if organisation_id:
        cases = cases.filter(organisation_id=organisation_id)
    if age in AGE_FILTERS:
        cases = cases.filter(AGE_FILTERS[age][1](now))
        if age == "overdue":
            cases = cases.filter(state__in=RegistrationCase.OPEN_STATES)
    if kind in RegistrationCase.Kind.values:
        cases = cases.filter(kind=kind)
    if owner == "mine" and user is not None:
        cases = cases.filter(owner=user)
    elif owner == "unassigned":
        cases = cases.filter(owner__isnull=True)
    if read == "unread":
        cases = cases.filter(unread_by_support=True)
    if case_ids is not None:
        cases = cases.filter(pk__in=case_ids)
    ordering = SORTS.get(sort, SORTS[DEFAULT_SORT])[1]
    if ordering is None:
        overdue = Q(state__in=RegistrationCase.OPEN_STATES) & overdue_condition(now)
        cases = cases.annotate(overdue_since=Case(When(overdue, then=F("opened_at")), default=None))
        ordering = (F("overdue_since").asc(nulls_last=True), "-state_changed", "-id")
    return cases.order_by(*ordering)


def approved_brand_elsewhere(case: RegistrationCase) -> Brand | None:
    """An approved brand the case's organisation already has (other than the case's own): registering the brand again
    would be billed again (SPEC.md 8), so support is warned before it submits."""
    return (
        Brand.objects.filter(organisation_id=case.organisation_id, status=Brand.Status.APPROVED)
        .exclude(pk=case.brand_id or 0)
        .exclude(registry_id="")
        .order_by("created", "id")
        .first()
    )


def support_users():
    """Who may own a case: active Cisco PSTN support staff, by name."""
    return User.objects.filter(role=User.Role.SUPPORT, is_active=True).order_by("full_name", "email")


def state_counts(user: User | None = None) -> dict[str, int]:
    """How many cases are in each state (every state present, zeros included), plus "open", "overdue", and among the
    open cases "unread" and `user`'s own ("mine"). One query."""
    overdue = overdue_condition(timezone.now())
    rows = (
        RegistrationCase.objects.using(reporting_db())
        .values("state")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=overdue),
            unread=Count("id", filter=Q(unread_by_support=True)),
            mine=Count("id", filter=Q(owner=user) if user is not None and user.pk else Q(pk__in=[])),
        )
        .order_by()
    )
    counts = {state: 0 for state in State.values}
    overdue = unread = mine = 0
    for row in rows:
        counts[row["state"]] = row["total"]
        if row["state"] in RegistrationCase.OPEN_STATES:
            overdue += row["overdue"]
            unread += row["unread"]
            mine += row["mine"]
    counts["open"] = sum(counts[state] for state in RegistrationCase.OPEN_STATES)
    counts.update(overdue=overdue, unread=unread, mine=mine)
    return counts


def changes_since_rejection(case: RegistrationCase) -> dict | None:
    """What the customer changed in the registration form since the registry last rejected it: the rejected version,
    the version submitted after it, the rejection's reason and each changed field as (label, before, after). The
    versions of earlier cases about the same campaign count too (a correction resubmits what another case sent).
    None when no submitted version followed a rejection."""
    versions = RegistrationVersion.objects.filter(
        Q(case=case) | Q(case__campaign_id=case.campaign_id) if case.campaign_id else Q(case=case)
    ).order_by("submitted_at", "pk")
    versions = list(versions)
    rejected_at = max((i for i, v in enumerate(versions) if v.rejection_reason), default=None)
    if rejected_at is None or rejected_at == len(versions) - 1:
        return None
    before, after = versions[rejected_at], versions[-1]
    labels = {f.attname: str(FIELD_LABELS.get(f.name, f.verbose_name)) for f in RegistrationForm._meta.concrete_fields}
    changes = [
        (labels[name], before.data.get(name) or "", after.data.get(name) or "")  # a field absent, empty or off: ""
        for name in labels
        if (before.data.get(name) or "") != (after.data.get(name) or "")
    ]
    return {"rejected": before, "latest": after, "reason": before.rejection_reason, "changes": changes}


# --- legal holds (compliance officers) ------------------------------------------------------------------------------


def holds_of(org: Organisation):
    """The organisation's legal holds, active ones first, newest first, with their custodians' counts."""
    from .models import LegalHold

    return (
        LegalHold.objects.filter(organisation=org)
        .select_related("created_by", "released_by")
        .annotate(
            user_count=Count("custodian_users", distinct=True), number_count=Count("custodian_numbers", distinct=True)
        )
        .order_by("status", "-created", "-id")
    )


def held_text_counts(hold_ids, cutoff) -> dict[int, tuple[int, int]]:
    """{hold id: (texts it holds now, of which older than `cutoff`)} for the holds `hold_ids`, in one query. A text is
    held when a custodian user sent it or it went through a custodian number, within the hold's range; the same rule
    the purge applies (texting.retention._not_held). A text both a user and a number match is counted once."""
    from django.db import connection

    from texting.models import Message

    from .models import LegalHold, LegalHoldNumber, LegalHoldUser

    ids = [int(pk) for pk in hold_ids]
    if not ids:
        return {}
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    hold, users, numbers = (quote(m._meta.db_table) for m in (LegalHold, LegalHoldUser, LegalHoldNumber))
    marks = ", ".join(["%s"] * len(ids))
    within = (
        f"h.id IN ({marks}) AND h.organisation_id = m.organisation_id"
        " AND (h.held_from IS NULL OR m.created_at >= h.held_from)"
        " AND (h.held_until IS NULL OR m.created_at < h.held_until)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT hold_id, COUNT(*), SUM(CASE WHEN created_at < %s THEN 1 ELSE 0 END) FROM ("
            f"SELECT h.id AS hold_id, m.id, m.created_at FROM {users} hu JOIN {hold} h ON h.id = hu.hold_id"
            f" JOIN {table} m ON m.user_id = hu.user_id WHERE {within}"
            f" UNION SELECT h.id AS hold_id, m.id, m.created_at FROM {numbers} hn JOIN {hold} h ON h.id = hn.hold_id"
            f" JOIN {table} m ON m.business_number = hn.e164 WHERE {within}) held GROUP BY hold_id",
            [connection.ops.adapt_datetimefield_value(cutoff), *ids, *ids],
        )
        counts = {hold_id: (total, int(expired or 0)) for hold_id, total, expired in cursor.fetchall()}
    return {pk: counts.get(pk, (0, 0)) for pk in ids}


def hold_custodian_choices(org: Organisation):
    """The users a hold may name: the organisation's customer users (end users and administrators), by email."""
    from portal.models import User

    return (
        User.objects.filter(organisation=org)
        .exclude(role__in=[User.Role.SUPPORT, User.Role.OPERATOR])
        .order_by("email")
    )
