"""10DLC registration (SPEC.md 4 and 8): the organisation's long-lived brands, campaigns and their numbers; the cases
that create, extend and correct them, with their state machine, numbers and timeline; the registration form the
customer fills in and every version of it that was submitted. And compliance for business texts (SPEC.md 9):
eDiscovery exports and legal holds."""

from .brands import (
    NUMBER_POOL_THRESHOLD,
    Brand,
    Campaign,
    CampaignCarrierStatus,
    CampaignNumber,
    Carrier,
    RegistrationVersion,
    throughput_for_score,
)
from .cases import CASE_DURATION, CaseEvent, CaseKind, CaseNumber, RegistrationCase, overdue_condition
from .discovery import DiscoveryExport
from .holds import LegalHold, LegalHoldNumber, LegalHoldUser
from .registration import RegistrationForm
from .todos import SupportTodo

__all__ = [
    "CASE_DURATION",
    "NUMBER_POOL_THRESHOLD",
    "Brand",
    "Campaign",
    "CampaignCarrierStatus",
    "CampaignNumber",
    "Carrier",
    "CaseEvent",
    "CaseKind",
    "CaseNumber",
    "DiscoveryExport",
    "RegistrationCase",
    "RegistrationForm",
    "RegistrationVersion",
    "SupportTodo",
    "overdue_condition",
    "throughput_for_score",
    "LegalHold",
    "LegalHoldNumber",
    "LegalHoldUser",
]
