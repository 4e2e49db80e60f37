"""The portal's URLs plus one bare view, for benchmarks/page_cpu.py only (it sets ROOT_URLCONF to this module in its
own process; production never imports it): the floor a page's CPU time is compared with, a view that does nothing
behind exactly the middleware every page goes through; and the empty shell (base.html), for reference."""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from portal.urls import handler500  # noqa: F401 (handler500: the same 500 page)
from portal.urls import urlpatterns as portal_urlpatterns

BARE_PATH = "/bench/bare/"


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


def shell(request):
    """The Control Hub shell with nothing in it (base.html): what every whole page pays for its frame."""
    return render(request, "base.html", {})


urlpatterns = [
    path(BARE_PATH.strip("/") + "/", bare, name="bench_bare"),
    path("bench/shell/", shell, name="bench_shell"),
    *portal_urlpatterns,
]
