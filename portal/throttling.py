"""Login throttling against password guessing (django-axes, configured in settings: AXES_*).

After AXES_FAILURE_LIMIT wrong passwords for one email from one address, that pair is locked for AXES_COOLOFF_TIME;
the lockout page says plainly until when. Every failed sign-in is also in the audit log (portal.signals).
"""

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def client_ip(request) -> str:
    """The visitor's address for lockouts. Behind our TLS proxy (BEHIND_TLS_PROXY) it is the right-most
    X-Forwarded-For entry, the one the proxy itself appended: entries to its left are whatever the client sent."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return request.META.get("REMOTE_ADDR", "")


def username(request, credentials=None) -> str:
    """The email a sign-in attempt names, as one lockout key whatever its letter case."""
    value = (credentials or {}).get("username") or (request.POST.get("username", "") if request is not None else "")
    return str(value).strip().lower()[:254]


def locked_out(request, original_response=None, credentials=None):
    """The lockout page (AXES_LOCKOUT_CALLABLE): why, and from when signing in works again. HTTP 429."""
    cool_off = settings.AXES_COOLOFF_TIME
    cool_off = cool_off if isinstance(cool_off, timedelta) else timedelta(hours=cool_off or 0)
    minutes = max(1, round(cool_off.total_seconds() / 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes, "retry_at": timezone.now() + cool_off}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
