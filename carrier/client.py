"""The carrier gateway over HTTP (httpx): the production implementation of `CarrierGateway`, also used against the
local simulator. It maps every transport or server failure to `CarrierUnavailable` and every refusal to
`CarrierRejected`, so callers never see an httpx exception."""

import logging
import re
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import quote

import httpx

from .gateway import (
    CampaignNumberStatus,
    CarrierDecision,
    CarrierRejected,
    CarrierUnavailable,
    MessageStatus,
    NumberOrderStatus,
    NumberResult,
    RegistrationStatus,
    VettingStatus,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


# --- hooks the portal installs (carrier/ imports none of its apps) ----------------------------------------------
# Headers added to every request (the portal's request id, so the carrier's log names the journey), and observers
# told of every call: its endpoint ("GET /v1/number-orders/{id}"), outcome and duration in seconds (metrics).
_header_sources: list[Callable[[], dict[str, str]]] = []
_observers: list[Callable[[str, str, float], None]] = []


def add_request_headers(source: Callable[[], dict[str, str]]) -> None:
    """Call `source()` before every request and send the headers it returns (installed once; idempotent)."""
    if source not in _header_sources:
        _header_sources.append(source)


def observe_calls(observer: Callable[[str, str, float], None]) -> None:
    """Call `observer(endpoint, outcome, seconds)` after every request (installed once; idempotent). Outcomes: ok,
    rejected (4xx), unavailable (5xx or 429), timeout, unreachable, unreadable."""
    if observer not in _observers:
        _observers.append(observer)


_ID_SEGMENT = re.compile(r"^(/v1/[a-z-]+)/[^/]+")


def endpoint_label(method: str, path: str) -> str:
    """`POST /v1/campaigns/{id}/numbers`: the path with its id replaced, so each endpoint is one series."""
    return f"{method} {_ID_SEGMENT.sub(lambda m: m.group(1) + '/{id}', path)}"


def _observe(method: str, path: str, outcome: str, started: float) -> None:
    seconds = time.perf_counter() - started
    for observer in _observers:
        try:
            observer(endpoint_label(method, path), outcome, seconds)
        except Exception:  # an observer's bug must never turn into a failed carrier call
            log.exception("Carrier call observer failed")


# --- parsing the carrier's JSON into the gateway's types --------------------------------------------------------
# Strict on purpose: a malformed payload raises KeyError, TypeError or ValueError instead of becoming a half-filled
# status that a caller might act on. Webhook views catch those three for a 400.

# The longest carrier ids and codes the portal stores (its columns: OrderChunk.carrier_order_id,
# Brand.registry_id / Campaign.registry_id / Brand.identity_status, Message.carrier_message_id).
ORDER_ID_LENGTH, REGISTRY_ID_LENGTH, MESSAGE_ID_LENGTH = 40, 20, 64
REASON_LENGTH = 500


def _text(data: dict, key: str, *, required: bool = True, max_length: int | None = None) -> str:
    """A string field of the carrier's JSON; ValueError for what the portal could not store or look up (a NUL
    character: PostgreSQL refuses it; a lone surrogate such as JSON's "\\ud800": no UTF-8 text holds it; an id longer
    than its column)."""
    value = data[key] if required else data.get(key, "")
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"carrier field {key!r} should be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"carrier field {key!r} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"carrier field {key!r} contains a lone surrogate") from None
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"carrier field {key!r} is longer than {max_length} characters")
    return value


def parse_number_order(data: dict) -> NumberOrderStatus:
    """A number order (`GET /v1/number-orders/{id}` or a `number_order.completed` callback payload)."""
    numbers = data["numbers"]
    if not isinstance(numbers, list):
        raise TypeError("carrier field 'numbers' should be a list")
    return NumberOrderStatus(
        order_id=_text(data, "order_id", max_length=ORDER_ID_LENGTH),
        reference=_text(data, "reference"),
        status=_text(data, "status"),
        numbers=[
            NumberResult(
                e164=_text(item, "e164"), status=_text(item, "status"), reason=_text(item, "reason", required=False)
            )
            for item in numbers
        ],
    )


def parse_brand(data: dict) -> RegistrationStatus:
    """A brand (`GET /v1/brands/{id}` or a `brand.updated` callback payload)."""
    return RegistrationStatus(
        registry_id=_text(data, "brand_id", max_length=REGISTRY_ID_LENGTH),
        reference=_text(data, "reference"),
        status=_text(data, "status"),
        reason=_text(data, "reason", required=False),
        identity_status=_text(data, "identity_status", required=False, max_length=REGISTRY_ID_LENGTH),
    )


def parse_campaign(data: dict) -> RegistrationStatus:
    """A campaign (`GET /v1/campaigns/{id}` or a `campaign.updated` callback payload), with each operator's status
    when the carrier sends them (`carriers`: a list of {carrier, status, reason}; one operator listed once)."""
    carriers = data.get("carriers") or []
    if not isinstance(carriers, list):
        raise TypeError("carrier field 'carriers' should be a list")
    decisions = tuple(
        CarrierDecision(
            carrier=_text(item, "carrier", max_length=REGISTRY_ID_LENGTH).upper(),
            status=_text(item, "status", max_length=REGISTRY_ID_LENGTH).upper(),
            reason=_text(item, "reason", required=False, max_length=REASON_LENGTH),
        )
        for item in carriers
    )
    if len({decision.carrier for decision in decisions}) != len(decisions):
        raise ValueError("carrier field 'carriers' lists an operator more than once")
    return RegistrationStatus(
        registry_id=_text(data, "campaign_id", max_length=REGISTRY_ID_LENGTH),
        reference=_text(data, "reference"),
        status=_text(data, "status"),
        reason=_text(data, "reason", required=False),
        carriers=decisions,
    )


def parse_vetting(data: dict) -> VettingStatus:
    """A brand's secondary vetting (`GET /v1/vettings/{id}` or a `vetting.updated` callback payload). The score is a
    whole number from 0 to 100 when given."""
    score = data.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100):
        raise ValueError("carrier field 'score' should be a whole number from 0 to 100")
    return VettingStatus(
        vetting_id=_text(data, "vetting_id", max_length=REGISTRY_ID_LENGTH),
        reference=_text(data, "reference"),
        brand_id=_text(data, "brand_id", max_length=REGISTRY_ID_LENGTH),
        status=_text(data, "status", max_length=REGISTRY_ID_LENGTH).upper(),
        score=score,
        reason=_text(data, "reason", required=False, max_length=REASON_LENGTH),
    )


CAMPAIGN_NUMBER_STATUSES = (
    "PENDING_ASSIGNMENT",
    "ASSIGNED",
    "FAILED_ASSIGNMENT",
    "PENDING_UNASSIGNMENT",
    "UNASSIGNED",
)


def parse_campaign_numbers(data: dict) -> list[CampaignNumberStatus]:
    """The per-number answer of `POST /v1/campaigns/{id}/numbers`, `POST .../numbers/remove` or
    `GET .../numbers`: `{"results": [{"e164", "status", "reason"}, ...]}`. An unknown status is unreadable
    (ValueError), never guessed."""
    results = data["results"]
    if not isinstance(results, list):
        raise TypeError("carrier field 'results' should be a list")
    parsed = []
    for item in results:
        status = _text(item, "status")
        if status not in CAMPAIGN_NUMBER_STATUSES:
            raise ValueError(f"unknown campaign number status {status!r}")
        parsed.append(
            CampaignNumberStatus(e164=_text(item, "e164"), status=status, reason=_text(item, "reason", required=False))
        )
    return parsed


def parse_message(data: dict) -> MessageStatus:
    """A message (`GET /v1/messages/{id}` or a `message.updated` callback payload)."""
    return MessageStatus(
        message_id=_text(data, "message_id", max_length=MESSAGE_ID_LENGTH),
        reference=_text(data, "reference"),
        status=_text(data, "status"),
        reason=_text(data, "reason", required=False),
    )


class HttpCarrierGateway:
    """`CarrierGateway` over the carrier's JSON API.

    One `httpx.Client` (a connection pool) per gateway, safe to share between threads. Every request carries the
    API key and the timeout given here; every write carries the caller's idempotency key, so retrying a write after
    `CarrierUnavailable` with the same key can never create a second object at the carrier.

    The submit methods take an optional `callback_url` on top of the `CarrierGateway` protocol: when given, the
    carrier POSTs the final status there (signed, see `verify_webhook_signature`) besides answering polls.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            # The carrier URL is explicit configuration: an HTTP(S)_PROXY left in the environment must not reroute
            # the API key through somebody else's proxy.
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    # --- number authorisation ---------------------------------------------------------------------------------

    def submit_number_order(
        self, *, reference: str, numbers: list[str], idempotency_key: str, callback_url: str | None = None
    ) -> NumberOrderStatus:
        """Ask the carrier to authorise `numbers` (at most 1000) for texting. Answers at once with every number
        *pending*; the final answer comes by polling `get_number_order` (or the callback)."""
        body = {"reference": reference, "numbers": list(numbers), **_optional(callback_url=callback_url)}
        return self._request(
            parse_number_order, "POST", "/v1/number-orders", json=body, idempotency_key=idempotency_key
        )

    def get_number_order(self, order_id: str) -> NumberOrderStatus:
        return self._request(parse_number_order, "GET", f"/v1/number-orders/{_segment(order_id)}")

    def find_number_order(self, reference: str) -> NumberOrderStatus | None:
        """The carrier's order with this reference (the first one if a blind retry ever made two), or None: how a
        caller learns whether a write that timed out took effect."""
        return self._request(
            _first_result(parse_number_order), "GET", "/v1/number-orders", params={"reference": reference}
        )

    # --- 10DLC registration -----------------------------------------------------------------------------------

    def submit_brand(
        self, *, reference: str, brand: dict, idempotency_key: str, callback_url: str | None = None
    ) -> RegistrationStatus:
        """Register a brand (TCR fields: legal_name, entity_type, country, ...). Answers *PENDING*; the registry
        later approves it (with an identity status) or rejects it with a reason."""
        body = {"reference": reference, "brand": brand, **_optional(callback_url=callback_url)}
        return self._request(parse_brand, "POST", "/v1/brands", json=body, idempotency_key=idempotency_key)

    def get_brand(self, brand_id: str) -> RegistrationStatus:
        return self._request(parse_brand, "GET", f"/v1/brands/{_segment(brand_id)}")

    def find_brand(self, reference: str) -> RegistrationStatus | None:
        """The registry's brand with this reference (the first if there are several), or None."""
        return self._request(_first_result(parse_brand), "GET", "/v1/brands", params={"reference": reference})

    def submit_campaign(
        self, *, reference: str, brand_id: str, campaign: dict, idempotency_key: str, callback_url: str | None = None
    ) -> RegistrationStatus:
        """Register a campaign under an approved, identity-verified brand. Answers *PENDING*; later *ACTIVE* or
        *REJECTED* with a reason. A brand that is unknown, not approved or UNVERIFIED raises CarrierRejected."""
        body = {
            "reference": reference,
            "brand_id": brand_id,
            "campaign": campaign,
            **_optional(callback_url=callback_url),
        }
        return self._request(parse_campaign, "POST", "/v1/campaigns", json=body, idempotency_key=idempotency_key)

    def resubmit_campaign(
        self, *, campaign_id: str, reference: str, campaign: dict, idempotency_key: str, callback_url: str | None = None
    ) -> RegistrationStatus:
        """Send a corrected campaign again under the id it has (a rejected, suspended or expired one): answers it
        *PENDING* under the new reference; later *ACTIVE* or *REJECTED*, as for a new campaign. Its numbers stay in
        it. A different use case, or an unknown campaign, raises CarrierRejected. Not idempotent at the registry
        without the key: after CarrierUnavailable, look it up with `find_campaign(reference)` first."""
        body = {"reference": reference, "campaign": campaign, **_optional(callback_url=callback_url)}
        return self._request(
            parse_campaign,
            "POST",
            f"/v1/campaigns/{_segment(campaign_id)}/resubmit",
            json=body,
            idempotency_key=idempotency_key,
        )

    def get_campaign(self, campaign_id: str) -> RegistrationStatus:
        return self._request(parse_campaign, "GET", f"/v1/campaigns/{_segment(campaign_id)}")

    def find_campaign(self, reference: str) -> RegistrationStatus | None:
        """The registry's campaign with this reference (the first if there are several), or None."""
        return self._request(_first_result(parse_campaign), "GET", "/v1/campaigns", params={"reference": reference})

    def assign_numbers_to_campaign(self, *, campaign_id: str, numbers: list[str], idempotency_key: str) -> list[str]:
        """Assign numbers to an ACTIVE campaign; returns every number the campaign now holds. Assigning a number
        twice is harmless. A campaign that is not ACTIVE raises CarrierRejected."""
        return self._request(
            _parse_number_list,
            "POST",
            f"/v1/campaigns/{_segment(campaign_id)}/numbers",
            json={"numbers": list(numbers)},
            idempotency_key=idempotency_key,
        )

    # --- secondary vetting --------------------------------------------------------------------------------------

    def request_vetting(
        self, *, reference: str, brand_id: str, idempotency_key: str, callback_url: str | None = None
    ) -> VettingStatus:
        """Ask for secondary (external) vetting of an approved brand. Answers *PENDING*; later *VETTED* with a score
        or *FAILED* with a reason. Billable and not idempotent at the registry: after CarrierUnavailable, look it up
        with `find_vetting(reference)` before asking again. A brand that is not approved raises CarrierRejected."""
        body = {"reference": reference, **_optional(callback_url=callback_url)}
        return self._request(
            parse_vetting,
            "POST",
            f"/v1/brands/{_segment(brand_id)}/vettings",
            json=body,
            idempotency_key=idempotency_key,
        )

    def get_vetting(self, vetting_id: str) -> VettingStatus:
        return self._request(parse_vetting, "GET", f"/v1/vettings/{_segment(vetting_id)}")

    def find_vetting(self, reference: str) -> VettingStatus | None:
        """The vetting asked for with this reference (the first if there are several), or None."""
        return self._request(_first_result(parse_vetting), "GET", "/v1/vettings", params={"reference": reference})

    def add_campaign_numbers(
        self, *, campaign_id: str, numbers: list[str], idempotency_key: str
    ) -> list[CampaignNumberStatus]:
        """Ask for numbers (at most 1000) to join an ACTIVE campaign; answers each number's status: usually
        PENDING_ASSIGNMENT (the operators take about two hours), ASSIGNED, or FAILED_ASSIGNMENT with a reason.
        Asking again for a number pending or assigned changes nothing; for a failed or unassigned one it tries again.
        A campaign that is not ACTIVE raises CarrierRejected."""
        return self._request(
            parse_campaign_numbers,
            "POST",
            f"/v1/campaigns/{_segment(campaign_id)}/numbers",
            json={"numbers": list(numbers)},
            idempotency_key=idempotency_key,
        )

    def get_campaign_numbers(self, campaign_id: str) -> list[CampaignNumberStatus]:
        """Every number the carrier knows in this campaign, with its status (how pending ones are polled)."""
        return self._request(parse_campaign_numbers, "GET", f"/v1/campaigns/{_segment(campaign_id)}/numbers")

    def remove_campaign_numbers(
        self, *, campaign_id: str, numbers: list[str], idempotency_key: str
    ) -> list[CampaignNumberStatus]:
        """Ask for numbers (at most 1000) to leave a campaign; answers PENDING_UNASSIGNMENT or UNASSIGNED per number.
        Idempotent: a number not (or no longer) in the campaign answers UNASSIGNED."""
        return self._request(
            parse_campaign_numbers,
            "POST",
            f"/v1/campaigns/{_segment(campaign_id)}/numbers/remove",
            json={"numbers": list(numbers)},
            idempotency_key=idempotency_key,
        )

    # --- business text messages -------------------------------------------------------------------------------

    def send_message(
        self,
        *,
        reference: str,
        sender: str,
        recipient: str,
        body: str,
        idempotency_key: str,
        callback_url: str | None = None,
    ) -> MessageStatus:
        """Hand a text to the carrier. Answers *queued*; later *delivered* or *failed* with a reason."""
        payload = {
            "reference": reference,
            "from": sender,
            "to": recipient,
            "body": body,
            **_optional(callback_url=callback_url),
        }
        return self._request(parse_message, "POST", "/v1/messages", json=payload, idempotency_key=idempotency_key)

    def get_message(self, message_id: str) -> MessageStatus:
        return self._request(parse_message, "GET", f"/v1/messages/{_segment(message_id)}")

    # --- transport --------------------------------------------------------------------------------------------

    def _request(
        self,
        parse: Callable[[dict], T],
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        idempotency_key: str | None = None,
    ) -> T:
        """One call to the carrier, returning its answer parsed by `parse`, or raising CarrierUnavailable (the call
        may or may not have taken effect) or CarrierRejected (it did not, and repeating it will not help)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else {}
        for source in _header_sources:
            headers.update(source())
        what = f"{method} {path}"
        started = time.perf_counter()
        try:
            response = self._http.request(method, path, json=json, params=params, headers=headers or None)
        except httpx.TimeoutException as exc:
            _observe(method, path, "timeout", started)
            raise CarrierUnavailable(f"The carrier did not answer within {self.timeout:g} s ({what}).") from exc
        except httpx.TransportError as exc:
            _observe(method, path, "unreachable", started)
            raise CarrierUnavailable(
                f"Could not reach the carrier at {self.base_url} ({what}): {exc}",
                may_have_taken_effect=not isinstance(exc, httpx.ConnectError),
            ) from exc

        if response.status_code == 429 or response.status_code >= 500:
            _observe(method, path, "unavailable", started)
            log.warning("Carrier unavailable: %s answered %s", what, response.status_code)
            raise CarrierUnavailable(
                f"The carrier is unavailable (HTTP {response.status_code}, {what}): {_error_text(response)}",
                may_have_taken_effect=response.status_code not in (429, 503),
            )
        if response.status_code >= 400:
            _observe(method, path, "rejected", started)
            log.warning("Carrier refused %s with %s: %s", what, response.status_code, _error_text(response))
            raise CarrierRejected(_error_text(response))
        try:
            result = parse(response.json())
        except (KeyError, TypeError, ValueError) as exc:
            # A success we cannot read: the write may have happened, so this is "unknown", not "refused".
            _observe(method, path, "unreadable", started)
            raise CarrierUnavailable(f"The carrier sent an unreadable answer to {what}: {exc}") from exc
        _observe(method, path, "ok", started)
        return result


def _first_result(parse: Callable[[dict], T]) -> Callable[[dict], T | None]:
    """Parse the first of a `{"results": [...]}` list (the oldest object), or None when it is empty."""

    def parse_first(data: dict) -> T | None:
        results = data["results"]
        if not isinstance(results, list):
            raise TypeError("carrier field 'results' should be a list")
        return parse(results[0]) if results else None

    return parse_first


def _parse_number_list(data: dict) -> list[str]:
    numbers = data["numbers"]
    if not isinstance(numbers, list) or not all(isinstance(number, str) for number in numbers):
        raise TypeError("carrier field 'numbers' should be a list of strings")
    return numbers


def _optional(**fields) -> dict:
    return {name: value for name, value in fields.items() if value is not None}


def _segment(identifier: str) -> str:
    """An id as one URL path segment: a stray '/' or '?' cannot point the request at another resource."""
    return quote(identifier, safe="")


def _error_text(response: httpx.Response) -> str:
    """The carrier's own words for a failure: `{"error": ...}` when it sent JSON, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"]
    return response.text.strip()[:200] or response.reason_phrase or f"HTTP {response.status_code}"
