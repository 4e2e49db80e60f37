"""Legal holds (compliance officers only, `compliance_view`): the list, placing and changing a hold, a hold's page
with how many texts it keeps, and its release (confirmed). Another organisation's hold is a 404; every change is a
POST with CSRF and an audit event (compliance.actions.holds)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from portal.access import compliance_view
from portal.lists import paginate, query_without_page
from portal.widgets import options
from texting.retention import retention_cutoff

from .. import queries
from ..actions import holds as hold_actions
from ..forms import LegalHoldForm, ReleaseHoldForm
from ..models import LegalHold


def _hold_of(request, pk) -> LegalHold:
    return get_object_or_404(
        LegalHold.objects.select_related("organisation"), pk=pk, organisation=request.user.organisation
    )


@compliance_view
@require_GET
def hold_list(request):
    org = request.user.organisation
    page = paginate(request, queries.holds_of(org), per_page=25)
    counts = queries.held_text_counts([h.pk for h in page.object_list], retention_cutoff())
    for hold in page.object_list:
        hold.held_texts, hold.held_expired = counts[hold.pk]
    return render(request, "compliance/holds.html", {"page": page, "query": query_without_page(request)})


def _form_initial(hold: LegalHold) -> dict:
    return {
        "name": hold.name,
        "reference": hold.reference,
        "description": hold.description,
        "first_day": hold.first_day,
        "last_day": hold.last_day,
        "users": [u.pk for u in hold.users.all()],
        "numbers": "\n".join(n.e164 for n in hold.custodian_numbers.all()),
    }


def _save(request, hold: LegalHold | None):
    org = request.user.organisation
    if request.method == "POST":
        form = LegalHoldForm(request.POST, organisation=org)
    else:  # one form built, not two: each reads every user of the organisation
        form = LegalHoldForm(initial=_form_initial(hold) if hold is not None else None, organisation=org)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            fields = dict(
                name=data["name"],
                reference=data["reference"],
                description=data["description"],
                held_from=hold_actions.day_start(data["first_day"]),
                held_until=hold_actions.day_after(data["last_day"]),
                user_ids=data["users"],
                number_ids=data["numbers"],
            )
            try:
                if hold is None:
                    hold = hold_actions.place_hold(org, request.user, **fields)
                    messages.success(request, _("Legal hold placed: its texts are kept until you release it."))
                else:
                    hold = hold_actions.change_hold(hold, request.user, **fields)
                    messages.success(request, _("Legal hold changed."))
                return redirect("compliance:hold", pk=hold.pk)
            except hold_actions.HoldRefused as refused:
                form.add_error(None, str(refused))
        status = 422
    selected_users = {str(value) for value in form["users"].value() or ()}
    # The users' options written in Python: a template loop over hundreds of users was most of the page's CPU.
    context = {
        "form": form,
        "hold": hold,
        "user_options": options(form.fields["users"].choices, selected_users),
    }
    return render(request, "compliance/hold_form.html", context, status=status)


@compliance_view
def hold_new(request):
    return _save(request, None)


@compliance_view
def hold_edit(request, pk):
    hold = _hold_of(request, pk)
    if not hold.is_active:
        messages.error(request, _("This hold was released: it can no longer be changed. Place a new hold instead."))
        return redirect("compliance:hold", pk=hold.pk)
    return _save(request, hold)


@compliance_view
@require_GET
def hold_detail(request, pk):
    hold = _hold_of(request, pk)
    cutoff = retention_cutoff()
    held, expired = queries.held_text_counts([hold.pk], cutoff)[hold.pk]
    context = {
        "hold": hold,
        "held_texts": held,
        "held_expired": expired,
        "users": hold.users.order_by("email"),
        "numbers": hold.custodian_numbers.order_by("e164"),
    }
    return render(request, "compliance/hold_detail.html", context)


@compliance_view
def hold_release(request, pk):
    """GET: what releasing means, and the confirmation; POST: release."""
    hold = _hold_of(request, pk)
    form = ReleaseHoldForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                hold_actions.release_hold(hold, request.user, note=form.cleaned_data["note"])
            except hold_actions.HoldRefused as refused:
                messages.error(request, str(refused))
                return redirect("compliance:hold", pk=hold.pk)
            messages.success(request, _("Legal hold released: its texts past retention go at the next purge."))
            return redirect("compliance:hold", pk=hold.pk)
        status = 422
    elif not hold.is_active:
        messages.info(request, _("This hold was already released."))
        return redirect("compliance:hold", pk=hold.pk)
    held, expired = queries.held_text_counts([hold.pk], retention_cutoff())[hold.pk]
    context = {"hold": hold, "form": form, "held_texts": held, "held_expired": expired}
    return render(request, "compliance/hold_release.html", context, status=status)
