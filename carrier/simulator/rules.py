"""What the simulated carrier accepts, and how it decides each outcome.

Validation refuses with `ApiError(400, ...)` naming the field and what is expected. Outcomes are chosen by the
data, so a demo or a test can ask for each one:
- a number ending in 0000 is rejected (not on the Cisco Calling Plan account), and a text to one fails;
- a brand whose legal name contains "Rejected" is rejected; "Unverified": approved with identity UNVERIFIED;
- a campaign whose description contains "Rejected" is rejected; once accepted, each operator accepts it
  (`carrier_delay_seconds` after the registry) unless the description says "Declined by <operator>" (e.g.
  "Declined by T-Mobile"): that operator rejects it;
- secondary vetting scores a brand 62 unless its legal name says "Score <n>" (e.g. "Acme Score 80": 80) or
  "Unvettable" (vetting fails).
- a number ending in 9999 fails to join a campaign (FAILED_ASSIGNMENT, already in another provider's campaign).
Campaign events (an operator's suspension, its lifting, the registry's expiry) come from the control endpoint.
"""

import re
from collections import Counter
from urllib.parse import urlsplit

# US and Canadian numbers only (10DLC, no international texts): +1, then an area code and an exchange code that
# both start with 2-9, as the North American Numbering Plan requires.
NANP_E164 = re.compile(r"^\+1[2-9]\d{2}[2-9]\d{6}$")
MAX_NUMBERS_PER_REQUEST = 1000
MAX_REFERENCE_LENGTH = 100
MAX_MESSAGE_LENGTH = 1600  # ten concatenated segments; there is no MMS

BRAND_ENTITY_TYPES = ("PRIVATE_PROFIT", "PUBLIC_PROFIT", "NON_PROFIT", "GOVERNMENT", "SOLE_PROPRIETOR")
BRAND_COUNTRIES = ("US", "CA")
CAMPAIGN_USE_CASES = (
    # Standard use cases, open to every registered brand.
    "2FA",
    "ACCOUNT_NOTIFICATION",
    "CUSTOMER_CARE",
    "DELIVERY_NOTIFICATION",
    "FRAUD_ALERT",
    "HIGHER_EDUCATION",
    "LOW_VOLUME",
    "MARKETING",
    "MIXED",
    "POLLING_VOTING",
    "PUBLIC_SERVICE_ANNOUNCEMENT",
    "SECURITY_ALERT",
    # Special use cases (vetting or operator approval in real life; accepted as they are here).
    "AGENTS_FRANCHISES",
    "CHARITY",
    "PROXY",
    "K12_EDUCATION",
    "POLITICAL",
    "SWEEPSTAKE",
)
MIN_SAMPLE_MESSAGES = 2
# The mobile operators that decide each campaign (SPEC.md 8), with the words that name them in a description.
CARRIERS = {"ATT": "AT&T", "TMOBILE": "T-Mobile", "VERIZON": "Verizon", "USCELLULAR": "US Cellular"}
MAX_EVENT_REASON_LENGTH = 500
DEFAULT_VETTING_SCORE = 62

NUMBER_NOT_PROVISIONED = "Number is not provisioned on the Cisco Calling Plan carrier account"
BRAND_IDENTITY_MISMATCH = "Brand identity could not be verified: legal name and tax number do not match IRS records"
BRAND_UNVERIFIED = (
    "Brand registered, but its identity could not be verified (UNVERIFIED): campaigns are refused "
    "until the brand is verified or vetted"
)
CAMPAIGN_SAMPLES_MISMATCH = "Sample messages do not match the declared use case"
DESTINATION_UNREACHABLE = "Destination unreachable"
CARRIER_DECLINED = "{name} declined the campaign: content not in line with its code of conduct"
CAMPAIGN_EXPIRED = "Campaign expired: it was not renewed"
VETTING_FAILED = "Secondary vetting could not verify the brand's reputation"
NUMBER_IN_ANOTHER_CAMPAIGN = (
    "Number is already assigned to a campaign of another messaging provider: release it there, then try again"
)


class ApiError(Exception):
    """A refusal, answered as `{"error": message}` with this HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# --- validation ---------------------------------------------------------------------------------------------------


def reference(body: dict) -> str:
    value = body.get("reference")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_REFERENCE_LENGTH:
        raise ApiError(
            400, f"reference is required: your own id for this request, 1 to {MAX_REFERENCE_LENGTH} characters."
        )
    return value


def callback_url(body: dict) -> str:
    """The optional callback URL, or "" when none was given."""
    value = body.get("callback_url") or ""
    if not isinstance(value, str) or (
        value and not (urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc)
    ):
        raise ApiError(400, "callback_url must be an absolute http(s) URL.")
    return value


def number(value, name: str) -> str:
    if not isinstance(value, str) or not NANP_E164.match(value):
        raise ApiError(
            400,
            f"{name} {value!r} is not a US or Canadian number in E.164 format (+1 and 10 digits, e.g. +14155550123).",
        )
    return value


def numbers(value) -> list[str]:
    """1 to 1000 distinct NANP numbers."""
    if not isinstance(value, list) or not value:
        raise ApiError(400, "numbers must be a non-empty list of E.164 numbers.")
    if len(value) > MAX_NUMBERS_PER_REQUEST:
        raise ApiError(400, f"At most {MAX_NUMBERS_PER_REQUEST} numbers per request (got {len(value)}).")
    checked = [number(item, f"numbers[{index}]") for index, item in enumerate(value)]
    repeated = sorted(e164 for e164, count in Counter(checked).items() if count > 1)
    if repeated:
        raise ApiError(400, f"numbers lists {', '.join(repeated)} more than once.")
    return checked


def brand(value) -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, "brand must be an object of TCR brand fields (legal_name, entity_type, country, ...).")
    legal_name = value.get("legal_name")
    if not isinstance(legal_name, str) or not legal_name.strip():
        raise ApiError(400, "brand.legal_name is required: the company's legal name.")
    if value.get("entity_type") not in BRAND_ENTITY_TYPES:
        raise ApiError(400, f"brand.entity_type must be one of {', '.join(BRAND_ENTITY_TYPES)}.")
    if value.get("country") not in BRAND_COUNTRIES:
        raise ApiError(400, "brand.country must be US or CA: 10DLC registers US and Canadian brands only.")
    return value


def campaign(value) -> dict:
    if not isinstance(value, dict):
        raise ApiError(400, "campaign must be an object (use_case, description, sample_messages, ...).")
    if value.get("use_case") not in CAMPAIGN_USE_CASES:
        raise ApiError(400, f"campaign.use_case must be one of {', '.join(CAMPAIGN_USE_CASES)}.")
    description = value.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ApiError(400, "campaign.description is required: what the campaign sends and why.")
    samples = value.get("sample_messages")
    if (
        not isinstance(samples, list)
        or len(samples) < MIN_SAMPLE_MESSAGES
        or not all(isinstance(sample, str) and sample.strip() for sample in samples)
    ):
        raise ApiError(400, f"campaign.sample_messages must list at least {MIN_SAMPLE_MESSAGES} example messages.")
    return value


def carrier_code(value) -> str:
    """An operator's code (ATT, TMOBILE, VERIZON, USCELLULAR), or "" when none was given."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or value.upper() not in CARRIERS:
        raise ApiError(400, f"carrier must be one of {', '.join(CARRIERS)}.")
    return value.upper()


def event_reason(value, default: str = "") -> str:
    if value is None and default:
        return default
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_EVENT_REASON_LENGTH:
        raise ApiError(
            400, f"reason is required: why, in words (e.g. spam complaints), 1 to {MAX_EVENT_REASON_LENGTH} characters."
        )
    return value.strip()


def message_text(value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_MESSAGE_LENGTH:
        raise ApiError(400, f"body must be text of 1 to {MAX_MESSAGE_LENGTH} characters (SMS only, no MMS).")
    return value


# --- outcomes -----------------------------------------------------------------------------------------------------


def number_outcome(e164: str) -> dict:
    if e164.endswith("0000"):
        return {"e164": e164, "status": "rejected", "reason": NUMBER_NOT_PROVISIONED}
    return {"e164": e164, "status": "authorised", "reason": ""}


def brand_outcome(fields: dict) -> dict:
    legal_name = fields["legal_name"].lower()
    if "rejected" in legal_name:
        return {"status": "REJECTED", "identity_status": "UNVERIFIED", "reason": BRAND_IDENTITY_MISMATCH}
    if "unverified" in legal_name:
        return {"status": "APPROVED", "identity_status": "UNVERIFIED", "reason": BRAND_UNVERIFIED}
    return {"status": "APPROVED", "identity_status": "VERIFIED", "reason": ""}


def campaign_outcome(fields: dict) -> dict:
    if "rejected" in fields["description"].lower():
        return {"status": "REJECTED", "reason": CAMPAIGN_SAMPLES_MISMATCH}
    return {"status": "ACTIVE", "reason": ""}


def carrier_outcomes(fields: dict) -> dict:
    """Each operator's decision on the campaign, once the registry has accepted it."""
    description = fields["description"].lower()
    outcomes = {}
    for code, name in CARRIERS.items():
        declined = f"declined by {name.lower()}" in description
        outcomes[code] = (
            {"status": "REJECTED", "reason": CARRIER_DECLINED.format(name=name)}
            if declined
            else {"status": "ACCEPTED", "reason": ""}
        )
    return outcomes


def vetting_outcome(legal_name: str) -> dict:
    name = legal_name.lower()
    if "unvettable" in name:
        return {"status": "FAILED", "score": None, "reason": VETTING_FAILED}
    match = re.search(r"\bscore (\d{1,3})\b", name)
    score = min(int(match.group(1)), 100) if match else DEFAULT_VETTING_SCORE
    return {"status": "VETTED", "score": score, "reason": ""}


def assignment_outcome(e164: str) -> dict:
    """How a number's assignment to a campaign ends."""
    if e164.endswith("9999"):
        return {"status": "FAILED_ASSIGNMENT", "reason": NUMBER_IN_ANOTHER_CAMPAIGN}
    return {"status": "ASSIGNED", "reason": ""}


def message_outcome(recipient: str) -> dict:
    if recipient.endswith("0000"):
        return {"status": "failed", "reason": DESTINATION_UNREACHABLE}
    return {"status": "delivered", "reason": ""}
