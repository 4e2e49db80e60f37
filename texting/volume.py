"""Texting is not unlimited (SPEC.md 5): a cap per business number per UTC day and a burst limit per minute.

With Redis (settings.REDIS_URL) the counters live there and are checked and taken in ONE Lua script, so several web
processes sending from the same number at the same moment can never together exceed a limit, and a refused text
does not use up the allowance. Without Redis (`make run` on a laptop) the counts come from the stored messages
instead: correct for one process, but two processes racing could both pass the last free slot. Good enough for
development; deployments set REDIS_URL.
"""

from datetime import UTC, datetime
from functools import lru_cache

import redis
from django.conf import settings
from django.db.models import Count, Q

from .models import BlockReason, Message

# KEYS[1]: the number's counter for the day, KEYS[2]: for the minute.
# ARGV: daily cap, burst limit, day key TTL, minute key TTL. Returns 0 (taken), 1 (daily cap), 2 (burst limit).
_RESERVE = """
local day = tonumber(redis.call('GET', KEYS[1]) or '0')
if day >= tonumber(ARGV[1]) then return 1 end
local minute = tonumber(redis.call('GET', KEYS[2]) or '0')
if minute >= tonumber(ARGV[2]) then return 2 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 0
"""
KEY_PREFIX = "texting:volume"


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


def reserve(business_number: str, now: datetime) -> str | None:
    """Take one text from the number's allowance; None when taken, else the BlockReason value refusing it."""
    daily, burst = settings.TEXTING_DAILY_CAP_PER_NUMBER, settings.TEXTING_BURST_PER_MINUTE
    day, minute = window_start(now)
    if settings.REDIS_URL:
        keys = [
            f"{KEY_PREFIX}:{business_number}:day:{day:%Y%m%d}",
            f"{KEY_PREFIX}:{business_number}:minute:{minute:%Y%m%d%H%M}",
        ]
        try:
            answer = _reserve_script(settings.REDIS_URL)(keys=keys, args=[daily, burst, 2 * 86400, 120])
        except redis.RedisError as exc:
            raise CountersUnavailable(str(exc)) from exc
    else:
        # No Redis: count what is stored (see the module docstring for why this is only for development). One
        # query on the (business_number, created_at) index; a number never has more than the cap of texts a day.
        counts = (
            Message.objects.filter(
                business_number=business_number,
                direction=Message.Direction.OUTBOUND,
                is_automatic_reply=False,
                created_at__gte=day,
            )
            .exclude(status=Message.Status.BLOCKED)
            .aggregate(day=Count("id"), minute=Count("id", filter=Q(created_at__gte=minute)))
        )
        answer = 1 if counts["day"] >= daily else 2 if counts["minute"] >= burst else 0
    return {0: None, 1: BlockReason.DAILY_CAP_EXCEEDED, 2: BlockReason.BURST_LIMIT_EXCEEDED}[int(answer)]
