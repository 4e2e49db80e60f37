"""eDiscovery pages of the compliance officer (SPEC.md 9): search the organisation's business texts, read one, export
a search as an archive, watch it being built and download it. Only compliance officers of the organisation pass
(`compliance_view`); another organisation's text or export is a 404. Every search, text viewed and download is
recorded in the audit log (compliance.actions.discovery)."""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from portal.access import compliance_view
from portal.htmx import render_page
from portal.lists import parse_id
from texting.models import Message

from ..actions import discovery as actions
from ..discovery import PAGE_SIZE, Search, SearchForm, capped_count, default_range, describe, highlight, texts_matching
from ..models import DiscoveryExport

# Pages beyond this are refused rather than read with an ever larger OFFSET: narrow the search, or export it.
MAX_PAGE = 200


@require_safe
@compliance_view
def discovery_search(request):
    """The search form; submitted (any query string), the matching texts a page at a time, bodies highlighted."""
    org = request.organisation
    start, end = default_range()
    searched = bool(request.GET)
    form = SearchForm(request.GET if searched else None, organisation=org, initial={"start": start, "end": end})
    context = {
        "form": form,
        "searched": searched,
        "search": None,
        "default_days": settings.EDISCOVERY_DEFAULT_RANGE_DAYS,
    }
    search = form.search() if searched else None
    if search is not None:
        page = min(parse_id(request.GET.get("page", "1")) or 1, MAX_PAGE)
        texts = texts_matching(org, search).select_related("user")
        rows = list(texts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        count, more = capped_count(texts)
        terms = search.terms()
        results = [(text, highlight(text.body, terms)) for text in rows[:PAGE_SIZE]]
        actions.record_search(org, request.user, search, page=page, shown=len(results))
        context.update(
            search=search,
            described=describe(org, search),
            results=results,
            page=page,
            has_previous=page > 1,
            has_next=len(rows) > PAGE_SIZE and page < MAX_PAGE,
            count=count,
            more=more,
            query=search.query_string(),
            hidden=_hidden_fields(search),
        )
    return render_page(request, "compliance/discovery.html", context, fragment="results", target="discovery-results")


def _hidden_fields(search: Search) -> list[tuple[str, str]]:
    """The search as (name, value) pairs for the export form's hidden inputs."""
    pairs = []
    for name, value in search.form_data().items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return pairs


@require_safe
@compliance_view
def discovery_text(request, pk):
    """One text with all it has (recorded as viewed). The results link to it with its UTC day (`on`), so PostgreSQL
    reads that day's partition only (texting.partitions); a link without one still finds it, reading them all."""
    texts = Message.objects.select_related("user").filter(organisation=request.organisation)
    try:
        day = parse_date(request.GET.get("on", ""))
    except ValueError:  # shaped like a date, not one (2026-02-30): read every day
        day = None
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        texts = texts.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    text = get_object_or_404(texts, pk=pk)
    actions.record_text_view(request.organisation, request.user, text)
    params = request.GET.copy()
    params.pop("on", None)
    back = params.urlencode()
    return render_page(request, "compliance/discovery_text.html", {"text": text, "back": back})


@require_safe
@compliance_view
def export_list(request):
    exports = DiscoveryExport.objects.filter(organisation=request.organisation)[:100]
    return render_page(request, "compliance/exports.html", {"exports": exports})


@require_POST
@compliance_view
def export_create(request):
    """Export the search posted (the search page's hidden fields); a refused search creates nothing."""
    form = SearchForm(request.POST, organisation=request.organisation)
    search = form.search()
    if search is None:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("compliance:discovery")
    export = actions.request_export(request.organisation, request.user, search)
    messages.success(request, _("Export #%(id)s requested.") % {"id": export.pk})
    return redirect("compliance:export", pk=export.pk)


@require_safe
@compliance_view
def export_detail(request, pk):
    """An export, its search and a progress bar that refreshes itself (HTMX) until the archive is ready."""
    export = get_object_or_404(DiscoveryExport, pk=pk, organisation=request.organisation)
    context = {
        "export": export,
        "described": describe(request.organisation, Search.from_json(export.criteria)),
        "files": export.manifest.get("files", []),
    }
    return render_page(request, "compliance/export_detail.html", context, fragment="live", target="export-live")


@require_safe
@compliance_view
def export_download(request, pk):
    """The archive as a streamed download (recorded); one not ready or expired sends the officer back to its page."""
    export = get_object_or_404(DiscoveryExport, pk=pk, organisation=request.organisation)
    if not export.is_downloadable:
        messages.error(request, _("This export is not ready to download, or it has expired."))
        return redirect("compliance:export", pk=export.pk)
    try:
        archive = open(export.path, "rb")  # noqa: SIM115 (FileResponse closes it when the download ends)
    except FileNotFoundError:
        raise Http404(_("The archive's file is gone.")) from None
    actions.record_download(request.organisation, request.user, export)
    return FileResponse(archive, as_attachment=True, filename=f"ediscovery-export-{export.pk}.zip")
