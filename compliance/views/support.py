"""The Cisco PSTN support console: the queue of every organisation's cases and the support case page, with only
the actions the case's current state allows."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.access import support_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page

from .. import actions, queries
from ..actions import CaseRefused
from ..checks import presubmission_warnings, values_of
from ..filters import SupportQueueFilters
from ..forms import CancelForm, DecisionForm, MessageForm, NoteForm, OwnerForm
from ..models import RegistrationCase
from .common import live_refresh, next_step, steps

State = RegistrationCase.State


@support_view
def support_queue(request):
    """Every case across organisations: counts per state, one search box (case number, phone number, registry id,
    name: queries.parse_case_search), filters (state, kind, owner, unread, organisation, age), sorting, paging.
    A filter value the page does not offer, or a search too short to mean anything, is refused with a message (400);
    the other filters still apply."""
    form = SupportQueueFilters(request.GET)
    filters = form.filters()
    organisation = filters["organisation"]
    case_ids, too_many = queries.search_cases(filters["search"]) if filters["search"] else (None, False)
    cases = queries.support_queue(
        state=filters["state"],
        organisation_id=organisation.pk if organisation else None,
        age=filters["age"],
        sort=filters["sort"],
        kind=filters["kind"],
        owner=filters["owner"],
        read=filters["read"],
        case_ids=case_ids,
        user=request.user,
    )
    context = {
        "page": paginate(request, cases, per_page=25),
        "query": query_without_page(request),
        "now": timezone.now(),
        "form": form,
        "filters": filters,
        "too_many": too_many,
        "search_limit": queries.SEARCH_LIMIT,
    }

    def page_context():
        counts = queries.state_counts(request.user)
        return {
            "counts": counts,
            "count_states": [(value, label, counts[value]) for value, label in State.choices],
            "todos": list(queries.open_support_todos()),  # campaign events (compliance.views.lifecycle)
        }

    return render_page(
        request,
        "compliance/support_queue.html",
        context,
        fragment="queue",
        page_context=page_context,
        status=400 if form.errors else 200,
    )


def _support_case(pk) -> RegistrationCase:
    return get_object_or_404(RegistrationCase.objects.select_related("organisation", "opened_by", "owner"), pk=pk)


def registry_costs() -> dict:
    """What support's registry actions cost (settings, SPEC.md 8), shown next to the buttons before they are used."""
    vetting, monthly = settings.REGISTRY_COST_CAMPAIGN_VETTING, settings.REGISTRY_COST_CAMPAIGN_MONTHLY
    return {
        "brand": settings.REGISTRY_COST_BRAND,
        "campaign_vetting": vetting,
        "campaign_monthly": monthly,
        "campaign_first": vetting + monthly,
    }


def _page(request, case, *, forms=None, status=200):
    registration = getattr(case, "registration", None)
    allowed = actions.allowed_transitions(case)
    forms = forms or {}
    context = {
        "case": case,
        "steps": steps(case),
        "next_step": next_step(case, for_support=True),
        "allowed": allowed,
        "numbers": queries.case_numbers(case),
        "registration": registration,
        "warnings": presubmission_warnings(values_of(registration))
        if registration is not None and registration.submitted_at
        else [],
        "brand_form": forms.get("brand-decision") or DecisionForm(kind="brand", case=case),
        "campaign_form": forms.get("campaign-decision") or DecisionForm(kind="campaign", case=case),
        "cancel_form": forms.get("cancel") or CancelForm(),
        "message_form": forms.get("message") or MessageForm(),
        "note_form": forms.get("note") or NoteForm(),
        "can_submit_campaign": State.CAMPAIGN_SUBMITTED in allowed,
        "since_rejection": queries.changes_since_rejection(case),
        "costs": registry_costs(),
        "approved_brand": queries.approved_brand_elsewhere(case) if State.BRAND_SUBMITTED in allowed else None,
        "owner_form": forms.get("assign-owner") or OwnerForm(initial={"owner": case.owner_id}),
        "brand": case.brand,  # its throughput tier and a link to its page (vetting)
    }
    context["timeline"], context["conversation"] = queries.case_events(case, for_support=True)
    # The case page answers its own poll too (live_refresh): the page varies on HX-Request.
    return render_page(request, "compliance/support_case.html", context, status=status)


@support_view
def support_case(request, pk):
    case = _support_case(pk)
    refresh = live_refresh(request, case)
    if refresh is not None:
        return refresh  # the page's own poll: nobody looked at anything
    actions.mark_read_by_support(case, request.user)
    return _page(request, case)


def _decision(kind):
    record = actions.record_brand_decision if kind == "brand" else actions.record_campaign_decision

    def act(request, case, expected):
        form = DecisionForm(request.POST, kind=kind, case=case)
        if not form.is_valid():
            return form
        data = form.cleaned_data
        extra = {"identity_status": data.get("identity_status", "")} if kind == "brand" else {}
        record(
            case,
            request.user,
            approved=data["decision"] == "approved",
            reason=data["reason"].strip(),
            registry_id=data["registry_id"],
            expected=expected,
            **extra,
        )
        return _("The brand decision is recorded.") if kind == "brand" else _("The campaign decision is recorded.")

    return act


def _with_form(form_class, call, done):
    def act(request, case, expected):
        form = form_class(request.POST)
        if not form.is_valid():
            return form
        call(request, case, expected, form.cleaned_data)
        return str(done)  # translated now, in the language of the request

    return act


def _send_form(request, case, expected):
    actions.send_registration_form(case, request.user, expected=expected)
    return _("The registration form is sent; the customer's contact was emailed.")


def _submit_brand(request, case, expected):
    actions.submit_brand(case, request.user, expected=expected)
    return _("The brand is being registered with The Campaign Registry.")


def _submit_campaign(request, case, expected):
    actions.submit_campaign(case, request.user, expected=expected)
    return _("The campaign is being registered with The Campaign Registry.")


def _assign_numbers(request, case, expected):
    actions.assign_numbers(case, request.user, expected=expected)
    # The carrier may have confirmed already (an in-process task, a quick worker): say what is true now.
    case.refresh_from_db(fields=["state", "campaign"])
    if case.state == State.COMPLETED:
        return _("The carrier confirmed the numbers in campaign %(campaign)s: the case is complete.") % {
            "campaign": case.campaign_registry_id
        }
    return _("The numbers are sent to the carrier for campaign %(campaign)s. The case completes when it confirms.") % {
        "campaign": case.campaign_registry_id
    }


def _take(request, case, expected):
    actions.assign_case_owner(case, request.user, request.user)
    return _("You own this case now.")


def _unassign(request, case, expected):
    actions.assign_case_owner(case, request.user, None)
    return _("Nobody owns this case now.")


def _assign_owner(request, case, expected):
    form = OwnerForm(request.POST)
    if not form.is_valid():
        return form
    owner = form.cleaned_data["owner"]
    actions.assign_case_owner(case, request.user, owner)
    return _("%(owner)s owns this case now.") % {"owner": owner.full_name or owner.email}


def _check_carrier(request, case, expected):
    actions.check_with_carrier(case, request.user)
    return _("The portal asked the carrier for news.")


# action (URL slug) -> function(request, case, expected_state) returning a success message, or a bound form with
# errors to show again. Each calls one domain action; a refusal raises CaseRefused.
ACTIONS = {
    "send-form": _send_form,
    "submit-brand": _submit_brand,
    "brand-decision": _decision("brand"),
    "submit-campaign": _submit_campaign,
    "campaign-decision": _decision("campaign"),
    "assign-numbers": _assign_numbers,
    "check-carrier": _check_carrier,
    "remove-numbers": lambda request, case, expected: (
        actions.remove_numbers(case, request.user, expected=expected)
        and _("The numbers are leaving campaign %(campaign)s: the case completes when the carrier confirms.")
        % {"campaign": case.campaign_registry_id}
    ),
    "complete": lambda request, case, expected: (
        actions.complete_case(case, request.user, expected=expected) and _("The case is complete.")
    ),
    "take": _take,
    "unassign": _unassign,
    "assign-owner": _assign_owner,
    "cancel": _with_form(
        CancelForm,
        lambda request, case, expected, data: actions.cancel_case(
            case, request.user, reason=data["reason"], expected=expected
        ),
        gettext_lazy("The case is cancelled."),
    ),
    "message": _with_form(
        MessageForm,
        lambda request, case, expected, data: actions.post_message(case, request.user, data["text"]),
        gettext_lazy("Your message is posted; the customer sees it on the case page."),
    ),
    "note": _with_form(
        NoteForm,
        lambda request, case, expected, data: actions.add_internal_note(case, request.user, data["text"]),
        gettext_lazy("Internal note added."),
    ),
}


@support_view
@require_POST
def support_action(request, pk, action):
    """One support action on the case. A form with errors is shown again with them; a refusal (the case moved on,
    or the state does not allow it) is shown as a message and changes nothing."""
    case = _support_case(pk)
    act = ACTIONS.get(action)
    if act is None:
        raise Http404("No such action.")
    try:
        outcome = act(request, case, request.POST.get("expected_state") or None)
    except CaseRefused as refused:
        messages.error(request, str(refused))
        return redirect("compliance:support_case", pk=case.pk)
    if not isinstance(outcome, str):  # a bound form with errors
        messages.error(request, _("Check the marked fields."))
        return _page(request, case, forms={action: outcome})
    actions.mark_read_by_support(case, request.user)  # acting on a case is reading it (a refusal changes nothing)
    messages.success(request, outcome)
    anchor = {"message": "#messages", "note": "#timeline", "take": "#owner", "unassign": "#owner"}.get(action, "")
    return redirect(reverse("compliance:support_case", args=[case.pk]) + anchor)
