"""The customer's case pages (Control Hub): the list, Manage → Open Cisco Calling Plan Support Case, the case
with its 10DLC registration form, and the Registration page (brand, campaigns, numbers). Reading needs an
administrator of the organisation; acting, a full one."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from portal.access import organisation_view
from portal.htmx import render_page, vary_on_htmx
from portal.lists import NotAnId, paginate, parse_id, parse_ids, query_without_page, typed_text
from provisioning.models import Location, PhoneNumber

from .. import actions, queries
from ..actions import CaseRefused
from ..checks import presubmission_warnings, values_of
from ..forms import CancelForm, MessageForm, OpenCaseForm, RegistrationFormForm
from ..models import NUMBER_POOL_THRESHOLD, RegistrationCase
from .common import live_refresh, next_step, steps

# The open-case page lists at most this many matching numbers to tick; "include all matching" covers the rest.
NUMBERS_SHOWN = 200
State = RegistrationCase.State


@organisation_view
def case_list(request):
    cases = queries.cases_of(request.organisation)
    page = paginate(request, cases, per_page=25)
    return render_page(
        request, "compliance/cases.html", {"page": page, "query": query_without_page(request)}, fragment="rows"
    )


def _matching_numbers(org, source, leaving=None):
    numbers = queries.numbers_available_for_case(org, leaving=leaving)
    location_id = source.get("location", "")
    q = typed_text(source.get("q"), 20)
    if (location_pk := parse_id(location_id)) is not None:
        numbers = numbers.filter(location_id=location_pk)
    if q:
        numbers = numbers.filter(e164__contains="".join(ch for ch in q if ch.isdigit()) or q)
    return numbers, {"location": location_id, "q": q}


# The kind the page starts with: what an organisation that has registered most often needs next.
DEFAULT_KINDS = (
    RegistrationCase.Kind.ADD_NUMBERS,
    RegistrationCase.Kind.NEW_CAMPAIGN,
    RegistrationCase.Kind.FIRST_REGISTRATION,
)


def _kind_and_campaign(org, source, offered, *, posted: bool):
    """The kind of case asked for (when none, or one the organisation cannot open: adding numbers if it has an
    active campaign, else a new campaign if it has an approved brand, else a first registration) and, for kinds
    about an existing campaign or brand, the ones that fit with the one chosen. A page (GET) shows the first when
    none is chosen; a submitted form (POST) names its own, and one that does not fit is not replaced by another."""
    kind = source.get("kind", "")
    if kind not in offered or offered[kind]:
        kind = next(k for k in DEFAULT_KINDS if not offered[k])
    kind = RegistrationCase.Kind(kind)

    def chosen(options, name):
        wanted = parse_id(source.get(name, ""))
        found = next((o for o in options if o.pk == wanted), None)
        return found if found is not None or posted else (options[0] if options else None)

    campaigns = list(queries.campaigns_for_case(org, kind))
    brands = list(queries.approved_brands(org)) if kind == RegistrationCase.Kind.NEW_CAMPAIGN else []
    return kind, campaigns, chosen(campaigns, "campaign"), brands, chosen(brands, "brand")


@organisation_view(manage=True)
def case_open(request):
    """Manage → Open Cisco Calling Plan Support Case: choose what the case is for (from what the organisation already
    has: a first registration, a new campaign under the approved brand, numbers to add to or remove from a campaign,
    a campaign to correct), the numbers, a contact and a note."""
    org = request.organisation
    source = request.POST if request.method == "POST" else request.GET
    offered = actions.case_kinds_offered(org)
    kind, campaigns, campaign, brands, brand = _kind_and_campaign(org, source, offered, posted=request.method == "POST")
    leaving = campaign if kind == RegistrationCase.Kind.REMOVE_NUMBERS else None
    matching, filters = _matching_numbers(org, source, leaving)
    form = OpenCaseForm(initial={"contact_name": request.user.full_name, "contact_email": request.user.email})
    selected = set()
    if request.method == "POST":
        form = OpenCaseForm(request.POST)
        try:
            selected = set(parse_ids(request.POST.getlist("numbers")))
        except NotAnId as malformed:
            form.add_error(None, str(malformed))
        if request.POST.get("kind", kind) != kind:
            form.add_error(None, offered.get(request.POST.get("kind")) or gettext("Choose what the case is for."))
        ids = list(matching.values_list("pk", flat=True)) if request.POST.get("all_matching") else selected
        if form.is_valid():
            try:
                case = actions.open_case(
                    org, request.user, ids, kind=kind, campaign=campaign, brand=brand, **form.cleaned_data
                )
            except CaseRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _opened_message(case))
                return redirect("compliance:case", pk=case.pk)
    available = queries.numbers_available_for_case(org, leaving=leaving)
    total_available = available.count()
    shown = list(matching[:NUMBERS_SHOWN])
    for number in shown:
        number.selected = number.pk in selected
    context = {
        "any_authorised": total_available
        or PhoneNumber.objects.filter(
            location__organisation=org, texting_state=PhoneNumber.TextingState.AUTHORISED
        ).exists(),
        "form": form,
        "kind": kind,
        "kinds": [(RegistrationCase.Kind(k), why_not) for k, why_not in offered.items()],
        "brand_registered": offered[RegistrationCase.Kind.NEW_CAMPAIGN] is None,  # a new campaign needs one
        "campaigns": campaigns,
        "campaign": campaign,
        "brands": brands,
        "brand": brand,
        "leaving": leaving is not None,
        "numbers_optional": kind == RegistrationCase.Kind.RESUBMIT,
        "numbers": shown,
        "matching_count": matching.count(),
        "total_available": total_available,
        "filters": filters,
        "shown_limit": NUMBERS_SHOWN,
        "locations": Location.objects.filter(pk__in=available.values("location_id")).order_by("name"),
    }
    # A filter change swaps the list of numbers; a submitted form comes back whole, with its errors.
    return render_page(
        request, "compliance/case_open.html", context, fragment="numbers" if request.method == "GET" else None
    )


def _opened_message(case: RegistrationCase) -> str:
    if case.kind == RegistrationCase.Kind.ADD_NUMBERS:
        return gettext(
            "Case #%(case)s is open. Cisco PSTN support assigns the numbers to campaign %(campaign)s: no new "
            "registration form is needed."
        ) % {"case": case.pk, "campaign": case.campaign}
    if case.kind == RegistrationCase.Kind.REMOVE_NUMBERS:
        return gettext("Case #%(case)s is open. Cisco PSTN support removes the numbers from campaign %(campaign)s.") % {
            "case": case.pk,
            "campaign": case.campaign,
        }
    return gettext("Case #%(case)s is open. Cisco PSTN support will send you the 10DLC registration form.") % {
        "case": case.pk
    }


def _customer_case(request, pk) -> RegistrationCase:
    return get_object_or_404(
        RegistrationCase.objects.select_related("organisation", "opened_by"), pk=pk, organisation=request.organisation
    )


def _case_page(request, case, *, form=None, message_form=None, cancel_form=None):
    registration = getattr(case, "registration", None)
    may_act = request.user.can_manage and case.organisation_id == request.user.organisation_id
    editing = may_act and case.customer_may_edit_form and registration is not None
    if editing and form is None:
        form = (
            RegistrationFormForm.for_saved_draft(registration, case)
            if registration.saved_at
            else RegistrationFormForm(instance=registration, case=case)
        )
    if editing:
        warnings = form.warnings()
    elif registration is not None and case.state != State.OPENED:
        warnings = presubmission_warnings(values_of(registration))
    else:
        warnings = []
    context = {
        "case": case,
        "steps": steps(case),
        "next_step": next_step(case, for_support=False),
        "numbers": queries.case_numbers(case),
        "registration": registration,
        "form": form if editing else None,
        "warnings": warnings,
        "may_act": may_act,
        "message_form": message_form or MessageForm(),
        "cancel_form": cancel_form or CancelForm(),
    }
    context["timeline"], context["conversation"] = queries.case_events(case, for_support=False)
    # The case page answers its own poll too (live_refresh): the page varies on HX-Request.
    return render_page(request, "compliance/case_detail.html", context)


def _form_errors_page(request, case, **forms):
    """The case page showing a form's errors. A closed case no longer offers the message and cancel forms, so their
    errors could not be seen there: say instead why the case takes nothing more."""
    if not case.is_open:
        messages.error(
            request,
            gettext(
                "This case is %(state)s: it takes no more messages or changes. Open a new case if you need support."
            )
            % {"state": case.get_state_display().lower()},
        )
        return redirect("compliance:case", pk=case.pk)
    return _case_page(request, case, **forms)


@organisation_view
def case_detail(request, pk):
    case = _customer_case(request, pk)
    return live_refresh(request, case) or _case_page(request, case)


@organisation_view(manage=True)
@require_POST
def case_form(request, pk):
    """Save the registration form as a draft (kept as typed, errors shown) or submit it (only when complete)."""
    case = _customer_case(request, pk)
    try:
        if "submit" in request.POST:
            form, submitted = actions.submit_registration_form(
                case, request.user, request.POST, expected=request.POST.get("expected_state")
            )
            if submitted:
                messages.success(
                    request,
                    gettext("Your registration form is submitted. Support will register your brand and campaign."),
                )
                return redirect("compliance:case", pk=case.pk)
            messages.error(
                request,
                gettext(
                    "The form is not complete: fix the marked fields, then submit again. What you "
                    "typed is saved as a draft."
                ),
            )
            case.refresh_from_db()
            return _case_page(request, case, form=form)
        draft = actions.save_registration_draft(case, request.user, request.POST)
    except CaseRefused as refused:
        messages.error(request, str(refused))
        return redirect("compliance:case", pk=case.pk)
    if draft.not_saved:
        messages.error(
            request,
            gettext("Draft saved, except what was too long to keep (these fields are as they were): %(fields)s.")
            % {"fields": ", ".join(draft.not_saved)},
        )
    else:
        messages.success(request, gettext("Draft saved."))
    return redirect(reverse("compliance:case", args=[case.pk]) + "#registration-form")


@organisation_view(manage=True)
@require_POST
def case_form_check(request, pk):
    """The pre-submission warnings for the registration form as typed (HTMX, while the person types): the summary
    above the form, and each field's own warnings out of band. Stores nothing."""
    case = _customer_case(request, pk)
    registration = getattr(case, "registration", None)
    if registration is None or not case.customer_may_edit_form:
        raise Http404("This case's registration form cannot be changed.")
    form = RegistrationFormForm(request.POST, instance=registration, case=case)
    warnings = form.warnings()
    return vary_on_htmx(
        render(request, "compliance/_warnings_check.html", {"warnings": warnings, "fields": list(form)})
    )


@organisation_view(manage=True)
@require_POST
def case_message(request, pk):
    case = _customer_case(request, pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _form_errors_page(request, case, message_form=form)
    try:
        actions.post_message(case, request.user, form.cleaned_data["text"])
    except CaseRefused as refused:
        messages.error(request, str(refused))
    return redirect(reverse("compliance:case", args=[case.pk]) + "#messages")


@organisation_view(manage=True)
@require_POST
def case_cancel(request, pk):
    case = _customer_case(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _form_errors_page(request, case, cancel_form=form)
    try:
        actions.cancel_case(
            case, request.user, reason=form.cleaned_data["reason"], expected=request.POST.get("expected_state")
        )
    except CaseRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            gettext("Case #%(case)s is cancelled. Its numbers can be included in a new case.") % {"case": case.pk},
        )
    return redirect("compliance:case", pk=case.pk)


@organisation_view
def registration(request):
    """Business Texting → Registration: the organisation's brand(s), each campaign with its per-carrier status, the
    numbers in each campaign with their assignment status, and the cases that touched them. Read-only; full and
    read-only administrators (and support switched to the organisation) see it."""
    org = request.organisation
    brands = list(queries.registration_of(org))
    return render(
        request,
        "compliance/registration.html",
        {
            "brands": brands,
            "can_manage": request.user.can_manage,
            "pool_threshold": NUMBER_POOL_THRESHOLD,
        },
    )
