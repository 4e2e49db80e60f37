import logging

from django.utils import translation

from .errors import DATABASE_ERRORS, database_unavailable_response
from .models import Organisation

log = logging.getLogger(__name__)

SUPPORT_ORG_SESSION_KEY = "support_organisation_id"


def _organisation_for(request):
    user = request.user
    if not user.is_authenticated:
        return None
    if user.is_support:
        org_id = request.session.get(SUPPORT_ORG_SESSION_KEY)
        return Organisation.objects.filter(pk=org_id).first() if org_id else None
    return user.organisation


class OrganisationMiddleware:
    """Sets `request.organisation`: the customer's own organisation, or the one support staff switched to."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.organisation = _organisation_for(request)  # the first database access of a signed-in request
        except DATABASE_ERRORS as exc:
            # Answer the 503 page here: raised out of a middleware, Django would log it as a server error with a
            # traceback on every request for as long as the outage lasts.
            log.warning("Database unavailable while serving %s: %s", request.path, exc)
            return database_unavailable_response()
        return self.get_response(request)


class UserLanguageMiddleware:
    """The signed-in user's own language (chosen in the user menu, `User.language`) wins over the language
    LocaleMiddleware took from the cookie or the browser's Accept-Language. Placed after OrganisationMiddleware, so
    the user is already loaded; anonymous pages (sign-in, password reset) keep LocaleMiddleware's choice."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = user.language if user is not None and user.is_authenticated else ""
        if chosen and chosen != getattr(request, "LANGUAGE_CODE", None) and translation.check_for_language(chosen):
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
