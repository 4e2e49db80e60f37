from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import NotAnId, paginate, parse_id, parse_ids, query_without_page, search_term, typed_text

from ..eligibility import check_eligibility, has_texting_addon
from ..models import Location, PhoneNumber
from ..queries import (
    TEXTING_FILTERS,
    attach_latest_memberships,
    campaign_status_filters,
    location_numbers,
    organisation_campaigns,
)


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


# The confirmation page lists this many of the numbers to de-authorise (and counts the rest).
CONFIRM_ROWS = 100


def _number_filters(params, campaigns) -> dict:
    """The location page's number filters from a query string or form, unknown values dropped."""
    texting = params.get("texting", "")
    status = params.get("status", "")
    campaign = parse_id(params.get("campaign", ""))
    return {
        "q": typed_text(params.get("q"), 40),
        "texting": texting if texting in TEXTING_FILTERS else "",
        "status": status if status in campaign_status_filters() else "",
        "campaign": campaign if campaign in {c.pk for c in campaigns} else None,
    }


def _location_url(location, filters) -> str:
    params = {k: v for k, v in filters.items() if v}
    return reverse("provisioning:location", args=[location.pk]) + (f"?{urlencode(params)}" if params else "")


@organisation_view
def location_detail(request, pk):
    """A location and its numbers, each with its texting state and campaign membership (campaign, assignment status,
    the carrier's reason for a failure), filterable; full administrators retry failed assignments and de-authorise
    selected numbers. A constant number of queries per page, whatever the number of numbers."""
    location = get_object_or_404(Location, pk=pk, organisation=request.organisation)
    campaigns = list(organisation_campaigns(request.organisation))
    filters = _number_filters(request.GET, campaigns)
    numbers = location_numbers(location, **filters)
    page = paginate(request, numbers, per_page=50)
    rows = attach_latest_memberships(list(page.object_list))
    context = {
        "location": location,
        "page": page,
        "rows": rows,
        "q": filters["q"],
        "filters": filters,
        "filtered": any(filters.values()),
        "texting_filters": TEXTING_FILTERS,
        "status_filters": campaign_status_filters(),
        "campaigns": campaigns,
        "can_manage": request.user.can_manage,
        "query": query_without_page(request),
    }
    return render_page(request, "provisioning/location_detail.html", context, fragment="rows")


@require_POST
@organisation_view(manage=True)
def retry_assignments(request, pk):
    """Retry failed campaign assignments of this location's numbers: the ones named, or with `all`, every failed one
    (matching the page's filters). Refused as a whole, with the reason, if any cannot be retried."""
    from compliance.actions.numbers import NumbersRefused, retry_assignment
    from compliance.models import CampaignNumber

    location = get_object_or_404(Location, pk=pk, organisation=request.organisation)
    filters = _number_filters(request.POST, organisation_campaigns(request.organisation))
    failed = CampaignNumber.objects.filter(number__location=location)
    try:
        if request.POST.get("all"):
            ids = list(
                failed.filter(
                    status=CampaignNumber.Status.FAILED_ASSIGNMENT,
                    number__in=location_numbers(location, **filters).values("pk"),
                ).values_list("pk", flat=True)
            )
        else:
            ids = parse_ids(request.POST.getlist("campaign_number"))
            if len(set(failed.filter(pk__in=ids).values_list("pk", flat=True))) != len(set(ids)):
                raise NumbersRefused(_("Some of these assignments are not of this location. Reload and try again."))
        count = retry_assignment(ids, request.user)
    except (NumbersRefused, NotAnId) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s assignment is being tried again: the carrier answers within about two hours.",
                "%(count)s assignments are being tried again: the carrier answers within about two hours.",
                count,
            )
            % {"count": count},
        )
    return redirect(_location_url(location, filters))


@require_POST
@organisation_view(manage=True)
def deauthorise(request, pk):
    """De-authorise the selected numbers of this location for Business Texting, after a confirmation page that says
    what happens to each (numbers in a campaign leave it through the carrier first)."""
    from compliance.actions.numbers import NumbersRefused, deauthorise_numbers

    location = get_object_or_404(Location, pk=pk, organisation=request.organisation)
    filters = _number_filters(request.POST, organisation_campaigns(request.organisation))
    all_matching = request.POST.get("all_matching") == "1"
    if all_matching:
        # Every number the filtered list shows, however many pages: the confirmation carries the filters and the
        # count it showed, and a list that changed since is shown again rather than acted on.
        ids = list(
            location_numbers(location, **filters)
            .filter(texting_state__in=[PhoneNumber.TextingState.AUTHORISED, PhoneNumber.TextingState.REGISTERED])
            .values_list("pk", flat=True)
        )
    else:
        try:
            ids = parse_ids(request.POST.getlist("number"))
        except NotAnId as exc:
            messages.error(request, str(exc))
            return redirect(_location_url(location, filters))
    numbers = location.numbers.filter(pk__in=ids)
    if not ids or numbers.count() != len(set(ids)):
        messages.error(
            request,
            _("No number listed is authorised: there is nothing to de-authorise.")
            if all_matching and not ids
            else _("Select numbers of this location to de-authorise.")
            if not ids
            else _("Some selected numbers are not numbers of %(location)s. Reload the page and select again.")
            % {"location": location.name},
        )
        return redirect(_location_url(location, filters))
    changed = all_matching and request.POST.get("count") != str(len(ids))
    if request.POST.get("confirmed") != "yes" or changed:
        rows = attach_latest_memberships(list(numbers.order_by("e164")[:CONFIRM_ROWS]))
        context = {
            "location": location,
            "rows": rows,
            "filters": filters,
            "count": len(ids),
            "more": len(ids) - len(rows),
            "all_matching": all_matching,
            "ids": ids,
            "changed": changed and request.POST.get("confirmed") == "yes",
        }
        return render(request, "provisioning/deauthorise_confirm.html", context)
    try:
        counts = deauthorise_numbers(request.organisation, ids, by=request.user)
    except NumbersRefused as exc:
        messages.error(request, str(exc))
    else:
        text = ngettext(
            "%(count)s number is no longer authorised for Business Texting.",
            "%(count)s numbers are no longer authorised for Business Texting.",
            counts["now"],
        ) % {"count": counts["now"]}
        if counts["leaving"]:
            text += " " + ngettext(
                "%(count)s number is leaving its campaign first and becomes not authorised when the carrier "
                "removes it.",
                "%(count)s numbers are leaving their campaign first and become not authorised when the carrier "
                "removes them.",
                counts["leaving"],
            ) % {"count": counts["leaving"]}
        messages.success(request, text)
    return redirect(_location_url(location, filters))


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
