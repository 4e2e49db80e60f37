"""Signatures on the carrier's callbacks: the carrier signs the raw body with a shared secret (HMAC-SHA256, hex) in
the `X-Carrier-Signature` header; the portal's webhook views verify it before trusting anything in the body."""

import hashlib
import hmac

from django.conf import settings
from django.urls import reverse

SIGNATURE_HEADER = "X-Carrier-Signature"


def sign_webhook_body(raw_body: bytes, secret: str) -> str:
    """The hex HMAC-SHA256 of `raw_body` with `secret`: the value of the `X-Carrier-Signature` header."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def verify_webhook_signature(raw_body: bytes, signature: str) -> bool:
    """True only if `signature` is the carrier's signature of exactly `raw_body` with settings.CARRIER_WEBHOOK_SECRET.

    Constant-time comparison. With no secret configured every callback is refused: an empty key would let anyone
    forge one.
    """
    secret = settings.CARRIER_WEBHOOK_SECRET
    if not secret or not signature:
        return False
    # As bytes: compare_digest refuses non-ASCII str, and the header is whatever the sender put there.
    return hmac.compare_digest(sign_webhook_body(raw_body, secret).encode(), signature.strip().lower().encode())


def callback_url(url_name: str) -> str | None:
    """Where the carrier should POST its answers for `url_name` (one of the portal's callback views), when the portal
    is reachable from the carrier (CARRIER_CALLBACK_BASE_URL); None means no callbacks, polling only."""
    base = settings.CARRIER_CALLBACK_BASE_URL
    return f"{base.rstrip('/')}{reverse(url_name)}" if base else None
