from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page, search_term

from ..eligibility import check_eligibility, has_texting_addon
from ..models import Location, PhoneNumber


@organisation_view
def location_list(request):
    q = search_term(request)
    locations = Location.objects.filter(organisation=request.organisation).annotate(
        number_count=Count("numbers"),
        authorised_count=Count(
            "numbers",
            filter=Q(
                numbers__texting_state__in=[PhoneNumber.TextingState.AUTHORISED, PhoneNumber.TextingState.REGISTERED]
            ),
        ),
    )
    if q:
        locations = locations.filter(Q(name__icontains=q) | Q(city__icontains=q) | Q(state__icontains=q))
    page = paginate(request, locations.order_by("name"), per_page=25)
    context = {"page": page, "q": q, "query": query_without_page(request)}
    return render_page(request, "provisioning/locations.html", context, fragment="rows")


@organisation_view
def location_detail(request, pk):
    location = get_object_or_404(Location, pk=pk, organisation=request.organisation)
    q = search_term(request)
    numbers = location.numbers.select_related("assigned_user").order_by("e164")
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        numbers = numbers.filter(e164__contains=digits) if digits else numbers.none()
    page = paginate(request, numbers, per_page=50)
    context = {"location": location, "page": page, "q": q, "query": query_without_page(request)}
    return render_page(request, "provisioning/location_detail.html", context, fragment="rows")


@organisation_view
def calling_pstn(request):
    """Calling → PSTN: each location's PSTN connection, and the Business Texting card (only with the add-on)."""
    org = request.organisation
    locations = Location.objects.filter(organisation=org).annotate(number_count=Count("numbers")).order_by("name")
    addon = has_texting_addon(org)
    context = {
        "locations": locations,
        "addon": addon,
        "eligibility": check_eligibility(org) if addon else None,
    }
    return render(request, "provisioning/calling_pstn.html", context)
