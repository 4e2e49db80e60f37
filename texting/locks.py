"""A lock that holds across processes and machines, so two retention purges never run at once.

With Redis (settings.REDIS_URL): redis-py's own `Lock` (SET NX PX with a random token; extended and released only
while the key still holds that token, so a purge whose lease ran out can never release or extend somebody else's
lock). Without Redis: a lease row in the database (texting.PurgeLease), taken by one conditional UPDATE
("... WHERE holder = '' OR expires < now"), which SQLite serialises and PostgreSQL re-checks under its row lock, so
exactly one of two racing takers wins. Both are leases: a holder killed mid-run blocks the next one only until its
lease expires (the holder renews it after every batch).
"""

import secrets
from datetime import timedelta

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import LockError

from .models import PurgeLease
from .volume import redis_client


class Lease:
    """A lock taken without waiting: `acquire()` is False while someone else holds it; `renew()` restarts the lease
    and is False when it was lost (it expired and someone else took it); `release()` frees it only if still ours."""

    def __init__(self, name: str, ttl_seconds: float):
        self.name = name
        self.ttl_seconds = ttl_seconds

    def acquire(self) -> bool:
        raise NotImplementedError

    def renew(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


class RedisLease(Lease):
    def __init__(self, name, ttl_seconds, url):
        super().__init__(name, ttl_seconds)
        self.lock = redis_client(url).lock(f"texting:lock:{name}", timeout=ttl_seconds, blocking=False)

    def acquire(self) -> bool:
        return self.lock.acquire()

    def renew(self) -> bool:
        try:
            return self.lock.reacquire()
        except LockError:  # never held, or no longer ours (LockNotOwnedError)
            return False

    def release(self) -> None:
        try:
            self.lock.release()
        except (LockError, redis.RedisError):
            pass  # not ours (any more), or Redis is away: the lease expires by itself


class DatabaseLease(Lease):
    def __init__(self, name, ttl_seconds):
        super().__init__(name, ttl_seconds)
        self.token = secrets.token_hex(16)

    def acquire(self) -> bool:
        try:
            with transaction.atomic():
                PurgeLease.objects.get_or_create(name=self.name)
        except IntegrityError:
            pass  # created by a concurrent taker: fine, the UPDATE below decides
        now = timezone.now()
        taken = PurgeLease.objects.filter(Q(holder="") | Q(expires__lt=now), name=self.name).update(
            holder=self.token, expires=now + timedelta(seconds=self.ttl_seconds)
        )
        return taken == 1

    def renew(self) -> bool:
        expires = timezone.now() + timedelta(seconds=self.ttl_seconds)
        return PurgeLease.objects.filter(name=self.name, holder=self.token).update(expires=expires) == 1

    def release(self) -> None:
        PurgeLease.objects.filter(name=self.name, holder=self.token).update(holder="", expires=timezone.now())


def lease(name: str, ttl_seconds: float) -> Lease:
    """A lease on `name`, in Redis when configured, else in the database. Call acquire() before use."""
    if settings.REDIS_URL:
        return RedisLease(name, ttl_seconds, settings.REDIS_URL)
    return DatabaseLease(name, ttl_seconds)
