"""Support console → Texting suspensions: Cisco PSTN support suspends texting for a number or a whole organisation,
with the reason the customer sees, and lifts suspensions. Every organisation's, like the case queue."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.access import support_view
from portal.htmx import render_page
from portal.lists import paginate, parse_id, query_without_page
from portal.models import Organisation
from provisioning.phone import display_tn

from . import actions, queries
from .forms import LiftForm, SuspendForm
from .models import Suspension


def _page(request, *, form=None, status=200):
    organisation = Organisation.objects.filter(pk=parse_id(request.GET.get("organisation") or "")).first()
    initial = organisation or getattr(request, "organisation", None)
    context = {
        "organisation": organisation,
        "active": queries.support_suspensions(organisation_id=organisation.pk if organisation else None),
        "lifted": paginate(
            request,
            queries.support_suspensions(organisation_id=organisation.pk if organisation else None, active=False),
            25,
        ),
        "query": query_without_page(request),
        "form": form or SuspendForm(initial={"organisation": initial.pk} if initial else None),
        "lift_form": LiftForm(prefix="lift"),
    }
    return render_page(request, "texting/support_suspensions.html", context, status=status)


@support_view
@require_GET
def support_suspensions(request):
    """Suspensions in effect (every organisation, or the one in `?organisation=`), the lifted ones, and the form."""
    return _page(request)


def _what(suspension: Suspension) -> str:
    if suspension.number_id:
        return display_tn(suspension.number.e164)
    return suspension.organisation.name


@support_view
@require_POST
def support_suspend(request):
    form = SuspendForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=422)
    try:
        suspension = actions.suspend_texting(
            request.user,
            form.cleaned_data["organisation"],
            form.cleaned_data["reason"],
            number=form.cleaned_data["phone_number"],
        )
    except actions.TextingError as exc:
        form.add_error(None, str(exc))
        return _page(request, form=form, status=422)
    messages.success(
        request,
        _("Texting is suspended for %(what)s: every text is refused with your reason until you lift it.")
        % {"what": _what(suspension)},
    )
    return redirect("texting:support_suspensions")


@support_view
@require_POST
def support_lift_suspension(request, pk):
    suspension = get_object_or_404(Suspension.objects.select_related("organisation", "number"), pk=pk)
    form = LiftForm(request.POST, prefix="lift")
    if not form.is_valid():
        messages.error(
            request,
            _("The suspension of %(what)s is not lifted: %(error)s")
            % {"what": _what(suspension), "error": " ".join(form.errors["reason"])},
        )
        return redirect("texting:support_suspensions")
    try:
        actions.lift_suspension(request.user, suspension.pk, form.cleaned_data["reason"])
    except actions.TextingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The suspension of %(what)s is lifted.") % {"what": _what(suspension)})
    return redirect("texting:support_suspensions")
