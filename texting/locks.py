"""A lock that holds across processes and machines, so two retention purges never run at once.

With Redis (settings.REDIS_URL): `SET key token NX PX ttl`; renewed and released by Lua scripts that act only if
the key still holds OUR token, so a purge whose lease ran out can never release or extend somebody else's lock.
Without Redis: a lease row in the database (texting.PurgeLease), taken by one conditional UPDATE
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

from .models import PurgeLease
from .volume import redis_client

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Lease:
    """A held lock. `renew()` is False when the lease was lost (it expired and someone else took it)."""

    def __init__(self, name: str, ttl_seconds: float):
        self.name = name
        self.ttl_seconds = ttl_seconds
        self.token = secrets.token_hex(16)

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
        self.client = redis_client(url)
        self.key = f"texting:lock:{name}"

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl_seconds * 1000)

    def acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self._ttl_ms))

    def renew(self) -> bool:
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, self._ttl_ms))

    def release(self) -> None:
        try:
            self.client.eval(_RELEASE, 1, self.key, self.token)
        except redis.RedisError:
            pass  # the lease expires by itself


class DatabaseLease(Lease):
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
