"""Throttling against password guessing and e-mail floods.

Sign-in (django-axes, configured in settings: AXES_*): after AXES_FAILURE_LIMIT wrong passwords for one email from one
address, that pair is locked for AXES_COOLOFF_TIME. One password sprayed over many accounts never trips that pair
limit, so `SignInThrottle` also locks the client address itself after SIGN_IN_CLIENT_FAILURE_LIMIT failed sign-ins
for any accounts within the same cool-off; the owner of an account signing in from elsewhere is unaffected. The
lockout page says plainly which lock it is and until when; every failed sign-in and every lockout is in the audit log.

Password reset: each request counts against the address it names and against the client (PASSWORD_RESET_LIMIT_*
within PASSWORD_RESET_WINDOW_MINUTES, fixed windows, counters in the cache: Redis when REDIS_URL is set, so every
web process counts together). A throttled request sends nothing and answers the same whether or not the address has
an account, so the throttle reveals no more than the reset form itself does.
"""

import hashlib
import logging
from datetime import UTC, datetime, timedelta

import redis
from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.core.cache import cache
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone

from . import audit

log = logging.getLogger(__name__)


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


# --- sign-in ------------------------------------------------------------------------------------------------------

ACCOUNT_LOCK = "account"  # one email from one address (axes' own limit)
CLIENT_LOCK = "client"  # one address, whatever emails it tries


class SignInThrottle(AxesDatabaseHandler):
    """axes' database handler (AXES_HANDLER) with a second limit per client address. Its counts are axes' own
    records of failed attempts, so both limits share one store and one cool-off."""

    def client_failures(self, request) -> int:
        """Failed sign-ins from the request's address, for any accounts, within the cool-off."""
        recent = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0

    def client_locked(self, request) -> bool:
        return self.client_failures(request) >= settings.SIGN_IN_CLIENT_FAILURE_LIMIT

    def is_locked(self, request, credentials=None) -> bool:
        # Asked by axes' backend before the password is checked; the answer is kept for the lockout page.
        if super().is_locked(request, credentials):
            request.sign_in_lock = ACCOUNT_LOCK
        elif settings.AXES_LOCK_OUT_AT_FAILURE and self.client_locked(request):
            request.sign_in_lock = CLIENT_LOCK
        else:
            request.sign_in_lock = None
        return request.sign_in_lock is not None

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        if request is None:
            return super().user_login_failed(sender, credentials, request=request, **kwargs)
        already_locked = getattr(request, "sign_in_lock", None)
        super().user_login_failed(sender, credentials, request=request, **kwargs)  # records it; may lock the pair
        if request.axes_locked_out:
            request.sign_in_lock = already_locked or ACCOUNT_LOCK
        elif settings.AXES_LOCK_OUT_AT_FAILURE and self.client_locked(request):
            request.sign_in_lock = CLIENT_LOCK
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=username(request, credentials), ip_address=request.axes_ip_address
            )
        if request.axes_locked_out and not already_locked:
            audit.record(
                "auth.locked_out",
                actor=None,
                lock=request.sign_in_lock,
                attempted_email=username(request, credentials),
                client=request.axes_ip_address,
            )


def _cool_off() -> timedelta:
    cool_off = settings.AXES_COOLOFF_TIME
    return cool_off if isinstance(cool_off, timedelta) else timedelta(hours=cool_off or 0)


def locked_out(request, original_response=None, credentials=None):
    """The lockout page (AXES_LOCKOUT_CALLABLE): which lock, why, and from when signing in works again. HTTP 429."""
    cool_off = _cool_off()
    minutes = max(1, round(cool_off.total_seconds() / 60))
    client_lock = getattr(request, "sign_in_lock", None) == CLIENT_LOCK
    context = {
        "client_lock": client_lock,
        "failure_limit": settings.SIGN_IN_CLIENT_FAILURE_LIMIT if client_lock else settings.AXES_FAILURE_LIMIT,
        "minutes": minutes,
        "retry_at": timezone.now() + cool_off,
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


# --- password reset -----------------------------------------------------------------------------------------------


def _count(key: str, window: int) -> int:
    """Add one to the counter `key` (created for `window` seconds) and return it."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens a new window
        cache.set(key, 1, timeout=window)
        return 1


def take_password_reset(request, email: str) -> datetime | None:
    """Count one password-reset request for `email` and for the client. None when it may send its email; otherwise
    when requests are accepted again (the end of the current window).

    Counted whether or not an account has that address, before anything is looked up, so the answer is the same for
    both. If the counters cannot be reached (Redis down) the request is let through: a reset page that fails while the
    cache is away would lock out the very people who need it.
    """
    window = int(settings.PASSWORD_RESET_WINDOW_MINUTES * 60)
    now = timezone.now()
    bucket = int(now.timestamp()) // window
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no address in the cache's key space
    limits = [
        (f"password-reset:address:{address}:{bucket}", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS),
        (f"password-reset:client:{client_ip(request)}:{bucket}", settings.PASSWORD_RESET_LIMIT_PER_CLIENT),
    ]
    try:
        counts = [(_count(key, window), limit) for key, limit in limits]
    except redis.RedisError as exc:
        log.warning("Password-reset throttle unavailable, request let through: %s", exc)
        return None
    if all(count <= limit for count, limit in counts):
        return None
    if any(count == limit + 1 for count, limit in counts):  # the first refusal of this window: worth one audit line
        audit.record("auth.password_reset_throttled", actor=None, client=client_ip(request))
    return datetime.fromtimestamp((bucket + 1) * window, tz=UTC)


def password_reset_throttled(request, form, retry_at: datetime):
    """The reset form again with why nothing was sent and when to try again. HTTP 429, the same for every address."""
    minutes = max(1, round((retry_at - timezone.now()).total_seconds() / 60))
    context = {"form": form, "throttled": True, "retry_at": retry_at, "minutes": minutes}
    response = render(request, "registration/password_reset_form.html", context, status=429)
    response["Retry-After"] = str(max(1, int((retry_at - timezone.now()).total_seconds())))
    return response
