"""Business Texting → Opt-out registry: every opt-out of the organisation, searchable and paged, exported as CSV;
full administrators add or remove a number by hand (with a reason) and import a do-not-text list.

Full and read-only administrators (and support staff switched to the organisation) read it; only full
administrators change it. Entries are always fetched through the user's organisation: another's id is a 404.
"""

import csv

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page
from provisioning.phone import display_tn

from . import actions, queries
from .actions.opt_outs import MAX_ERRORS_SHOWN, MAX_IMPORT_BYTES, MAX_IMPORT_NUMBERS
from .forms import OptOutAddForm, OptOutFilters, OptOutImportForm, OptOutRemoveForm
from .models import OptOut

PER_PAGE = 50


def _registry(request, *, add_form=None, status=200):
    org = request.organisation
    form = OptOutFilters(request.GET)
    filters = form.filters()
    entries = queries.opt_out_registry(org, digits=filters["q"], state=filters["state"])
    context = {
        "form": form,
        "page": paginate(request, entries, PER_PAGE),
        "query": query_without_page(request),
        "state": filters["state"],
        "export_query": query_without_page(request),
    }

    def page_context():
        return {
            "add_form": add_form or OptOutAddForm(prefix="add"),
            "remove_form": OptOutRemoveForm(prefix="remove"),
            "active_count": queries.opt_out_registry(org).count(),
        }

    return render_page(
        request,
        "texting/opt_outs.html",
        context,
        fragment="registry",
        target="registry",
        page_context=page_context,
        status=400 if form.errors and status == 200 else status,
    )


@organisation_view
def opt_outs(request):
    """The registry: search by digits, show entries in effect / ended / all, 50 a page (the table swaps by htmx)."""
    return _registry(request)


# Cells a spreadsheet would run as a formula when they start with one of these: the reasons are typed by people.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_START) else text


class _Echo:
    def write(self, value):
        return value


CSV_COLUMNS = (
    "number",
    "status",
    "source",
    "keyword",
    "to_our_number",
    "reason",
    "added_by",
    "opted_out_at",
    "ended_at",
    "removed_by",
    "removal_reason",
)


def _csv_rows(entries):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=2000):
        if entry.is_active:
            status = "opted_out"
        else:
            status = "removed" if entry.removed_by_id or entry.removal_reason else "opted_in"
        yield writer.writerow(
            (
                entry.party,
                status,
                entry.source,
                entry.keyword,
                entry.business_number,
                _cell(entry.reason),
                entry.added_by.email if entry.added_by else "",
                entry.opted_out_at.isoformat(),
                entry.opted_in_at.isoformat() if entry.opted_in_at else "",
                entry.removed_by.email if entry.removed_by else "",
                _cell(entry.removal_reason),
            )
        )


@organisation_view
@require_GET
def opt_outs_export(request):
    """The registry as CSV, with the page's search and filter applied: streamed row by row (a large registry is
    never held in memory) and audited (who exported, what they asked for, how many rows)."""
    org = request.organisation
    form = OptOutFilters(request.GET)
    filters = form.filters()
    entries = queries.opt_out_registry(org, digits=filters["q"], state=filters["state"])
    actions.record_opt_out_export(org, request.user, rows=entries.count(), search=filters["q"], state=filters["state"])
    response = StreamingHttpResponse(_csv_rows(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="opt-outs-{timezone.now():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@organisation_view(manage=True)
@require_POST
def opt_out_add(request):
    """Add a number by hand. A refused number or reason shows the registry again with the message (422)."""
    form = OptOutAddForm(request.POST, prefix="add")
    if form.is_valid():
        try:
            entry = actions.add_opt_out(
                request.organisation, request.user, form.cleaned_data["number"], form.cleaned_data["reason"]
            )
        except actions.TextingError as exc:
            form.add_error("number", str(exc))
        else:
            messages.success(
                request,
                _("%(number)s is on the opt-out registry: nobody in the organisation can text it from now on.")
                % {"number": display_tn(entry.party)},
            )
            return redirect("texting:opt_outs")
    return _registry(request, add_form=form, status=422)


@organisation_view(manage=True)
@require_POST
def opt_out_remove(request, pk):
    """Remove an entry, with a reason. A missing reason (or an entry already ended) is a message; nothing changes."""
    entry = get_object_or_404(OptOut, pk=pk, organisation=request.organisation)
    form = OptOutRemoveForm(request.POST, prefix="remove")
    if not form.is_valid():
        messages.error(
            request,
            _("%(number)s was not removed: %(error)s")
            % {"number": display_tn(entry.party), "error": " ".join(form.errors["reason"])},
        )
        return redirect("texting:opt_outs")
    try:
        actions.remove_opt_out(request.organisation, request.user, entry.pk, form.cleaned_data["reason"])
    except actions.TextingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(number)s is off the opt-out registry: the organisation may text it again.")
            % {"number": display_tn(entry.party)},
        )
    return redirect("texting:opt_outs")


def _import_page(request, *, form, errors=(), refusal="", status=200):
    errors = list(errors)
    return render_page(
        request,
        "texting/opt_out_import.html",
        {
            "form": form,
            "refusal": refusal,
            "errors": errors[:MAX_ERRORS_SHOWN],
            "more_errors": max(0, len(errors) - MAX_ERRORS_SHOWN),
            "max_kb": MAX_IMPORT_BYTES // 1024,
            "max_numbers": MAX_IMPORT_NUMBERS,
        },
        status=status,
    )


@organisation_view(manage=True)
def opt_out_import(request):
    """Import a do-not-text list: all or nothing. Errors are listed by line (422) and nothing is imported; a clean
    file is applied at once and the registry says how many numbers it added."""
    if request.method != "POST":
        return _import_page(request, form=OptOutImportForm())
    form = OptOutImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _import_page(request, form=form, status=422)
    upload = form.cleaned_data["file"]
    content = upload.read(MAX_IMPORT_BYTES + 1)  # one byte more than allowed is enough to refuse it
    try:
        result = actions.import_do_not_text_list(
            request.organisation, request.user, content, form.cleaned_data["reason"], file_name=upload.name or ""
        )
    except actions.ImportRefused as refused:
        return _import_page(request, form=form, errors=refused.errors, refusal=str(refused), status=422)
    except actions.TextingError as exc:
        form.add_error("reason", str(exc))
        return _import_page(request, form=form, status=422)
    text = ngettext(
        "Imported %(applied)d number onto the opt-out registry.",
        "Imported %(applied)d numbers onto the opt-out registry.",
        result.applied,
    ) % {"applied": result.applied}
    if result.already:
        text += " " + ngettext(
            "%(already)d was already on it and was left as it was.",
            "%(already)d were already on it and were left as they were.",
            result.already,
        ) % {"already": result.already}
    messages.success(request, text)
    return redirect(reverse("texting:opt_outs") + "?state=active")
