"""Calling → PSTN → Business Texting → Manage → Authorize Business Texting: choose a location, select numbers,
read the order summary, submit. Selection lives in the session (provisioning.wizard.Selection)."""

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from portal.access import organisation_view
from portal.htmx import render_page, vary_on_htmx, wants_fragment
from portal.lists import NotAnId, paginate, parse_id, parse_ids, typed_text

from ..actions import OrderRefused, check_selectable, place_authorisation_order
from ..eligibility import check_eligibility
from ..models import AuthorisationOrder, PhoneNumber
from ..queries import ASSIGNMENT_FILTERS, attach_latest_memberships, cisco_calling_plan_locations, wizard_numbers
from ..wizard import Selection

PAGE_SIZE = 50


def _filters(params) -> dict:
    """The wizard's number filters from a query string or form: digits to search for, and assignment."""
    assigned = params.get("assigned", "")
    return {"q": typed_text(params.get("q"), 40), "assigned": assigned if assigned in ASSIGNMENT_FILTERS else ""}


def _wizard_url(location_id, filters=None, page=None) -> str:
    params = {"location": location_id, **{k: v for k, v in (filters or {}).items() if v}}
    if page:
        params["page"] = page
    return f"{reverse('provisioning:authorize')}?{urlencode(params)}"


def _numbers_context(location, selection, filters, page_number, error=""):
    """Step 2's numbers table: one page of the location's authorisable numbers, ticked as in the selection.
    A constant number of queries whatever the page or the selection size (the selection is in the session)."""
    page = Paginator(wizard_numbers(location, **filters), PAGE_SIZE).get_page(page_number)
    rows = attach_latest_memberships(list(page.object_list))
    for number in rows:
        number.selected = number.pk in selection
    return {
        "location": location,
        "page": page,
        "rows": rows,
        "filters": filters,
        "assignment_filters": ASSIGNMENT_FILTERS,
        "selection": selection,
        "selected_count": len(selection),
        "page_all_selected": bool(rows) and all(n.selected for n in rows),
        "query": urlencode({"location": location.pk, **{k: v for k, v in filters.items() if v}}),
        "error": error,
    }


@organisation_view(manage=True)
def authorize(request):
    org = request.organisation
    if not check_eligibility(org, advisory=False).eligible:
        # The full checklist, so the administrator sees everything that is left to do.
        return render(
            request, "provisioning/authorize.html", {"eligibility": check_eligibility(org), "ineligible": True}
        )
    locations = cisco_calling_plan_locations(org)
    selection = Selection(request.session)
    location = None
    if "location" in request.GET:
        location_id = parse_id(request.GET["location"])
        if request.GET["location"] and location_id is None:
            raise Http404("No such location.")
        location = get_object_or_404(locations, pk=location_id) if location_id else None
    elif selection.location_id:
        location = locations.filter(pk=selection.location_id).first()
    context = {"locations": locations, "location": location, "step": 2 if location else 1}
    if location is not None:
        selection.for_location(location.pk)
        context.update(_numbers_context(location, selection, _filters(request.GET), request.GET.get("page")))
    # With no location, the numbers piece is the prompt to choose one.
    return render_page(request, "provisioning/authorize.html", context, fragment="numbers", target="wizard-numbers")


@require_POST
@organisation_view(manage=True)
def authorize_selection(request):
    """Change the selection: tick or untick one number, select the page or all matching, clear.

    Every number added is checked first (this location, can be authorised); a refused change changes nothing.
    HTMX gets the updated numbers partial; without JavaScript the form posts the page and is redirected back.
    """
    location = get_object_or_404(
        cisco_calling_plan_locations(request.organisation), pk=parse_id(request.POST.get("location"))
    )
    selection = Selection(request.session).for_location(location.pk)
    filters = _filters(request.POST)
    op = request.POST.get("op", "")
    error = ""
    try:
        if op == "toggle":
            # `id` names the checkbox that changed; it is ticked if its value is among the ticked `number`s.
            number_id = parse_id(request.POST.get("id"))
            if number_id is None:
                raise OrderRefused(_("Choose a number."))
            if str(number_id) in request.POST.getlist("number"):
                selection.add(check_selectable(location, [number_id]))
            else:
                selection.remove([number_id])
        elif op in ("select_page", "save_page"):
            page_ids = parse_ids(request.POST.getlist("page_ids"))
            chosen = page_ids if op == "select_page" else parse_ids(request.POST.getlist("number"))
            if set(chosen) - set(page_ids):
                raise OrderRefused(_("The selection does not match the numbers on this page. Reload and try again."))
            if chosen:
                check_selectable(location, chosen)
            selection.remove(set(page_ids) - set(chosen))
            selection.add(chosen)
        elif op == "clear_page":
            selection.remove(parse_ids(request.POST.getlist("page_ids")))
        elif op == "select_matching":
            selection.add(wizard_numbers(location, **filters).values_list("pk", flat=True))
        elif op == "clear":
            selection.clear()
        else:
            raise OrderRefused(_("Unknown selection change."))
    except (OrderRefused, NotAnId) as exc:
        error = str(exc)
    page_number = request.POST.get("page") or 1
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
        return vary_on_htmx(redirect(_wizard_url(location.pk, filters, page_number)))
    if op == "toggle" and not error:
        context = {"location": location, "selection": selection, "selected_count": len(selection)}
        return vary_on_htmx(render(request, "provisioning/authorize.html#selection", context))
    context = {"locations": None, "step": 2, **_numbers_context(location, selection, filters, page_number, error)}
    return vary_on_htmx(render(request, "provisioning/authorize.html#numbers", context))


@organisation_view(manage=True)
def authorize_summary(request):
    """Step 3: the order summary of the current selection, with a one-time submission token."""
    selection = Selection(request.session)
    location = cisco_calling_plan_locations(request.organisation).filter(pk=selection.location_id).first()
    if location is None or not len(selection):
        messages.error(request, _("Select at least one number to authorise."))
        return redirect(_wizard_url(location.pk) if location else reverse("provisioning:authorize"))
    try:
        check_selectable(location, selection.ids)
    except OrderRefused as exc:
        messages.error(request, _("%(reason)s Review your selection.") % {"reason": exc})
        return redirect(_wizard_url(location.pk))
    numbers = PhoneNumber.objects.filter(pk__in=selection.ids).select_related("assigned_user").order_by("e164")
    page = paginate(request, numbers, per_page=PAGE_SIZE)
    context = {
        "location": location,
        "page": page,
        "selected_count": len(selection),
        "token": selection.submission_token(),
        "step": 3,
        "query": "",
    }
    return render(request, "provisioning/authorize_summary.html", context)


@require_POST
@organisation_view(manage=True)
def authorize_submit(request):
    """Place the order shown on the summary. The same summary submitted twice leads to the same order."""
    selection = Selection(request.session)
    token = request.POST.get("token", "")
    location = cisco_calling_plan_locations(request.organisation).filter(pk=selection.location_id).first()
    if token and token != selection.token:
        order = AuthorisationOrder.objects.filter(
            organisation=request.organisation, submission_token=_uuid(token)
        ).first()
        if order is not None:
            messages.info(request, _("This order was already placed: order #%(number)s.") % {"number": order.pk})
            return redirect("provisioning:order", pk=order.pk)
        messages.error(
            request, _("The selection changed since this summary was shown. Review the order summary again.")
        )
        return redirect("provisioning:authorize_summary")
    try:
        order, created = place_authorisation_order(request.organisation, request.user, location, selection.ids, token)
    except OrderRefused as exc:
        messages.error(request, str(exc))
        return redirect(_wizard_url(location.pk) if location else reverse("provisioning:authorize"))
    selection.forget()
    if created:
        messages.success(
            request,
            ngettext(
                "Order placed: %(count)s number sent for authorisation. It will show authorised or failed when the "
                "carrier answers.",
                "Order placed: %(count)s numbers sent for authorisation. Each number will show authorised or failed "
                "when the carrier answers.",
                order.number_count,
            )
            % {"count": order.number_count},
        )
    return redirect("provisioning:order", pk=order.pk)


def _uuid(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
