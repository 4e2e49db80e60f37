"""Support's side of a brand's and its campaigns' life after registration: the to-dos that campaign events open (at
the top of the queue), and a brand's page with its throughput tier, campaigns and secondary vetting."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portal.access import support_view
from portal.htmx import render_page
from portal.transitions import ActionRefused

from .. import actions, queries
from ..models import SupportTodo
from ..models.brands import THROUGHPUT_TIERS, UNVETTED_THROUGHPUT


@support_view
@require_POST
def support_todo_done(request, pk):
    todo = get_object_or_404(SupportTodo, pk=pk)
    try:
        actions.mark_todo_done(todo, request.user)
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("The to-do is marked done."))
    return redirect("compliance:support_queue")


@support_view
@require_safe
def support_brand(request, pk):
    brand = get_object_or_404(queries.brand_for_support(), pk=pk)
    context = {
        "brand": brand,
        "campaigns": brand.campaigns.all(),
        "refusal": actions.vetting_refusal(brand),
        "cost": actions.vetting_cost(),
        "currency": settings.REGISTRY_COST_CURRENCY,
        "tiers": THROUGHPUT_TIERS,
        "unvetted": UNVETTED_THROUGHPUT,
    }
    return render_page(request, "compliance/support_brand.html", context)


@support_view
@require_POST
def support_brand_vetting(request, pk):
    """Request secondary vetting at the cost the page showed (a different cost is refused: it changed since)."""
    brand = get_object_or_404(queries.brand_for_support(), pk=pk)
    try:
        actions.request_secondary_vetting(brand, request.user, confirmed_cost=request.POST.get("confirmed_cost", ""))
    except ActionRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, _("Secondary vetting is requested; the score arrives from the registry."))
    return redirect("compliance:support_brand", pk=brand.pk)
