"""Business Texting pages: Calling → Service Settings (the switch), the activity page and API tokens.

Administrators see metadata and counts, never what a text said.
"""

import csv
import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page
from provisioning.eligibility import has_texting_addon

from . import actions, queries
from .charts import day_chart
from .filters import ActivityFilters, ExportFilters
from .forms import ApiTokenForm
from .models import ApiToken, BlockReason, Message
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
            _("Business Texting is on: registered numbers can text.")
            if enabled
            else _("Business Texting is off: nobody in the organisation can send texts. Nothing was deleted."),
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
    texts = paginate(request, queries.recent_texts(org, days, number=filters["number"], status=filters["status"]), 25)
    statuses, reasons = dict(Message.Status.choices), dict(BlockReason.choices)
    texts.object_list = [
        {
            **row,
            "status_label": statuses.get(row["status"], row["status"]),
            "reason_label": reasons.get(row["blocked_reason"], ""),
        }
        for row in texts.object_list
    ]
    context = {
        "form": form,
        "days": days,
        "periods": queries.PERIODS,
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
            "delivery": queries.delivery_outcomes(org, days, number=filters["number"]),
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
    messages.success(
        request,
        _("Token %(hint)s… of %(email)s is revoked: it no longer works.") % {"hint": row.hint, "email": row.user.email},
    )
    return redirect("texting:api_tokens")


@never_cache
@require_GET
def retention_healthz(request):
    """Monitoring check of the nightly purge, beside /healthz (which the load balancer uses and this must not take
    out of rotation): 200 when the last successful purge finished within RETENTION_STALE_AFTER_HOURS, no run
    failed since and (PostgreSQL) the texts table's day partitions reach at least TEXTS_PARTITIONS_MIN_AHEAD_DAYS
    past today, else 503; JSON with the reason, and the days of partitions ahead (null where the table is not
    partitioned). Public like /healthz: it says nothing about any organisation."""
    health = queries.retention_health()
    body = {
        "status": "ok" if health.healthy else health.problem,
        "reason": health.reason,
        "last_success": health.last_success.isoformat() if health.last_success else None,
        "last_failure": health.last_failure.isoformat() if health.last_failure else None,
        "partitions_ahead": health.partitions_ahead,
        "partitions": health.partitions,
    }
    return JsonResponse(body, status=200 if health.healthy else 503)


class _Echo:
    """A file-like object for csv.writer that hands each line back instead of storing it."""

    def write(self, value):
        return value


# A cell a spreadsheet would run as a formula (CSV injection) unless it is a telephone number in E.164.
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_E164 = re.compile(r"^\+[0-9]{1,15}$")


def _cell(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    text = str(value)
    return "'" + text if _FORMULA.match(text) and not _E164.match(text) else text


@organisation_view
@require_GET
def export_texts(request):
    """Texting activity → Export: the form, and with valid filters a CSV of the texts' metadata (never what they
    said), streamed row by row whatever the size. For the organisation's administrators (full and read-only); every
    export is in the audit log with its filters. Refused filters are shown with their message (400)."""
    user = request.user
    if user.is_support:
        raise PermissionDenied(_("Exports of an organisation's texts are for its own administrators."))
    org = request.organisation
    if not request.GET:
        return render(request, "texting/export.html", {"form": ExportFilters(organisation=org)})
    form = ExportFilters(request.GET, organisation=org)
    if not form.is_valid():
        return render(request, "texting/export.html", {"form": form}, status=400)
    filters = form.cleaned_data
    actions.record_texts_export(
        org,
        user,
        first_day=filters["first_day"],
        last_day=filters["last_day"],
        number=filters["number"],
        user=filters["user"],
    )
    rows = queries.texts_for_export(
        org,
        first_day=filters["first_day"],
        last_day=filters["last_day"],
        number=filters["number"],
        user=filters["user"],
    )
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([name for name, _field in queries.EXPORT_COLUMNS])
        for row in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(value) for value in row])

    name = f"texts-{filters['first_day']:%Y%m%d}-{filters['last_day']:%Y%m%d}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
