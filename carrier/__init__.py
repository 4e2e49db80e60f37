"""The carrier (The Campaign Registry and the mobile operators, through Cisco's carrier): the portal's only way out.

Call `get_gateway()` for a `CarrierGateway` built from settings; webhook views check callbacks with
`verify_webhook_signature` and read their payloads with the `parse_*` functions. The local simulator lives in
`carrier.simulator` (`manage.py run_carrier_sim`); nothing outside this package imports httpx.
"""

from functools import lru_cache

from django.conf import settings

from .client import (
    HttpCarrierGateway,
    parse_brand,
    parse_campaign,
    parse_message,
    parse_number_order,
    parse_vetting,
)
from .gateway import (
    CampaignNumberStatus,
    CarrierDecision,
    CarrierError,
    CarrierGateway,
    CarrierRejected,
    CarrierUnavailable,
    MessageStatus,
    NumberOrderStatus,
    NumberResult,
    RegistrationStatus,
    VettingStatus,
)
from .webhooks import SIGNATURE_HEADER, callback_url, sign_webhook_body, verify_webhook_signature

__all__ = [
    "SIGNATURE_HEADER",
    "CarrierDecision",
    "CampaignNumberStatus",
    "CarrierError",
    "CarrierGateway",
    "CarrierRejected",
    "CarrierUnavailable",
    "HttpCarrierGateway",
    "MessageStatus",
    "NumberOrderStatus",
    "NumberResult",
    "RegistrationStatus",
    "VettingStatus",
    "callback_url",
    "get_gateway",
    "parse_brand",
    "parse_campaign",
    "parse_message",
    "parse_number_order",
    "parse_vetting",
    "sign_webhook_body",
    "verify_webhook_signature",
]


def get_gateway() -> HttpCarrierGateway:
    """The carrier gateway for the current CARRIER_API_URL, CARRIER_API_KEY and CARRIER_TIMEOUT_SECONDS.

    Built once per combination of those values and then shared (its connection pool is thread-safe), so a test that
    points the settings at another carrier gets a client for that carrier, not a stale one.
    """
    return _gateway_for(settings.CARRIER_API_URL, settings.CARRIER_API_KEY, float(settings.CARRIER_TIMEOUT_SECONDS))


@lru_cache(maxsize=8)
def _gateway_for(base_url: str, api_key: str, timeout: float) -> HttpCarrierGateway:
    return HttpCarrierGateway(base_url, api_key, timeout)
