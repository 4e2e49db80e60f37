"""The 10DLC registration form: the brand (who sends) and the campaign (what is sent), as The Campaign Registry
asks for them (SPEC.md 4).

Every field may be blank or invalid while the form is a draft: a save keeps exactly what the customer typed, and
`compliance.forms.RegistrationFormForm` decides what is complete enough to submit.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from provisioning.models import COUNTRIES

from .cases import RegistrationCase

DEFAULT_OPT_OUT_KEYWORDS = "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT"  # CTIA
DEFAULT_OPT_IN_KEYWORDS = "START, UNSTOP, YES"
DEFAULT_HELP_KEYWORDS = "HELP, INFO"
# The form's bookkeeping, not what the customer filled in (left out of a kept version).
NOT_FORM_FIELDS = frozenset({"id", "case", "saved_at", "saved_by", "submitted_at", "submitted_by"})
SAMPLE_FIELDS = ("sample_1", "sample_2", "sample_3", "sample_4", "sample_5")


class EntityType(models.TextChoices):
    PRIVATE_PROFIT = "PRIVATE_PROFIT", _("Private for-profit company")
    PUBLIC_PROFIT = "PUBLIC_PROFIT", _("Public (listed) for-profit company")
    NON_PROFIT = "NON_PROFIT", _("Non-profit organisation")
    GOVERNMENT = "GOVERNMENT", _("Government")
    SOLE_PROPRIETOR = "SOLE_PROPRIETOR", _("Sole proprietor")


class Vertical(models.TextChoices):
    """The brand's industry, as TCR lists verticals."""

    AGRICULTURE = "AGRICULTURE", _("Agriculture")
    COMMUNICATION = "COMMUNICATION", _("Communication and media")
    CONSTRUCTION = "CONSTRUCTION", _("Construction and materials")
    EDUCATION = "EDUCATION", _("Education")
    ENERGY = "ENERGY", _("Energy and utilities")
    ENTERTAINMENT = "ENTERTAINMENT", _("Entertainment")
    FINANCIAL = "FINANCIAL", _("Financial services")
    GAMBLING = "GAMBLING", _("Gambling and lottery")
    GOVERNMENT = "GOVERNMENT", _("Government services")
    HEALTHCARE = "HEALTHCARE", _("Healthcare and life sciences")
    HOSPITALITY = "HOSPITALITY", _("Hospitality and travel")
    HUMAN_RESOURCES = "HUMAN_RESOURCES", _("HR, staffing or recruitment")
    INSURANCE = "INSURANCE", _("Insurance")
    LEGAL = "LEGAL", _("Legal")
    MANUFACTURING = "MANUFACTURING", _("Manufacturing")
    NGO = "NGO", _("Non-profit / NGO")
    POLITICAL = "POLITICAL", _("Political")
    POSTAL = "POSTAL", _("Postal and delivery")
    PROFESSIONAL = "PROFESSIONAL", _("Professional services")
    REAL_ESTATE = "REAL_ESTATE", _("Real estate")
    RETAIL = "RETAIL", _("Retail and consumer products")
    TECHNOLOGY = "TECHNOLOGY", _("Information technology")
    TRANSPORTATION = "TRANSPORTATION", _("Transportation and logistics")


class StockExchange(models.TextChoices):
    NASDAQ = "NASDAQ", "NASDAQ"
    NYSE = "NYSE", _("New York Stock Exchange (NYSE)")
    AMEX = "AMEX", _("NYSE American (AMEX)")
    TSX = "TSX", _("Toronto Stock Exchange (TSX)")
    TSXV = "TSXV", _("TSX Venture Exchange")
    CSE = "CSE", _("Canadian Securities Exchange")
    OTHER = "OTHER", _("Other exchange")


class UseCase(models.TextChoices):
    """TCR campaign use cases. The standard ones are open to every registered brand; the special ones need vetting
    or operator approval."""

    TWO_FA = "2FA", _("Two-factor authentication (2FA)")
    ACCOUNT_NOTIFICATION = "ACCOUNT_NOTIFICATION", _("Account notifications")
    CUSTOMER_CARE = "CUSTOMER_CARE", _("Customer care")
    DELIVERY_NOTIFICATION = "DELIVERY_NOTIFICATION", _("Delivery notifications")
    FRAUD_ALERT = "FRAUD_ALERT", _("Fraud alerts")
    HIGHER_EDUCATION = "HIGHER_EDUCATION", _("Higher education")
    LOW_VOLUME = "LOW_VOLUME", _("Low volume mixed")
    MARKETING = "MARKETING", _("Marketing")
    MIXED = "MIXED", _("Mixed")
    POLLING_VOTING = "POLLING_VOTING", _("Polling and voting")
    PUBLIC_SERVICE_ANNOUNCEMENT = "PUBLIC_SERVICE_ANNOUNCEMENT", _("Public service announcements")
    SECURITY_ALERT = "SECURITY_ALERT", _("Security alerts")
    AGENTS_FRANCHISES = "AGENTS_FRANCHISES", _("Agents and franchises (special: needs vetting)")
    CHARITY = "CHARITY", _("Charity (special: needs vetting)")
    PROXY = "PROXY", _("Proxy (special: needs operator approval)")
    K12_EDUCATION = "K12_EDUCATION", _("K-12 education (special: needs operator approval)")
    POLITICAL = "POLITICAL", _("Political (special: needs vetting)")
    SWEEPSTAKE = "SWEEPSTAKE", _("Sweepstakes (special: needs operator approval)")


SPECIAL_USE_CASES = frozenset(
    {
        UseCase.AGENTS_FRANCHISES,
        UseCase.CHARITY,
        UseCase.PROXY,
        UseCase.K12_EDUCATION,
        UseCase.POLITICAL,
        UseCase.SWEEPSTAKE,
    }
)
# Use cases that (may) carry marketing content, which operators approve only with a documented opt-in.
MARKETING_USE_CASES = frozenset({UseCase.MARKETING, UseCase.MIXED, UseCase.LOW_VOLUME, UseCase.SWEEPSTAKE})


class MonthlyVolume(models.TextChoices):
    UP_TO_2K = "up_to_2k", _("Up to 2,000 messages a month")
    UP_TO_10K = "up_to_10k", _("2,000 to 10,000 messages a month")
    UP_TO_100K = "up_to_100k", _("10,000 to 100,000 messages a month")
    OVER_100K = "over_100k", _("More than 100,000 messages a month")


# Labels of the fields that have no verbose name of their own (giving them one now would be a migration that changes
# nothing in the database): the form and the "what changed since the rejection" table use these.
FIELD_LABELS = {
    "entity_type": _("Entity type"),
    "country": _("Country"),
    "city": _("City"),
    "postal_code": _("Postal code"),
    "website": _("Website"),
    "stock_symbol": _("Stock symbol"),
    "stock_exchange": _("Stock exchange"),
    "use_case": _("Use case"),
}


class RegistrationForm(models.Model):
    """The brand and campaign details of one case, created when support sends the form.

    Brand fields lock once the registry approved the brand: after a campaign rejection only the campaign is
    corrected (a second brand registration would be billed again).
    """

    case = models.OneToOneField(RegistrationCase, on_delete=models.CASCADE, related_name="registration")

    # --- brand ---
    legal_name = models.CharField(_("Legal company name"), max_length=255, blank=True)
    dba_name = models.CharField(_("DBA name (doing business as)"), max_length=255, blank=True)
    entity_type = models.CharField(max_length=20, choices=EntityType.choices, blank=True)
    tax_number = models.CharField(
        "Tax number",
        max_length=40,
        blank=True,
        help_text=_("US: EIN (NN-NNNNNNN). Canada: Business Number (9 digits)."),
    )
    country = models.CharField(max_length=2, choices=COUNTRIES, default="US")
    street = models.CharField(_("Street address"), max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(_("State / province"), max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    website = models.CharField(max_length=300, blank=True)
    vertical = models.CharField(_("Vertical (industry)"), max_length=30, choices=Vertical.choices, blank=True)
    support_email = models.CharField(_("Support email"), max_length=254, blank=True)
    support_phone = models.CharField(_("Support phone"), max_length=40, blank=True)
    stock_symbol = models.CharField(max_length=20, blank=True)
    stock_exchange = models.CharField(max_length=20, choices=StockExchange.choices, blank=True)

    # --- campaign ---
    use_case = models.CharField(max_length=40, choices=UseCase.choices, blank=True)
    description = models.TextField(_("Campaign description"), blank=True)
    sample_1 = models.TextField(_("Sample message 1"), blank=True)
    sample_2 = models.TextField(_("Sample message 2"), blank=True)
    sample_3 = models.TextField(_("Sample message 3"), blank=True)
    sample_4 = models.TextField(_("Sample message 4"), blank=True)
    sample_5 = models.TextField(_("Sample message 5"), blank=True)
    message_flow = models.TextField(_("How end users opt in (message flow)"), blank=True)
    opt_in_keywords = models.CharField(
        _("Opt-in keywords"), max_length=200, blank=True, default=DEFAULT_OPT_IN_KEYWORDS
    )
    opt_in_message = models.TextField(_("Opt-in confirmation"), blank=True)
    opt_out_keywords = models.CharField(
        "Opt-out keywords", max_length=200, blank=True, default=DEFAULT_OPT_OUT_KEYWORDS
    )
    opt_out_message = models.TextField(_("Opt-out reply"), blank=True)
    help_keywords = models.CharField(_("Help keywords"), max_length=200, blank=True, default=DEFAULT_HELP_KEYWORDS)
    help_message = models.TextField(_("Help reply"), blank=True)
    embedded_links = models.BooleanField(_("Messages contain links"), default=False)
    embedded_phone_numbers = models.BooleanField(_("Messages contain phone numbers"), default=False)
    age_gated = models.BooleanField(_("Age-gated content (alcohol, tobacco, ...)"), default=False)
    monthly_volume = models.CharField(
        "Expected monthly volume", max_length=20, choices=MonthlyVolume.choices, blank=True
    )

    saved_at = models.DateTimeField(null=True, blank=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("10DLC registration form")

    def __str__(self):
        return f"Registration form of case #{self.case_id}"

    def submitted_data(self) -> dict:
        """The form's fields as a RegistrationVersion keeps them (its own bookkeeping left out)."""
        return {
            field.attname: getattr(self, field.attname)
            for field in self._meta.concrete_fields
            if field.name not in NOT_FORM_FIELDS
        }

    @property
    def samples(self) -> list[str]:
        """The sample messages given, in order, without the empty slots."""
        return [text for text in (getattr(self, name) for name in SAMPLE_FIELDS) if text.strip()]

    @property
    def content_flags(self) -> list[str]:
        """What the messages contain, as the form declared it."""
        flags = [
            (self.embedded_links, _("Links")),
            (self.embedded_phone_numbers, _("Phone numbers")),
            (self.age_gated, _("Age-gated content")),
        ]
        return [str(label) for present, label in flags if present]

    @property
    def brand_name(self) -> str:
        """The name recipients know the sender by."""
        return (self.dba_name or self.legal_name).strip()

    def brand_payload(self) -> dict:
        """The brand as the registry's API takes it."""
        return {
            "legal_name": self.legal_name,
            "dba_name": self.dba_name,
            "entity_type": self.entity_type,
            "tax_id": self.tax_number,
            "tax_id_country": self.country,
            "country": self.country,
            "street": self.street,
            "city": self.city,
            "state": self.region,
            "postal_code": self.postal_code,
            "website": self.website,
            "vertical": self.vertical,
            "email": self.support_email,
            "phone": self.support_phone,
            "stock_symbol": self.stock_symbol,
            "stock_exchange": self.stock_exchange,
        }

    def campaign_payload(self) -> dict:
        """The campaign as the registry's API takes it."""
        return {
            "use_case": self.use_case,
            "description": self.description,
            "sample_messages": self.samples,
            "message_flow": self.message_flow,
            "opt_in_keywords": _keywords(self.opt_in_keywords),
            "opt_in_message": self.opt_in_message,
            "opt_out_keywords": _keywords(self.opt_out_keywords),
            "opt_out_message": self.opt_out_message,
            "help_keywords": _keywords(self.help_keywords),
            "help_message": self.help_message,
            "embedded_link": self.embedded_links,
            "embedded_phone": self.embedded_phone_numbers,
            "age_gated": self.age_gated,
            "monthly_volume": self.monthly_volume,
        }


def _keywords(text: str) -> list[str]:
    return [word.strip().upper() for word in text.replace(";", ",").split(",") if word.strip()]
