from django.conf import settings
from django.utils.functional import SimpleLazyObject


def _retention_health():
    from texting.queries import retention_health  # texting depends on portal, not the other way at import

    # The purge's runs only (one query): the day partitions made ahead are for monitoring (/healthz/retention and
    # /metrics), not worth three catalogue queries on every page support staff open.
    return retention_health(with_partitions=False)


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
        # Support staff's banner when the nightly purge is stale or failed (read only by pages that show it).
        "retention_health": SimpleLazyObject(_retention_health) if user.is_support else None,
    }
