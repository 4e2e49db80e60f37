"""10DLC registration cases (SPEC.md 4): the case and its state machine, the numbers it covers, its timeline, and
the registration form (brand and campaign) the customer fills in; eDiscovery exports (SPEC.md 9)."""

from .cases import CASE_DURATION, CaseEvent, CaseNumber, RegistrationCase
from .discovery import DiscoveryExport
from .registration import RegistrationForm

__all__ = ["CASE_DURATION", "CaseEvent", "CaseNumber", "DiscoveryExport", "RegistrationCase", "RegistrationForm"]
