"""What a visitor sees while the database is unreachable: a clear 503 page, never a stack trace.

`DatabaseUnavailableMiddleware` sits near the top of MIDDLEWARE (above sessions and auth, which
touch the database themselves). An OperationalError/InterfaceError raised by a view reaches `process_exception`;
one raised by a middleware below it (loading the session, the user, the organisation) has already been turned into
a 500 by Django, so a `got_request_exception` receiver marks the request and the middleware swaps that 500 for the
503. The page is a static template rendered without a request: no context processor, no database access.
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpResponse
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 60
_MARK = "_texting_hub_database_unavailable"


def database_unavailable_response() -> HttpResponse:
    """The 503 page: static HTML and a Retry-After header, built without touching the database."""
    response = HttpResponse(render_to_string("503.html"), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 with templates/503.html while the database is unreachable; recover by itself when it returns
    (Django opens a fresh connection on the next request)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _MARK, False) and response.status_code >= 500:
            return database_unavailable_response()
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            log.warning("Database unavailable while serving %s: %s", request.path, exception)
            setattr(request, _MARK, True)
            return database_unavailable_response()
        return None


@receiver(got_request_exception, dispatch_uid="portal.errors.database_unavailable")
def _mark_database_unavailable(sender, request=None, **kwargs):
    exception = sys.exc_info()[1]
    if request is not None and isinstance(exception, DATABASE_ERRORS):
        setattr(request, _MARK, True)
