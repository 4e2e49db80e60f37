"""Read queries the provisioning pages share, with the joins and counts they need (no N+1 in templates)."""

from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation

from .eligibility import authorisable_numbers
from .models import AuthorisationOrder, Location, OrderLine, PhoneNumber

ASSIGNMENT_FILTERS = {"": "All numbers", "assigned": "Assigned to a user", "unassigned": "Unassigned"}

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


def with_membership(numbers: QuerySet[PhoneNumber]) -> QuerySet[PhoneNumber]:
    """`numbers` annotated with their latest campaign membership: `membership_id`, `membership_status` and
    `membership_campaign_id` (None for a number never in a campaign). The current membership comes first (a number is
    in at most one), else the most recent one it left."""
    from compliance.models import CampaignNumber

    latest = CampaignNumber.objects.filter(number=OuterRef("pk")).order_by(
        Case(
            When(status=CampaignNumber.Status.REMOVED, then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        ),
        "-changed_at",
        "-id",
    )
    return numbers.annotate(
        membership_id=Subquery(latest.values("pk")[:1]),
        membership_status=Subquery(latest.values("status")[:1]),
        membership_campaign_id=Subquery(latest.values("campaign_id")[:1]),
    )


def location_numbers(
    location: Location, *, q: str = "", texting: str = "", status: str = "", campaign: int | None = None
) -> QuerySet[PhoneNumber]:
    """The numbers of `location` in number order, with their campaign membership, filtered by digits, texting state,
    campaign status and campaign (currently in it). Unknown filter values filter nothing."""
    numbers = with_membership(location.numbers.select_related("assigned_user").order_by("e164"))
    digits = digits_of(q)
    if q and not digits:
        return numbers.none()
    if digits:
        numbers = numbers.filter(e164__contains=digits)
    if texting in PhoneNumber.TextingState.values:
        numbers = numbers.filter(texting_state=texting)
    if status == NOT_IN_A_CAMPAIGN:
        numbers = numbers.filter(membership_id__isnull=True)
    elif status and status in campaign_status_filters():
        numbers = numbers.filter(membership_status=status)
    if campaign is not None:
        numbers = numbers.filter(membership_campaign_id=campaign).exclude(membership_status="removed")
    return numbers


def attach_memberships(numbers: list[PhoneNumber]) -> list[PhoneNumber]:
    """Set `number.membership` (a CampaignNumber with its campaign and case, or None) on numbers annotated by
    `with_membership`: one query for the whole page."""
    from compliance.models import CampaignNumber

    ids = [n.membership_id for n in numbers if n.membership_id]
    found = CampaignNumber.objects.select_related("campaign").in_bulk(ids) if ids else {}
    for number in numbers:
        number.membership = found.get(number.membership_id)
    return numbers


def organisation_campaigns(org: Organisation):
    """The organisation's submitted campaigns, for the campaign filter."""
    from compliance.models import Campaign

    return Campaign.objects.filter(organisation=org).exclude(status=Campaign.Status.DRAFT).order_by("created", "id")


def attach_latest_memberships(numbers: list[PhoneNumber]) -> list[PhoneNumber]:
    """Set `number.membership` (its current campaign membership, else the last it left, else None) on plain numbers,
    in one query for the whole page, leaving the page's own query as it is (the Authorize wizard's)."""
    from compliance.models import CampaignNumber

    found: dict[int, CampaignNumber] = {}
    rows = CampaignNumber.objects.select_related("campaign").filter(number_id__in=[n.pk for n in numbers])
    for row in sorted(rows, key=lambda r: (r.status == CampaignNumber.Status.REMOVED, -r.changed_at.timestamp())):
        found.setdefault(row.number_id, row)
    for number in numbers:
        number.membership = found.get(number.pk)
    return numbers
