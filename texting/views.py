"""Business Texting pages: Calling → Service Settings (the switch), the activity page and API tokens.

Administrators see metadata and counts, never what a text said.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page
from provisioning.eligibility import has_texting_addon

from . import actions, queries
from .charts import day_chart
from .filters import ActivityFilters
from .forms import ApiTokenForm
from .models import ApiToken, BlockReason
from .policy import MAX_SEGMENTS, minimum_app_version_text


def _limits() -> dict:
    return {
        "retention_days": settings.MESSAGE_RETENTION_DAYS,
        "daily_cap": settings.TEXTING_DAILY_CAP_PER_NUMBER,
        "burst": settings.TEXTING_BURST_PER_MINUTE,
        "max_segments": MAX_SEGMENTS,
        "min_app_version": minimum_app_version_text(),
    }


@organisation_view
def service_settings(request):
    """Calling → Service Settings: the organisation's Business Texting switch and the limits that apply."""
    org = request.organisation
    context = {
        "settings_row": queries.service_settings(org),
        "addon": has_texting_addon(org),
        "suspensions": queries.active_suspensions(org),
        **_limits(),
    }
    return render(request, "texting/service_settings.html", context)


@organisation_view(manage=True)
@require_POST
def set_business_texting(request):
    enabled = request.POST.get("enabled") == "on"
    try:
        actions.set_business_texting(request.organisation, request.user, enabled)
    except actions.TextingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            "Business Texting is on: registered numbers can text."
            if enabled
            else "Business Texting is off: nobody in the organisation can send texts. Nothing was deleted.",
        )
    return redirect("texting:service_settings")


@organisation_view
def activity(request):
    """Business Texting activity of the organisation: texts per day, blocked by reason, busiest numbers, opt-outs,
    recent texts (metadata) and the retention policy with the last purges. A refused filter is shown with its
    message (400) and not applied."""
    org = request.organisation
    form = ActivityFilters(request.GET)
    filters = form.filters()
    days = filters["days"]
    texts = paginate(request, queries.recent_texts(org, number=filters["number"], status=filters["status"]), 25)
    context = {
        "form": form,
        "days": days,
        "periods": queries.PERIODS,
        "reason_labels": dict(BlockReason.choices),
        "texts": texts,
        "query": query_without_page(request),
        **_limits(),
    }

    def page_context():
        per_day = queries.texts_per_day(org, days)
        opt_outs = queries.active_opt_outs(org)
        return {
            "settings_row": queries.service_settings(org),
            "chart": day_chart(per_day),
            "totals": {name: sum(getattr(d, name) for d in per_day) for name in ("outbound", "inbound", "blocked")},
            "blocked": queries.blocked_by_reason(org, days),
            "top_numbers": queries.top_numbers(org, days),
            "opt_outs": opt_outs[:50],
            "opt_out_count": opt_outs.count(),
            "purge_runs": queries.purge_runs(),
            "suspensions": queries.active_suspensions(org),
        }

    return render_page(
        request,
        "texting/activity.html",
        context,
        fragment="texts",
        target="texts",
        page_context=page_context,
        status=400 if form.errors else 200,
    )


@organisation_view
def api_tokens(request):
    return _render_tokens(request)


def _render_tokens(request, *, form=None, new_token=None, new_row=None, status=200):
    page = paginate(request, queries.api_tokens(request.organisation), per_page=25)
    response = render(
        request,
        "texting/api_tokens.html",
        {
            "page": page,
            "query": query_without_page(request),
            "form": form or ApiTokenForm(organisation=request.organisation),
            "new_token": new_token,
            "new_row": new_row,
        },
        status=status,
    )
    if new_token:
        response["Cache-Control"] = "no-store"  # the token is shown once: not in a cache either
    return response


@organisation_view(manage=True)
@require_POST
def issue_api_token(request):
    form = ApiTokenForm(request.POST, organisation=request.organisation)
    if not form.is_valid():
        return _render_tokens(request, form=form, status=422)
    try:
        row, token = actions.issue_api_token(
            request.organisation, request.user, form.cleaned_data["user"], form.cleaned_data["label"]
        )
    except actions.TextingError as exc:
        form.add_error("email", str(exc))
        return _render_tokens(request, form=form, status=422)
    return _render_tokens(request, new_token=token, new_row=row, status=201)


@organisation_view(manage=True)
@require_POST
def revoke_api_token(request, pk):
    row = get_object_or_404(ApiToken, pk=pk, organisation=request.organisation)
    actions.revoke_api_token(request.organisation, request.user, row.pk)
    messages.success(request, f"Token {row.hint}… of {row.user.email} is revoked: it no longer works.")
    return redirect("texting:api_tokens")
