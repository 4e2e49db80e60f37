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


def search_term(request, name: str = "q", max_length: int = 100) -> str:
    return request.GET.get(name, "").strip()[:max_length]
