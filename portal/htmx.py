"""The one place that decides whether a request gets a piece of a page (an HTMX swap) or the whole page.

htmx 2 sends `HX-Request` not only when it swaps part of a page but also when the browser's Back button finds no
copy of the page in htmx's history cache (a history-restore request) and when a boosted link loads a page: those
two need the whole page, or the browser shows a bare table with no Control Hub around it. And since one URL answers
both ways, every such response says `Vary: HX-Request`, so no cache (the browser's included) hands the piece out for
a page load or the page out for a swap.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def wants_fragment(request, target: str | None = None) -> bool:
    """True when htmx asks for a piece of the page: an htmx request that is neither boosted nor a history restore,
    aimed at the element with id `target` when one is given (a page with several swappable pieces)."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return False
    return target is None or htmx.target == target


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """Mark a response whose content depends on whether htmx asked for it."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def render_page(
    request,
    template: str,
    context: dict,
    *,
    fragment: str | None = None,
    target: str | None = None,
    page_context=None,
    status: int = 200,
) -> HttpResponse:
    """`template` as a whole page, or only its partial `fragment` (`{% partialdef %}`) when htmx asks for a piece
    (`wants_fragment`, aimed at `target` if given). `page_context`, a function returning what only the whole page
    shows (counts, charts), is called only for the whole page. Either way the response varies on HX-Request."""
    if fragment and wants_fragment(request, target):
        return vary_on_htmx(render(request, f"{template}#{fragment}", context, status=status))
    if page_context is not None:
        context = {**context, **page_context()}
    return vary_on_htmx(render(request, template, context, status=status))
