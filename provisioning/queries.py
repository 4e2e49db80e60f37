"""Read queries the provisioning pages share, with the joins and counts they need (no N+1 in templates)."""

from django.db.models import Count, Q, QuerySet

from portal.models import Organisation

from .eligibility import authorisable_numbers
from .models import AuthorisationOrder, Location, OrderLine, PhoneNumber

ASSIGNMENT_FILTERS = {"": "All numbers", "assigned": "Assigned to a user", "unassigned": "Unassigned"}


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
