"""Calling → PSTN → Business Texting → Manage → Authorize Business Texting: choose a location, select numbers,
read the order summary, submit. The selection lives in the database (provisioning.wizard), named by the wizard's
token that every form and link of the wizard carries."""

import functools
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.access import organisation_view
from portal.htmx import render_page, vary_on_htmx, wants_fragment
from portal.lists import NotAnId, parse_id, parse_ids, typed_text

from .. import wizard
from ..actions import AUTHORISABLE_STATES, OrderRefused, check_selectable, check_selection, place_authorisation_order
from ..eligibility import check_eligibility
from ..models import AuthorisationOrder, PhoneNumber
from ..queries import (
    ASSIGNMENT_FILTERS,
    attach_latest_memberships,
    authorisable_count,
    cisco_calling_plan_locations,
    wizard_numbers,
)

PAGE_SIZE = 50


def _selection_not_open_page(view):
    """A wizard page or change naming a selection that is not open (ordered already, expired, someone else's): the
    same 404 for every case, as a page that says the selection is no longer open and links to a new authorisation and
    to the orders, rather than the generic "not found" (the back button after placing an order lands here)."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except wizard.SelectionNotOpen:
            context = {"hours": settings.WIZARD_SELECTION_HOURS}
            response = render(request, "provisioning/selection_not_open.html", context, status=404)
            if wants_fragment(request):
                # A change made on the page (a tick, a page of numbers): htmx swaps no 4xx answer, so nothing would
                # show. The browser reloads the page instead: this page where its address names the selection, else
                # the wizard afresh (the order placed meanwhile no longer lists its numbers).
                response["HX-Refresh"] = "true"
            return vary_on_htmx(response)

    return wrapped


def _filters(params) -> dict:
    """The wizard's number filters from a query string or form: digits to search for, and assignment."""
    assigned = params.get("assigned", "")
    return {"q": typed_text(params.get("q"), 40), "assigned": assigned if assigned in ASSIGNMENT_FILTERS else ""}


def _wizard_url(location_id, filters=None, page=None, selection=None) -> str:
    params = {"location": location_id, **{k: v for k, v in (filters or {}).items() if v}}
    if selection is not None:
        params[wizard.PARAM] = selection.token
    if page:
        params["page"] = page
    return f"{reverse('provisioning:authorize')}?{urlencode(params)}"


def _numbers_context(location, selection, filters, page_number, error=""):
    """Step 2's numbers table: one page of the location's authorisable numbers, ticked as in the selection.
    A constant number of queries whatever the page or the selection size: the page's ticks are looked up by the
    page's ids (the selection's primary key) and the count shown is the selection's counter."""
    numbers = wizard_numbers(location, **filters)
    # The page's ids first (a deep page skips index entries, not joined rows), then its rows and their ticks by id.
    paginator = Paginator(numbers.values_list("pk", flat=True), PAGE_SIZE)
    if not any(filters.values()):
        paginator.count = authorisable_count(location)  # not a count of 100,000 numbers (PostgreSQL)
    page = paginator.get_page(page_number)
    ids = list(page.object_list) or [0]  # [0]: an empty page asks the same queries
    rows = attach_latest_memberships(list(numbers.filter(pk__in=ids)))
    ticked = wizard.ticked_among(selection, ids)
    for number in rows:
        number.selected = number.pk in ticked
    return {
        "location": location,
        "page": page,
        "rows": rows,
        "filters": filters,
        "assignment_filters": ASSIGNMENT_FILTERS,
        "selection": selection,
        "selected_count": selection.selected_count,
        "page_all_selected": bool(rows) and all(n.selected for n in rows),
        "query": urlencode(
            {"location": location.pk, **{k: v for k, v in filters.items() if v}, wizard.PARAM: selection.token}
        ),
        "error": error,
    }


@organisation_view(manage=True)
@_selection_not_open_page
def authorize(request):
    org = request.organisation
    if not check_eligibility(org, advisory=False).eligible:
        # The full checklist, so the administrator sees everything that is left to do.
        return render(
            request, "provisioning/authorize.html", {"eligibility": check_eligibility(org), "ineligible": True}
        )
    locations = cisco_calling_plan_locations(org)
    token = request.GET.get(wizard.PARAM)
    location = None
    if "location" in request.GET:
        location_id = parse_id(request.GET["location"])
        if request.GET["location"] and location_id is None:
            raise Http404("No such location.")
        location = get_object_or_404(locations, pk=location_id) if location_id else None
    elif (current := wizard.find(request, token)) is not None:
        location = locations.filter(pk=current.location_id).first()
    context = {"locations": locations, "location": location, "step": 2 if location else 1}
    if location is not None:
        selection = wizard.open_for(request, location, token)
        context.update(_numbers_context(location, selection, _filters(request.GET), request.GET.get("page")))
    # With no location, the numbers piece is the prompt to choose one.
    return render_page(request, "provisioning/authorize.html", context, fragment="numbers", target="wizard-numbers")


@require_POST
@organisation_view(manage=True)
@_selection_not_open_page
def authorize_selection(request):
    """Change the selection: tick or untick one number, select the page or all matching, clear.

    Every number added is checked first (this location, can be authorised); a refused change changes nothing.
    HTMX gets the updated numbers partial; without JavaScript the form posts the page and is redirected back.
    """
    location = get_object_or_404(
        cisco_calling_plan_locations(request.organisation), pk=parse_id(request.POST.get("location"))
    )
    filters = _filters(request.POST)
    op = request.POST.get("op", "")
    error = ""
    # One transaction holding the selection's row: changes to one selection queue up, so its counter stays exact.
    with transaction.atomic():
        selection = wizard.open_for(request, location, request.POST.get(wizard.PARAM), lock=True)
        try:
            _change_selection(request, location, selection, op, filters)
        except (OrderRefused, NotAnId) as exc:
            error = str(exc)
    page_number = request.POST.get("page") or 1
    if not wants_fragment(request):
        if error:
            messages.error(request, error)
        return vary_on_htmx(redirect(_wizard_url(location.pk, filters, page_number, selection)))
    if op == "toggle" and not error:
        context = {"location": location, "selection": selection, "selected_count": selection.selected_count}
        return vary_on_htmx(render(request, "provisioning/authorize.html#selection", context))
    context = {"locations": None, "step": 2, **_numbers_context(location, selection, filters, page_number, error)}
    return vary_on_htmx(render(request, "provisioning/authorize.html#numbers", context))


def _change_selection(request, location, selection, op, filters) -> None:
    """Apply one change of the selection; OrderRefused (nothing changed) when it cannot be made."""
    if op == "toggle":
        # `id` names the checkbox that changed; it is ticked if its value is among the ticked `number`s.
        number_id = parse_id(request.POST.get("id"))
        if number_id is None:
            raise OrderRefused(_("Choose a number."))
        if str(number_id) in request.POST.getlist("number"):
            wizard.add(selection, PhoneNumber.objects.filter(pk__in=check_selectable(location, [number_id])))
        else:
            wizard.remove(selection, [number_id])
    elif op in ("select_page", "save_page"):
        page_ids = parse_ids(request.POST.getlist("page_ids"))
        chosen = page_ids if op == "select_page" else parse_ids(request.POST.getlist("number"))
        if set(chosen) - set(page_ids):
            raise OrderRefused(_("The selection does not match the numbers on this page. Reload and try again."))
        if chosen:
            check_selectable(location, chosen)
        wizard.remove(selection, set(page_ids) - set(chosen))
        wizard.add(selection, PhoneNumber.objects.filter(pk__in=chosen))
    elif op == "clear_page":
        wizard.remove(selection, parse_ids(request.POST.getlist("page_ids")))
    elif op == "select_matching":
        # One INSERT ... SELECT of the numbers the filters match, however many.
        wizard.add(selection, wizard_numbers(location, **filters))
    elif op == "clear":
        wizard.clear(selection)
    else:
        raise OrderRefused(_("Unknown selection change."))


def _current_selection(request, token):
    """The request's selection and its location (still one of the organisation's Cisco Calling Plan locations), or
    (None, None). Another user's token is a 404."""
    selection = wizard.find(request, token)
    if selection is None:
        return None, None
    location = cisco_calling_plan_locations(request.organisation).filter(pk=selection.location_id).first()
    return (selection, location) if location is not None else (None, None)


def _refuse_stale(request, selection, location, exc) -> None:
    """A selection that went stale (numbers authorised, ordered or moved since they were ticked): say why, and take
    the numbers that can no longer be ordered out of it, so the administrator can review and go on."""
    dropped = wizard.drop(
        selection, selection.numbers().exclude(location=location, texting_state__in=AUTHORISABLE_STATES)
    )
    message = str(exc)
    if dropped:
        message += " " + ngettext(
            "%(count)s selected number that can no longer be authorised was taken out of the selection. "
            "Review it and continue.",
            "%(count)s selected numbers that can no longer be authorised were taken out of the selection. "
            "Review it and continue.",
            dropped,
        ) % {"count": dropped}
    messages.error(request, message)


@never_cache
@organisation_view(manage=True)
@_selection_not_open_page
def authorize_summary(request):
    """Step 3: the order summary of the current selection, with a one-time submission token. Sent `no-store`, which
    asks the browser not to keep it, in its back-forward cache either: going back to it after the order then asks for
    it again (Chromium does) and says the selection is no longer open, rather than showing a summary already
    submitted (submitting that again would find the order placed)."""
    selection, location = _current_selection(request, request.GET.get(wizard.PARAM))
    if location is None or not selection.selected_count:
        messages.error(request, _("Select at least one number to authorise."))
        return redirect(_wizard_url(location.pk, selection=selection) if location else "provisioning:authorize")
    try:
        count = check_selection(location, selection)
    except OrderRefused as exc:
        with transaction.atomic():
            _refuse_stale(request, selection, location, exc)
        return redirect(_wizard_url(location.pk, selection=selection))
    numbers = selection.numbers().select_related("assigned_user").order_by("e164")
    paginator = Paginator(numbers, PAGE_SIZE)
    paginator.count = count  # checked above: not counted twice
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "location": location,
        "selection": selection,
        "page": page,
        "selected_count": count,
        "token": wizard.submission_token(selection),
        "step": 3,
        "query": urlencode({wizard.PARAM: selection.token}),
    }
    return render(request, "provisioning/authorize_summary.html", context)


@require_POST
@organisation_view(manage=True)
@_selection_not_open_page
def authorize_submit(request):
    """Place the order shown on the summary. The same summary submitted twice leads to the same order."""
    token = request.POST.get("token", "")
    # First: the summary submitted again (double click, reload, back) finds its order; its selection is gone.
    order = AuthorisationOrder.objects.filter(organisation=request.organisation, submission_token=_uuid(token)).first()
    if token and order is not None:
        messages.info(request, _("This order was already placed: order #%(number)s.") % {"number": order.pk})
        return redirect("provisioning:order", pk=order.pk)
    selection, location = _current_selection(request, request.POST.get(wizard.PARAM))
    if token and (selection is None or token != str(selection.submission_token)):
        messages.error(
            request, _("The selection changed since this summary was shown. Review the order summary again.")
        )
        summary = reverse("provisioning:authorize_summary")
        return redirect(f"{summary}?{urlencode({wizard.PARAM: selection.token})}" if selection else summary)
    if selection is None:
        messages.error(request, _("Select at least one number to authorise."))
        return redirect("provisioning:authorize")
    try:
        order, created = place_authorisation_order(request.organisation, request.user, location, selection, token)
    except OrderRefused as exc:
        with transaction.atomic():
            _refuse_stale(request, selection, location, exc)
        return redirect(_wizard_url(location.pk, selection=selection))
    request.session.pop(wizard.SESSION_KEY, None)
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
