"""Legal holds (SPEC.md 9): a matter under which the business texts of some users and numbers of one organisation
are kept past the 400-day retention until the hold is released. The purge (texting.retention) never deletes a text
an active hold matches: (a custodian user sent it, or it went through a custodian number) and it falls in the hold's
date range, if it has one."""

from datetime import UTC, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from provisioning.models import PhoneNumber


class LegalHoldQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=LegalHold.Status.ACTIVE)


class LegalHold(models.Model):
    """One matter. Active until released; a released hold is kept (with who released it and when) as a record."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    # Released is final: a matter that needs texts kept again is a new hold (compliance.actions.holds).
    TRANSITIONS = {Status.ACTIVE: {Status.RELEASED}, Status.RELEASED: set()}

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="legal_holds")
    name = models.CharField(_("Matter name"), max_length=200)
    reference = models.CharField(_("Reference"), max_length=100, blank=True)
    description = models.TextField(_("Description"), blank=True)
    # The texts' time range the hold covers, as UTC instants: from `held_from` (inclusive) to `held_until`
    # (exclusive); either may be open. The form takes whole days and stores midnight UTC of the first day and of the
    # day after the last.
    held_from = models.DateTimeField(null=True, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_note = models.CharField(max_length=300, blank=True)

    users = models.ManyToManyField(settings.AUTH_USER_MODEL, through="LegalHoldUser", related_name="legal_holds")
    numbers = models.ManyToManyField(PhoneNumber, through="LegalHoldNumber", related_name="legal_holds")

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(held_from__isnull=True)
                | Q(held_until__isnull=True)
                | Q(held_from__lt=models.F("held_until")),
                name="legal_hold_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status="active", released_at__isnull=True)
                | Q(status="released", released_at__isnull=False),
                name="legal_hold_released_when",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "status"], name="legal_hold_org_status_idx")]

    def __str__(self):
        return f"Legal hold {self.name}" + (f" ({self.reference})" if self.reference else "")

    @property
    def first_day(self):
        """The first day of texts the hold covers (UTC), or None from the beginning."""
        return self.held_from.astimezone(UTC).date() if self.held_from else None

    @property
    def last_day(self):
        """The last day of texts the hold covers (UTC; `held_until` is midnight after it), or None: ongoing."""
        return (self.held_until.astimezone(UTC) - timedelta(days=1)).date() if self.held_until else None

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class LegalHoldUser(models.Model):
    """A custodian user: every text they sent (their `Message.user`) in the hold's range is held."""

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="custodian_users")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hold", "user"], name="legal_hold_user_once")]

    def __str__(self):
        return f"{self.user} under {self.hold}"


class LegalHoldNumber(models.Model):
    """A custodian number: every text in or out through it (`Message.business_number`) in the hold's range is held.
    The E.164 is copied so the hold still matches the number's texts if the number leaves the portal."""

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="custodian_numbers")
    number = models.ForeignKey(PhoneNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    e164 = models.CharField(max_length=16, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hold", "e164"], name="legal_hold_number_once")]

    def __str__(self):
        return f"{self.e164} under {self.hold}"
