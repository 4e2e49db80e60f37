from django.conf import settings


def shell(request):
    """What the Control Hub shell (left navigation, organisation name, switcher) needs on every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    org = request.organisation
    return {
        "current_organisation": org,
        "is_support": user.is_support,
        "can_manage": user.can_manage,
        "debug": settings.DEBUG,
    }
