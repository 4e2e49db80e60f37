"""The organisation's 10DLC brand and campaigns (SPEC.md 8): long-lived records that outlive the cases which create,
correct and extend them.

- A **brand** is registered once per legal entity and reused; its identity status and (after secondary vetting)
  its vetting score set the throughput of every campaign under it.
- A **campaign** belongs to a brand and has one use case, fixed once submitted; the registry accepts it and each
  mobile operator accepts, rejects or suspends it (`CampaignCarrierStatus`).
- A **campaign number** is one number's membership of a campaign over time: assignment is asynchronous at the
  carrier, may fail with a reason, and a number leaves through *pending removal*.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from provisioning.models import COUNTRIES, PhoneNumber

from .registration import EntityType, UseCase

# T-Mobile: a campaign with more than this many numbers must be flagged as a number pool (SPEC.md 8).
NUMBER_POOL_THRESHOLD = 49


# Vetting score → (AT&T texts per minute per campaign, T-Mobile texts per day per brand), SPEC.md 8. Unvetted
# brands (no score) and low scores get the bottom tier; secondary vetting is the only way up.
THROUGHPUT_TIERS = (
    # (lowest score, per minute, per day)
    (75, 4500, 200_000),
    (50, 2400, 40_000),
    (25, 240, 10_000),
    (0, 75, 2_000),
)
UNVETTED_THROUGHPUT = (75, 2_000)


def throughput_for_score(score: int | None) -> tuple[int, int]:
    """(texts per minute per campaign, texts per day per brand) for a vetting score; unvetted: the bottom tier."""
    if score is None:
        return UNVETTED_THROUGHPUT
    for lowest, per_minute, per_day in THROUGHPUT_TIERS:
        if score >= lowest:
            return per_minute, per_day
    return UNVETTED_THROUGHPUT


class Brand(models.Model):
    """Who sends: one legal entity of the organisation, as registered at The Campaign Registry."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending at the registry")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class Vetting(models.TextChoices):
        NONE = "none", _("Not vetted")
        REQUESTED = "requested", _("Secondary vetting requested")
        VETTED = "vetted", _("Vetted")
        FAILED = "failed", _("Vetting failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="brands")
    # The legal identity as registered (the full form the customer submitted is kept in RegistrationVersion).
    legal_name = models.CharField(_("Legal company name"), max_length=255)
    dba_name = models.CharField(_("DBA name"), max_length=255, blank=True)
    entity_type = models.CharField(_("Entity type"), max_length=20, choices=EntityType.choices, blank=True)
    tax_number = models.CharField(_("Tax number"), max_length=40, blank=True)
    country = models.CharField(_("Country"), max_length=2, choices=COUNTRIES, default="US")

    # The registry's side. `reference` is the carrier reference (and idempotency key) of the current submission;
    # `attempts` counts tries of that submission, so a retry reconciles by reference instead of registering twice.
    registry_id = models.CharField(_("Brand id (TCR)"), max_length=20, blank=True)
    reference = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(_("Status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    identity_status = models.CharField(_("Identity status"), max_length=20, blank=True)
    reason = models.CharField(_("Reason"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    status_changed = models.DateTimeField(default=timezone.now)

    # Secondary (external) vetting: the score sets the throughput tier.
    vetting_status = models.CharField(_("Vetting"), max_length=20, choices=Vetting.choices, default=Vetting.NONE)
    vetting_score = models.PositiveSmallIntegerField(_("Vetting score"), null=True, blank=True)
    vetting_reference = models.CharField(max_length=80, blank=True)
    # The registry's id of the current vetting request, and how many times it was tried (a retry with attempts > 0
    # looks the request up by reference first: vetting is billed per request).
    vetting_id = models.CharField(_("Vetting id"), max_length=20, blank=True)
    vetting_attempts = models.PositiveIntegerField(default=0)
    vetting_reason = models.CharField(_("Vetting result"), max_length=500, blank=True)
    vetting_requested_at = models.DateTimeField(null=True, blank=True)
    vetted_at = models.DateTimeField(null=True, blank=True)

    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation", "created", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vetting_score__isnull=True) | Q(vetting_score__lte=100), name="brand_vetting_score_range"
            ),
            models.UniqueConstraint(
                fields=["registry_id"], condition=~Q(registry_id=""), name="brand_registry_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status"], name="brand_org_status_idx")]

    def __str__(self):
        name = self.dba_name or self.legal_name
        return f"{name} ({self.registry_id})" if self.registry_id else name

    @property
    def name(self) -> str:
        return (self.dba_name or self.legal_name).strip()

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED and bool(self.registry_id)

    @property
    def allows_campaigns(self) -> bool:
        """The registry refuses campaigns under an UNVERIFIED brand (SPEC.md 4)."""
        return self.is_approved and self.identity_status.upper() != "UNVERIFIED"

    @property
    def throughput(self) -> tuple[int, int]:
        """(texts per minute per campaign, texts per day for the brand) that its vetting gives."""
        score = self.vetting_score if self.vetting_status == self.Vetting.VETTED else None
        return throughput_for_score(score)

    @property
    def per_minute(self) -> int:
        return self.throughput[0]

    @property
    def daily_cap(self) -> int:
        return self.throughput[1]


class Campaign(models.Model):
    """What is sent: one use case of a brand, with the numbers that send it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not submitted")
        PENDING = "pending", _("Pending at the registry")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")

    # States in which the customer corrects the campaign and resubmits it (a case of kind "resubmit").
    CORRECTABLE = frozenset({Status.REJECTED, Status.SUSPENDED, Status.EXPIRED})
    # Registry states in which the campaign's numbers may not send.
    NOT_SENDING = frozenset({Status.DRAFT, Status.PENDING, Status.REJECTED, Status.SUSPENDED, Status.EXPIRED})
    # What the registry does to a campaign it accepted (compliance.actions.campaigns): suspend it, lift the
    # suspension, expire it. Expiry is final: the customer registers again.
    EVENT_TRANSITIONS = {
        Status.ACTIVE: frozenset({Status.SUSPENDED, Status.EXPIRED}),
        Status.SUSPENDED: frozenset({Status.ACTIVE, Status.EXPIRED}),
    }

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="campaigns")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="campaigns")
    # Fixed once submitted: a different use case is a new campaign (SPEC.md 8).
    use_case = models.CharField(_("Use case"), max_length=40, choices=UseCase.choices)
    description = models.TextField(_("Campaign description"), blank=True)

    registry_id = models.CharField(_("Campaign id (TCR)"), max_length=20, blank=True)
    reference = models.CharField(max_length=80, blank=True)
    # The reference whose submission the registry received (its id recorded): equal to `reference` once the current
    # submission reached the registry. A corrected campaign is resubmitted under the id it has, so the id alone does
    # not say whether this round was sent.
    sent_reference = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(_("Status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    reason = models.CharField(_("Reason"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    status_changed = models.DateTimeField(default=timezone.now)
    # T-Mobile: more than NUMBER_POOL_THRESHOLD numbers need the number-pool flag.
    is_number_pool = models.BooleanField(_("Number pool"), default=False)

    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["organisation", "created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registry_id"], condition=~Q(registry_id=""), name="campaign_registry_id_unique"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status"], name="campaign_org_status_idx")]

    def __str__(self):
        label = self.get_use_case_display()
        return f"{label} ({self.registry_id})" if self.registry_id else label

    @property
    def is_submitted(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def is_usable(self) -> bool:
        """Numbers may send: the registry accepted it and no operator rejected or suspended it (SPEC.md 8). Uses the
        prefetched carrier statuses when there are any."""
        if self.status != self.Status.ACTIVE:
            return False
        return not any(
            s.status in (CampaignCarrierStatus.Status.REJECTED, CampaignCarrierStatus.Status.SUSPENDED)
            for s in self.carrier_statuses.all()
        )

    @property
    def per_minute(self) -> int:
        return self.brand.per_minute


class Carrier(models.TextChoices):
    """The mobile operators that decide each campaign (SPEC.md 8)."""

    ATT = "att", "AT&T"
    TMOBILE = "tmobile", "T-Mobile"
    VERIZON = "verizon", "Verizon Wireless"
    US_CELLULAR = "uscellular", "US Cellular"


class CampaignCarrierStatus(models.Model):
    """One operator's decision on a campaign."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="carrier_statuses")
    carrier = models.CharField(max_length=20, choices=Carrier.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["campaign", "carrier"]
        constraints = [models.UniqueConstraint(fields=["campaign", "carrier"], name="campaign_carrier_once")]

    def __str__(self):
        return f"{self.get_carrier_display()}: {self.get_status_display()}"


class CampaignNumber(models.Model):
    """A number's membership of a campaign. A number is in at most one campaign at a time (rows that are *removed*
    are history); the database enforces it with a partial unique index."""

    class Status(models.TextChoices):
        PENDING_ASSIGNMENT = "pending_assignment", _("Pending assignment")
        ASSIGNED = "assigned", _("Assigned")
        FAILED_ASSIGNMENT = "failed_assignment", _("Assignment failed")
        PENDING_REMOVAL = "pending_removal", _("Pending removal")
        REMOVED = "removed", _("Removed")

    CURRENT = (
        Status.PENDING_ASSIGNMENT,
        Status.ASSIGNED,
        Status.FAILED_ASSIGNMENT,
        Status.PENDING_REMOVAL,
    )

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="campaign_numbers")
    number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="campaign_memberships")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_ASSIGNMENT)
    reason = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    # The case that asked for this change (assignment or removal), if any.
    case = models.ForeignKey(
        "compliance.RegistrationCase", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["campaign", "number__e164"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(status="removed"), name="campaign_number_in_one_campaign"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="campaign_number_status_idx")]

    def __str__(self):
        return f"{self.number} in {self.campaign}"


class RegistrationVersion(models.Model):
    """One submitted version of a case's registration form, kept as submitted: never changed, never deleted, so
    support sees exactly what the registry was sent and what changed since the last rejection."""

    case = models.ForeignKey("compliance.RegistrationCase", on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict)
    # Set when the registry (or support) rejected what this version submitted: what the customer had to correct.
    rejection_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["case", "number"]
        constraints = [models.UniqueConstraint(fields=["case", "number"], name="registration_version_once")]

    def __str__(self):
        return f"Version {self.number} of case #{self.case_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and set(kwargs.get("update_fields") or ()) != {"rejection_reason"}:
            raise ValueError("A submitted registration form is kept as it was: create a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Submitted registration forms are kept.")
