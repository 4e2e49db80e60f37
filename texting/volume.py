"""Texting is not unlimited (SPEC.md 5 and 8): a cap per business number per UTC day and a burst limit per minute
(Cisco's own limits, from settings), and for a number in a usable 10DLC campaign also what its registration allows:
the campaign's texts per minute and the brand's texts per day (reset at midnight Pacific time, as T-Mobile counts),
both from the brand's vetting tier (compliance Brand.throughput).

With Redis (settings.REDIS_URL) the counters live there and are checked and taken in ONE Lua script, so several web
processes sending from the same number at the same moment can never together exceed a limit, and a refused text
does not use up the allowance. Without Redis (`make run` on a laptop) the counts come from the stored messages
instead: correct for one process, but two processes racing could both pass the last free slot. Good enough for
development; deployments set REDIS_URL.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import redis
from django.conf import settings
from django.db.models import Count, Q

from .models import BlockReason, Message

# KEYS: one counter per limit, in the order they are checked; ARGV: (limit, TTL in seconds) for each key.
# Returns 0 when every counter was below its limit (and each was taken once), else the 1-based index of the first
# counter at its limit (and nothing was taken).
_RESERVE = """
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i - 1]) then return i end
end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[2 * i])
end
return 0
"""
KEY_PREFIX = "texting:volume"
# T-Mobile's brand day (SPEC.md 8).
PACIFIC = ZoneInfo("America/Los_Angeles")
DAY_TTL, MINUTE_TTL = 2 * 86400, 120


@dataclass(frozen=True)
class RegistrationLimits:
    """What a number's 10DLC registration allows: `per_minute` texts for the whole campaign and `daily_cap` for
    the whole brand (every number of every campaign of the brand). `campaign_numbers` / `brand_numbers` (E.164, lazy)
    are read only without Redis, to count stored texts."""

    campaign_id: int
    campaign_label: str
    brand_id: int
    brand_label: str
    per_minute: int
    daily_cap: int
    campaign_numbers: Iterable[str] = ()
    brand_numbers: Iterable[str] = ()


class CountersUnavailable(Exception):
    """Redis is configured but does not answer: the portal cannot tell whether a text is within its limits."""


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    """One client (a thread-safe connection pool) per URL."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


@lru_cache(maxsize=4)
def _reserve_script(url: str):
    return redis_client(url).register_script(_RESERVE)


def window_start(now: datetime) -> tuple[datetime, datetime]:
    """Start of the UTC day and of the minute containing `now` (fixed windows, the same for every process)."""
    utc = now.astimezone(UTC)
    day = utc.replace(hour=0, minute=0, second=0, microsecond=0)
    minute = utc.replace(second=0, microsecond=0)
    return day, minute


def pacific_day_start(now: datetime) -> datetime:
    """Midnight (America/Los_Angeles) that starts the brand day containing `now`."""
    return now.astimezone(PACIFIC).replace(hour=0, minute=0, second=0, microsecond=0)


def reserve(business_number: str, now: datetime, registration: RegistrationLimits | None = None) -> str | None:
    """Take one text from every allowance that applies (the registration's, when the number is in a usable campaign,
    then the number's own); None when taken, else the BlockReason value of the first limit reached (nothing taken)."""
    day, minute = window_start(now)
    # (Redis key, limit, TTL, reason, how to count stored texts without Redis)
    limits = []
    if registration is not None:
        brand_day = pacific_day_start(now)
        limits += [
            (
                f"{KEY_PREFIX}:brand:{registration.brand_id}:day:{brand_day:%Y%m%d}",
                registration.daily_cap,
                DAY_TTL,
                BlockReason.BRAND_DAILY_CAP_REACHED,
                Q(business_number__in=registration.brand_numbers, created_at__gte=brand_day),
            ),
            (
                f"{KEY_PREFIX}:campaign:{registration.campaign_id}:minute:{minute:%Y%m%d%H%M}",
                registration.per_minute,
                MINUTE_TTL,
                BlockReason.CAMPAIGN_RATE_LIMITED,
                Q(business_number__in=registration.campaign_numbers, created_at__gte=minute),
            ),
        ]
    limits += [
        (
            f"{KEY_PREFIX}:{business_number}:day:{day:%Y%m%d}",
            settings.TEXTING_DAILY_CAP_PER_NUMBER,
            DAY_TTL,
            BlockReason.DAILY_CAP_EXCEEDED,
            Q(business_number=business_number, created_at__gte=day),
        ),
        (
            f"{KEY_PREFIX}:{business_number}:minute:{minute:%Y%m%d%H%M}",
            settings.TEXTING_BURST_PER_MINUTE,
            MINUTE_TTL,
            BlockReason.BURST_LIMIT_EXCEEDED,
            Q(business_number=business_number, created_at__gte=minute),
        ),
    ]
    if settings.REDIS_URL:
        args = [value for _key, limit, ttl, _reason, _q in limits for value in (limit, ttl)]
        try:
            answer = int(_reserve_script(settings.REDIS_URL)(keys=[limit[0] for limit in limits], args=args))
        except redis.RedisError as exc:
            raise CountersUnavailable(str(exc)) from exc
    else:
        # No Redis: count what is stored (see the module docstring for why this is only for development). One
        # query; the per-number counts use the (business_number, created_at) index.
        numbers, earliest = {business_number}, day
        if registration is not None:
            numbers.update(registration.brand_numbers)
            earliest = min(day, pacific_day_start(now))
        counts = (
            Message.objects.filter(
                business_number__in=numbers,
                direction=Message.Direction.OUTBOUND,
                is_automatic_reply=False,
                created_at__gte=earliest,
                created_at__lte=now,
            )
            .exclude(status=Message.Status.BLOCKED)
            .aggregate(**{f"limit_{i}": Count("id", filter=limit[4]) for i, limit in enumerate(limits)})
        )
        answer = next((i + 1 for i, limit in enumerate(limits) if counts[f"limit_{i}"] >= limit[1]), 0)
    return limits[answer - 1][3] if answer else None
