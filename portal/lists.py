"""Server-side search and pagination shared by every list page (full page and HTMX partial alike)."""

from django.core.paginator import Page, Paginator


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


def parse_ids(values) -> list[int]:
    """The ids among `values` (a form's list of ids), in their order; whatever is not one (parse_id) is left out."""
    return [pk for pk in map(parse_id, values) if pk is not None]


def typed_text(value, max_length: int = 100) -> str:
    """What was typed into a search box: trimmed, at most `max_length` characters, and without NUL characters (no
    text column holds one, and PostgreSQL refuses them even in a query's parameters)."""
    return (value if isinstance(value, str) else "").replace("\x00", "").strip()[:max_length]


def search_term(request, name: str = "q", max_length: int = 100) -> str:
    return typed_text(request.GET.get(name), max_length)
