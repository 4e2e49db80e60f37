"""10DLC registration cases (SPEC.md 4): the case and its state machine, the numbers it covers, its timeline, and
the registration form (brand and campaign) the customer fills in; legal holds (holds.py)."""

from .cases import CASE_DURATION, CaseEvent, CaseNumber, RegistrationCase
from .holds import LegalHold, LegalHoldNumber, LegalHoldUser
from .registration import RegistrationForm

__all__ = [
    "CASE_DURATION",
    "CaseEvent",
    "CaseNumber",
    "LegalHold",
    "LegalHoldNumber",
    "LegalHoldUser",
    "RegistrationCase",
    "RegistrationForm",
]
