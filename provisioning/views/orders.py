"""The organisation's authorisation orders and each order's per-number results."""

from django.shortcuts import get_object_or_404, render

from portal.access import organisation_view
from portal.htmx import render_page
from portal.lists import paginate, query_without_page

from ..models import OrderLine
from ..queries import order_lines, orders_for

LINES_PAGE_SIZE = 50


@organisation_view
def order_list(request):
    page = paginate(request, orders_for(request.organisation), per_page=25)
    return render(request, "provisioning/orders.html", {"page": page, "query": query_without_page(request)})


@organisation_view
def order_detail(request, pk):
    """An order with a progress bar; while it is open the live part polls itself (HTMX) and stops when done."""
    order = get_object_or_404(orders_for(request.organisation), pk=pk)
    state = request.GET.get("state", "")
    page = paginate(request, order_lines(order, state), per_page=LINES_PAGE_SIZE)
    decided = order.authorised_count + order.failed_count
    context = {
        "order": order,
        "page": page,
        "state": state if state in OrderLine.State.values else "",
        "states": OrderLine.State.choices,
        "decided": decided,
        "percent": round(100 * decided / order.number_count) if order.number_count else 100,
        "query": query_without_page(request),
    }
    return render_page(request, "provisioning/order_detail.html", context, fragment="live", target="order-live")
