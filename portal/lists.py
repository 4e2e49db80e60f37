"""Server-side search and pagination shared by every list page (full page and HTMX partial alike)."""

import re

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext


def paginate(request, queryset, per_page: int = 50) -> Page:
    """The requested page of `queryset`; a missing, out-of-range or garbage `page` gives the nearest valid page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def query_without_page(request) -> str:
    """The current query string minus `page`, for links that change only the page."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# The largest id a database column holds (a BigAutoField): larger numbers overflow SQLite's integers.
MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """An object id written in decimal digits (from a form, a query string, a reference), or None for anything else:
    signs, spaces, digits int() refuses although str.isdigit() accepts them ("²"), numbers too big for any column."""
    if not isinstance(value, str) or not value.isdecimal() or len(value) > len(str(MAX_ID)):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


class NotAnId(ValueError):
    """A form's list of ids holds something that is not an id (parse_id)."""


def parse_ids(values) -> list[int]:
    """The ids of `values` (a form's list of ids), in their order. Raises NotAnId if any value is not one (parse_id):
    acting on fewer ids than were sent, without saying so, would be acting on something nobody asked for."""
    ids = [parse_id(value) for value in values]
    if None in ids:
        raise NotAnId(
            gettext("The selection holds something that is not a valid choice. Reload the page and select again.")
        )
    return ids


def storable(text: str) -> bool:
    """Whether a text column can hold `text` (and JSON can carry it): no NUL character, which PostgreSQL refuses,
    and no lone UTF-16 surrogate ("\\ud800" in JSON decodes to one), which no UTF-8 encoder accepts."""
    return "\x00" not in text and not _SURROGATE.search(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def clipped(text: str, max_length: int) -> str:
    """`text`, or when longer than `max_length` its start and "…" in `max_length` characters: a value kept only for
    the record (the refused sender of a blocked text) is cut where anyone reading it sees the cut, and a cut value
    never reads as another valid one (the first 40 characters of a long destination may be a phone number)."""
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def typed_text(value, max_length: int = 100) -> str:
    """What was typed into a search box: trimmed, at most `max_length` characters, and without NUL characters (no
    text column holds one, and PostgreSQL refuses them even in a query's parameters)."""
    return (value if isinstance(value, str) else "").replace("\x00", "").strip()[:max_length]


def search_term(request, name: str = "q", max_length: int = 100) -> str:
    return typed_text(request.GET.get(name), max_length)
