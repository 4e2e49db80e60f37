"""Locations, licences and the organisation's telephone numbers."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import ChoiceLabels, Organisation

from .phone import display_tn, validate_e164_tn

COUNTRIES = [("US", _("United States")), ("CA", _("Canada"))]


class Location(ChoiceLabels, models.Model):
    class PstnConnection(models.TextChoices):
        CISCO_CALLING_PLAN = "cisco_calling_plan", "Cisco Calling Plan"
        CLOUD_CONNECTED = "cloud_connected", _("Cloud Connected PSTN")
        PREMISES = "premises", _("Premises-based PSTN (local gateway)")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="locations")
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    city = models.CharField(max_length=100)
    state = models.CharField(_("State / province"), max_length=50)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, choices=COUNTRIES)
    time_zone = models.CharField(max_length=64)
    pstn_connection = models.CharField(max_length=32, choices=PstnConnection.choices)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="location_name_unique_in_org"),
            models.CheckConstraint(condition=Q(country__in=["US", "CA"]), name="location_country_us_or_ca"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_cisco_calling_plan(self) -> bool:
        return self.pstn_connection == self.PstnConnection.CISCO_CALLING_PLAN


class Licence(ChoiceLabels, models.Model):
    class Sku(models.TextChoices):
        CISCO_CALLING_PLAN = "cisco_calling_plan", "Cisco Calling Plan"
        BUSINESS_TEXTING_ADDON = "business_texting_addon", "Business Texting Add-On"
        WEBEX_CALLING_PROFESSIONAL = "webex_calling_professional", "Webex Calling Professional"

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        EXPIRED = "expired", _("Expired")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="licences")
    sku = models.CharField(max_length=40, choices=Sku.choices)
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    starts = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["sku"]
        constraints = [models.UniqueConstraint(fields=["organisation", "sku"], name="licence_one_per_sku")]

    def __str__(self):
        return f"{self.get_sku_display()} × {self.quantity} ({self.get_status_display()})"


class PhoneNumber(ChoiceLabels, models.Model):
    class Origin(models.TextChoices):
        NEW = "new", _("New")
        PORTED = "ported", _("Ported")
        EXISTING = "existing", _("Existing")

    class TextingState(models.TextChoices):
        NOT_AUTHORISED = "not_authorised", _("Not authorised")
        PENDING = "pending", _("Authorisation pending")
        AUTHORISED = "authorised", _("Authorised")
        FAILED = "failed", _("Authorisation failed")
        REGISTERED = "registered", _("Registered in campaign")

    e164 = models.CharField(_("Number"), max_length=16, unique=True, validators=[validate_e164_tn])
    # Indexed by number_location_state_idx (location, texting_state, e164): an index of its own would be one more for
    # every change of a number's state to write (placing an order moves 100,000 numbers to pending).
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="numbers", db_index=False)
    assigned_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers"
    )
    is_primary = models.BooleanField(_("Primary number of the user"), default=False)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.NEW)
    texting_state = models.CharField(max_length=20, choices=TextingState.choices, default=TextingState.NOT_AUTHORISED)
    texting_state_changed = models.DateTimeField(default=timezone.now)
    texting_state_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["e164"]
        constraints = [
            models.UniqueConstraint(
                fields=["assigned_user"], condition=Q(is_primary=True), name="number_one_primary_per_user"
            ),
            models.CheckConstraint(
                condition=Q(is_primary=False) | Q(assigned_user__isnull=False), name="number_primary_needs_user"
            ),
            models.CheckConstraint(condition=Q(e164__regex=r"^\+1[2-9][0-9]{9}$"), name="number_e164_nanp"),
        ]
        # Only the indexes some query uses: a state change is not a HOT update (texting_state is indexed), so each
        # index is one more entry to write per number moved (an index on texting_state alone was never chosen: every
        # query on states is scoped to a location or an organisation's locations, which the first index answers).
        indexes = [
            # The Authorize wizard and the location page list one location's numbers in a given texting state,
            # ordered by number; its leading column serves the location's foreign key too.
            models.Index(fields=["location", "texting_state", "e164"], name="number_location_state_idx"),
            # The wizard pages through a location's authorisable numbers in number order: this partial index
            # answers both its count and its ORDER BY ... LIMIT without sorting, however many numbers there are.
            models.Index(
                fields=["location", "e164"],
                condition=Q(texting_state__in=["not_authorised", "failed"]),
                name="number_authorisable_idx",
            ),
        ]

    def __str__(self):
        return self.display

    @property
    def display(self) -> str:
        return display_tn(self.e164)

    def clean(self):
        super().clean()
        if (
            self.assigned_user_id
            and self.location_id
            and self.assigned_user.organisation_id != self.location.organisation_id
        ):
            raise ValidationError({"assigned_user": _("The user belongs to another organisation.")})
        if self.is_primary and not self.assigned_user_id:
            raise ValidationError({"is_primary": _("Only a number assigned to a user can be their primary number.")})


class AuthorisableCount(models.Model):
    """How many numbers of a location can be authorised (not authorised, or failed), so the Authorize wizard shows
    "100,000 numbers can be authorised" without counting them. On PostgreSQL, statement-level triggers on the numbers
    table keep it, set-wise, in the transaction of every change (migration 0005); on SQLite it stays empty and the
    wizard counts (provisioning.queries.authorisable_count)."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, primary_key=True, related_name="+")
    numbers = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.numbers} authorisable numbers in {self.location_id}"


class AuthorisationOrder(ChoiceLabels, models.Model):
    """An order to authorise numbers of one Cisco Calling Plan location for Business Texting (SPEC.md 3).

    Placed by an administrator, sent to the carrier in chunks by a Celery task, and complete when every line has
    the carrier's answer (authorised, or failed with a reason).
    """

    class Status(models.TextChoices):
        PLACED = "placed", _("Placed")
        SUBMITTED = "submitted", _("Submitted to carrier")
        COMPLETED = "completed", _("Completed")

    # The order's life; `provisioning.actions.set_order_status` refuses anything else.
    TRANSITIONS = {
        Status.PLACED: {Status.SUBMITTED, Status.COMPLETED},
        Status.SUBMITTED: {Status.COMPLETED},
        Status.COMPLETED: set(),
    }
    OPEN_STATUSES = (Status.PLACED, Status.SUBMITTED)

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="authorisation_orders")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="authorisation_orders")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    # One per summary page shown: a second submission of the same summary (double click, reload, back) finds
    # the first order instead of creating another.
    submission_token = models.UUIDField(unique=True)
    number_count = models.PositiveIntegerField()
    created = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-created"], name="order_org_created_idx"),
            models.Index(fields=["status", "created"], name="order_status_created_idx"),
        ]

    def __str__(self):
        return f"Authorisation order #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class OrderChunk(ChoiceLabels, models.Model):
    """The slice of an order sent to the carrier in one request. Its reference doubles as idempotency key, so a
    retried or redelivered submission can never create a second carrier order."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SUBMITTED = "submitted", _("Sent to carrier")
        COMPLETED = "completed", _("Answered")

    order = models.ForeignKey(AuthorisationOrder, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    carrier_order_id = models.CharField(max_length=40, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    # A submission went unanswered (timeout): the carrier may hold this chunk. It is never failed blind; the next
    # attempt (or the periodic re-poll) looks it up by reference first.
    unconfirmed = models.BooleanField(default=False)

    class Meta:
        ordering = ["order", "index"]
        constraints = [models.UniqueConstraint(fields=["order", "index"], name="chunk_index_unique_in_order")]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"authorisation-order-{self.order_id}-chunk-{self.index}"


class OrderLine(ChoiceLabels, models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        AUTHORISED = "authorised", _("Authorised")
        FAILED = "failed", _("Failed")

    # Indexed by line_order_state_idx (order, state): an index of its own would be one more to write per line.
    order = models.ForeignKey(AuthorisationOrder, on_delete=models.CASCADE, related_name="lines", db_index=False)
    chunk = models.ForeignKey(OrderChunk, on_delete=models.CASCADE, related_name="lines")
    number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="order_lines")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    # True while the line awaits the carrier: a number is in at most one open order (enforced below).
    is_open = models.BooleanField(default=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=Q(is_open=True), name="line_number_in_one_open_order"),
            models.CheckConstraint(
                condition=(Q(is_open=True, state="pending") | Q(is_open=False) & ~Q(state="pending")),
                name="line_open_iff_pending",
            ),
        ]
        indexes = [models.Index(fields=["order", "state"], name="line_order_state_idx")]

    def __str__(self):
        return f"{self.number} in order #{self.order_id}: {self.get_state_display()}"


class WizardSelection(models.Model):
    """One run of the Authorize wizard: the numbers one administrator has ticked in one location, kept in the database
    (WizardSelectedNumber) so that ticking all 100,000 numbers of a location is one INSERT ... SELECT, not a session
    holding 100,000 ids.

    The wizard's pages carry its random `token`; only its user, in its organisation, can use it (anyone else gets a
    404). It lasts WIZARD_SELECTION_HOURS after its last change (beat: provisioning.tasks.purge_expired_selections)
    and is deleted when its order is placed.
    """

    token = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    # Kept by every change in the same transaction, under a lock of this row, so pages show the count without
    # counting 100,000 rows.
    selected_count = models.PositiveIntegerField(default=0)
    # The token of the order summary last shown for this selection; any change clears it.
    submission_token = models.UUIDField(null=True, blank=True)
    changed = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["changed"], name="wizard_selection_changed_idx")]

    def __str__(self):
        return f"Selection of {self.selected_count} numbers in {self.location_id}"

    def numbers(self):
        """The numbers ticked, as a queryset (a semi-join on this selection's rows, never a list of ids)."""
        return PhoneNumber.objects.filter(
            pk__in=WizardSelectedNumber.objects.filter(selection_id=self.pk).values("number_id")
        )


class WizardSelectedNumber(models.Model):
    """A number ticked in a wizard's selection. The pair is the primary key: no id column or sequence to feed."""

    pk = models.CompositePrimaryKey("selection_id", "number_id")
    # No foreign-key constraints in the database: rows are only ever written by INSERT ... SELECT from the numbers,
    # and 100,000 of them would cost 200,000 constraint checks at commit (several seconds); deleting a number or a
    # selection still deletes its rows (Django's on_delete). The primary key's leading column indexes `selection`.
    selection = models.ForeignKey(
        WizardSelection, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="+", db_constraint=False)

    def __str__(self):
        return f"{self.number_id} in selection {self.selection_id}"
