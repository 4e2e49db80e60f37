"""The carrier gateway: the one way the portal talks to the outside party (The Campaign Registry and the mobile
network operators, through Cisco's carrier). Everything else in the project calls these functions and types;
only `compliance/carrier/` imports httpx.

Errors:
- `CarrierUnavailable`: transient (timeout, connection error, 5xx, 429). The request may or may not have taken
  effect: retry with the *same idempotency key* (the carrier then returns the first result) or reconcile by
  reference first. Never retry a write with a new key.
- `CarrierRejected`: permanent (4xx other than 429): the request is wrong; retrying will not help.
"""

from dataclasses import dataclass, field
from typing import Protocol


class CarrierError(Exception):
    """Base class for carrier failures."""


class CarrierUnavailable(CarrierError):
    """Transient failure: timeout, connection error, 5xx or 429. Safe to retry with the same idempotency key.

    `may_have_taken_effect` is False only when the carrier certainly did nothing (the connection was refused, or it
    answered 429/503 "not now"); after a timeout or another server error the write may have happened unseen."""

    def __init__(self, message: str, *, may_have_taken_effect: bool = True):
        super().__init__(message)
        self.may_have_taken_effect = may_have_taken_effect


class CarrierRejected(CarrierError):
    """Permanent failure: the carrier refused the request (4xx)."""


@dataclass(frozen=True)
class NumberResult:
    e164: str
    status: str  # "pending" | "authorised" | "rejected"
    reason: str = ""


@dataclass(frozen=True)
class NumberOrderStatus:
    order_id: str
    reference: str
    status: str  # "pending" | "completed"
    numbers: list[NumberResult] = field(default_factory=list)


@dataclass(frozen=True)
class CarrierDecision:
    """One mobile operator's status of a campaign. `carrier`: ATT | TMOBILE | VERIZON | USCELLULAR (others may come)."""

    carrier: str
    status: str  # PENDING | ACCEPTED | REJECTED | SUSPENDED
    reason: str = ""


@dataclass(frozen=True)
class RegistrationStatus:
    """A brand or campaign at the registry. `registry_id` is B/C + 6 upper-case characters."""

    registry_id: str
    reference: str
    status: str  # brand: PENDING | APPROVED | REJECTED ; campaign: PENDING | ACTIVE | REJECTED | SUSPENDED | EXPIRED
    reason: str = ""
    identity_status: str = ""  # brands only: VERIFIED | VETTED_VERIFIED | SELF_DECLARED | UNVERIFIED
    # Campaigns only: each operator's status once the registry accepted it (empty before).
    carriers: tuple[CarrierDecision, ...] = ()


@dataclass(frozen=True)
class VettingStatus:
    """A brand's secondary (external) vetting: PENDING, then VETTED with a score 0-100, or FAILED with a reason."""

    vetting_id: str
    reference: str
    brand_id: str
    status: str  # PENDING | VETTED | FAILED
    score: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class CampaignNumberStatus:
    """One number's membership of a campaign at the carrier. Assignment (and removal) is asynchronous: about two
    hours at the real operators."""

    e164: str
    # PENDING_ASSIGNMENT | ASSIGNED | FAILED_ASSIGNMENT (with a reason) | PENDING_UNASSIGNMENT | UNASSIGNED
    status: str
    reason: str = ""


@dataclass(frozen=True)
class MessageStatus:
    message_id: str
    reference: str
    status: str  # "queued" | "sent" | "delivered" | "failed"
    reason: str = ""


class CarrierGateway(Protocol):
    # Number authorisation (Authorize Business Texting).
    def submit_number_order(self, *, reference: str, numbers: list[str], idempotency_key: str) -> NumberOrderStatus: ...
    def get_number_order(self, order_id: str) -> NumberOrderStatus: ...
    def find_number_order(self, reference: str) -> NumberOrderStatus | None: ...

    # 10DLC brand and campaign registration.
    def submit_brand(self, *, reference: str, brand: dict, idempotency_key: str) -> RegistrationStatus: ...
    def get_brand(self, brand_id: str) -> RegistrationStatus: ...
    def find_brand(self, reference: str) -> RegistrationStatus | None: ...
    def submit_campaign(
        self, *, reference: str, brand_id: str, campaign: dict, idempotency_key: str
    ) -> RegistrationStatus: ...
    def resubmit_campaign(
        self, *, campaign_id: str, reference: str, campaign: dict, idempotency_key: str
    ) -> RegistrationStatus: ...
    def get_campaign(self, campaign_id: str) -> RegistrationStatus: ...
    def find_campaign(self, reference: str) -> RegistrationStatus | None: ...
    def assign_numbers_to_campaign(
        self, *, campaign_id: str, numbers: list[str], idempotency_key: str
    ) -> list[str]: ...
    # Numbers joining and leaving campaigns, answered per number (see CampaignNumberStatus).
    def add_campaign_numbers(
        self, *, campaign_id: str, numbers: list[str], idempotency_key: str
    ) -> list[CampaignNumberStatus]: ...
    def get_campaign_numbers(self, campaign_id: str) -> list[CampaignNumberStatus]: ...
    def remove_campaign_numbers(
        self, *, campaign_id: str, numbers: list[str], idempotency_key: str
    ) -> list[CampaignNumberStatus]: ...

    # Secondary vetting of an approved brand (billable: reconcile by reference before retrying).
    def request_vetting(self, *, reference: str, brand_id: str, idempotency_key: str) -> VettingStatus: ...
    def get_vetting(self, vetting_id: str) -> VettingStatus: ...
    def find_vetting(self, reference: str) -> VettingStatus | None: ...

    # Business text messages.
    def send_message(
        self, *, reference: str, sender: str, recipient: str, body: str, idempotency_key: str
    ) -> MessageStatus: ...
    def get_message(self, message_id: str) -> MessageStatus: ...
