"""Signatures on the carrier's callbacks, in the shape the large payment and messaging APIs use: the carrier signs the
time of sending together with the raw body, and the portal refuses a callback whose time is outside a few minutes'
tolerance, so a captured callback cannot be replayed later.

`X-Carrier-Signature: t=<Unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body, keyed with the shared secret>`.
Several `v1=` entries may be present (the carrier signs with the old and the new secret while one is rotated); one
matching is enough. The portal's webhook views verify it before trusting anything in the body.
"""

import hashlib
import hmac
import re
import time

from django.conf import settings
from django.urls import reverse

SIGNATURE_HEADER = "X-Carrier-Signature"
# A Unix time in seconds: digits only, and few of them (a huge number is not a time, and int() of it is not free).
_TIMESTAMP = re.compile(r"^\d{1,12}$")


def _digest(secret: str, timestamp: int, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()


def sign_webhook_body(raw_body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The value of the `X-Carrier-Signature` header for `raw_body` sent at `timestamp` (Unix seconds; now when
    omitted): `t=<timestamp>,v1=<signature>`."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={timestamp},v1={_digest(secret, timestamp, raw_body)}"


def verify_webhook_signature(raw_body: bytes, header: str) -> bool:
    """True only if `header` signs exactly `raw_body` with settings.CARRIER_WEBHOOK_SECRET, at a time no further than
    settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS from now (either way: a clock far ahead is refused too).

    Constant-time comparison. With no secret configured every callback is refused: an empty key would let anyone
    forge one. A header in the old shape (the body's HMAC alone, no time) is refused: it could be a replay.
    """
    secret = settings.CARRIER_WEBHOOK_SECRET
    if not secret or not header:
        return False
    timestamps, signatures = [], []
    for part in header.strip().lower().split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]) or not signatures:
        return False
    timestamp = int(timestamps[0])
    if abs(time.time() - timestamp) > settings.CARRIER_WEBHOOK_TOLERANCE_SECONDS:
        return False
    expected = _digest(secret, timestamp, raw_body).encode()
    # As bytes: compare_digest refuses non-ASCII str, and the header is whatever the sender put there.
    return any(hmac.compare_digest(expected, signature.encode()) for signature in signatures)


def callback_url(url_name: str) -> str | None:
    """Where the carrier should POST its answers for `url_name` (one of the portal's callback views), when the portal
    is reachable from the carrier (CARRIER_CALLBACK_BASE_URL); None means no callbacks, polling only."""
    base = settings.CARRIER_CALLBACK_BASE_URL
    return f"{base.rstrip('/')}{reverse(url_name)}" if base else None
