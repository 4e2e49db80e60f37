from .models import Organisation

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
        request.organisation = _organisation_for(request)
        return self.get_response(request)
