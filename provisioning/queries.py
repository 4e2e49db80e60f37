"""Read queries the provisioning pages share, with the joins and counts they need (no N+1 in templates)."""

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation

from .eligibility import authorisable_numbers
from .models import AuthorisableCount, AuthorisationOrder, Location, OrderLine, PhoneNumber

ASSIGNMENT_FILTERS = {"": _("All numbers"), "assigned": _("Assigned to a user"), "unassigned": _("Unassigned")}

# The location page's filters on a number's campaign membership (compliance.CampaignNumber): its latest one, the
# current one if there is one, else the last it left.
NOT_IN_A_CAMPAIGN = "none"
TEXTING_FILTERS = {"": _("Any texting state"), **dict(PhoneNumber.TextingState.choices)}


def campaign_status_filters() -> dict:
    from compliance.models import CampaignNumber

    return {
        "": _("Any campaign status"),
        NOT_IN_A_CAMPAIGN: _("Never in a campaign"),
        **dict(CampaignNumber.Status.choices),
    }


def cisco_calling_plan_locations(org: Organisation) -> QuerySet[Location]:
    """The locations whose numbers can text: Cisco Calling Plan as PSTN, in the US or Canada."""
    return Location.objects.filter(
        organisation=org, pstn_connection=Location.PstnConnection.CISCO_CALLING_PLAN, country__in=["US", "CA"]
    ).order_by("name")


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def authorisable_count(location: Location) -> int:
    """How many numbers of `location` can be authorised: on PostgreSQL the count its triggers keep (one row read,
    however many numbers; provisioning.AuthorisableCount), on SQLite a count of the numbers."""
    if connection.vendor == "postgresql":
        return AuthorisableCount.objects.filter(location=location).values_list("numbers", flat=True).first() or 0
    return authorisable_numbers(location).count()


def wizard_numbers(location: Location, *, q: str = "", assigned: str = "") -> QuerySet[PhoneNumber]:
    """Numbers of `location` the wizard offers, filtered by digits and by assignment, in number order."""
    numbers = authorisable_numbers(location).select_related("assigned_user").order_by("e164")
    digits = digits_of(q)
    if q and not digits:
        return numbers.none()
    if digits:
        numbers = numbers.filter(e164__contains=digits)
    if assigned == "assigned":
        numbers = numbers.filter(assigned_user__isnull=False)
    elif assigned == "unassigned":
        numbers = numbers.filter(assigned_user__isnull=True)
    return numbers


def orders_for(org: Organisation) -> QuerySet[AuthorisationOrder]:
    """The organisation's orders, newest first, with their lines counted per state in the same query."""
    return (
        AuthorisationOrder.objects.filter(organisation=org)
        .select_related("location", "placed_by")
        .annotate(
            pending_count=Count("lines", filter=Q(lines__state=OrderLine.State.PENDING)),
            authorised_count=Count("lines", filter=Q(lines__state=OrderLine.State.AUTHORISED)),
            failed_count=Count("lines", filter=Q(lines__state=OrderLine.State.FAILED)),
        )
        .order_by("-created", "-id")
    )


def order_lines(order: AuthorisationOrder, state: str = "") -> QuerySet[OrderLine]:
    lines = order.lines.select_related("number", "number__assigned_user").order_by("number__e164")
    if state in OrderLine.State.values:
        lines = lines.filter(state=state)
    return lines


# --- numbers with their campaign membership (the location page, the Authorize wizard) ------------------------------


def location_numbers(
    location: Location, *, q: str = "", texting: str = "", status: str = "", campaign: int | None = None
) -> QuerySet[PhoneNumber]:
    """The numbers of `location` in number order, filtered by digits, texting state, campaign status (of the current
    membership; *removed*: in no campaign now but in one before; NOT_IN_A_CAMPAIGN: never in one) and campaign (in it
    now). Semi-joins in the WHERE clause, no per-row subquery in the page's columns, so a deep page costs what the
    first does. Unknown filter values filter nothing. Pair with `attach_latest_memberships` for the page's rows."""
    from compliance.models import CampaignNumber

    numbers = location.numbers.select_related("assigned_user").order_by("e164")
    digits = digits_of(q)
    if q and not digits:
        return numbers.none()
    if digits:
        numbers = numbers.filter(e164__contains=digits)
    if texting in PhoneNumber.TextingState.values:
        numbers = numbers.filter(texting_state=texting)
    memberships = CampaignNumber.objects.filter(number=OuterRef("pk"))
    current = memberships.exclude(status=CampaignNumber.Status.REMOVED)
    if status == NOT_IN_A_CAMPAIGN:
        numbers = numbers.filter(~Exists(memberships))
    elif status == CampaignNumber.Status.REMOVED:
        numbers = numbers.filter(Exists(memberships.filter(status=status)), ~Exists(current))
    elif status in CampaignNumber.Status.values:
        numbers = numbers.filter(Exists(memberships.filter(status=status)))
    if campaign is not None:
        # The campaign's memberships once (its index), not a probe per number: a semi-join on the campaign's numbers.
        in_campaign = CampaignNumber.objects.filter(campaign_id=campaign).exclude(status=CampaignNumber.Status.REMOVED)
        numbers = numbers.filter(pk__in=in_campaign.values("number_id"))
    return numbers


def organisation_campaigns(org: Organisation):
    """The organisation's submitted campaigns, for the campaign filter."""
    from compliance.models import Campaign

    return Campaign.objects.filter(organisation=org).exclude(status=Campaign.Status.DRAFT).order_by("created", "id")


def attach_latest_memberships(numbers: list[PhoneNumber]) -> list[PhoneNumber]:
    """Set `number.membership` on each number: its current campaign membership (a number has at most one), else the
    last it left, else None; with the campaign. One query for the whole page (always one, even for a page of numbers
    never in a campaign, so every page costs the same number of queries)."""
    from compliance.models import CampaignNumber

    found: dict[int, CampaignNumber] = {}
    rows = CampaignNumber.objects.select_related("campaign").filter(number_id__in=[n.pk for n in numbers] or [0])
    for row in sorted(rows, key=lambda r: (r.status == CampaignNumber.Status.REMOVED, -r.changed_at.timestamp())):
        found.setdefault(row.number_id, row)
    for number in numbers:
        number.membership = found.get(number.pk)
    return numbers
