"""The registration case, the numbers it covers and its timeline."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from provisioning.models import PhoneNumber

# SPEC.md 4: "The whole process takes about four weeks". A case open longer than this is overdue.
CASE_DURATION = timedelta(days=28)
# A case that only adds or removes numbers registers nothing: support acts within a day or two and the carrier
# answers in about two hours (SPEC.md 8). Open longer than this, it is overdue.
NUMBERS_CASE_DURATION = timedelta(days=3)


class CaseState(models.TextChoices):
    """Where a registration case is in its life (see RegistrationCase.TRANSITIONS)."""

    OPENED = "opened", _("Opened")
    FORM_SENT = "form_sent", _("Form sent")
    FORM_SUBMITTED = "form_submitted", _("Form submitted")
    BRAND_SUBMITTED = "brand_submitted", _("Brand submitted")
    BRAND_APPROVED = "brand_approved", _("Brand approved")
    BRAND_REJECTED = "brand_rejected", _("Brand rejected")
    CAMPAIGN_SUBMITTED = "campaign_submitted", _("Campaign submitted")
    CAMPAIGN_APPROVED = "campaign_approved", _("Campaign approved")
    CAMPAIGN_REJECTED = "campaign_rejected", _("Campaign rejected")
    NUMBERS_ASSIGNED = "numbers_assigned", _("Numbers assigned")
    REMOVING_NUMBERS = "removing_numbers", _("Removing numbers")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class CaseKind(models.TextChoices):
    """What a case asks for, offered by the Open case page from what the organisation already has (SPEC.md 8)."""

    FIRST_REGISTRATION = "first_registration", _("First registration: brand and campaign")
    NEW_CAMPAIGN = "new_campaign", _("New campaign under the approved brand")
    ADD_NUMBERS = "add_numbers", _("Add numbers to an approved campaign")
    REMOVE_NUMBERS = "remove_numbers", _("Remove numbers from a campaign")
    RESUBMIT = "resubmit", _("Correct and resubmit a campaign")


# Cases that only move numbers in or out of a campaign; the others go through the registration form.
NUMBER_ONLY_KINDS = (CaseKind.ADD_NUMBERS.value, CaseKind.REMOVE_NUMBERS.value)
FORM_KINDS = frozenset(kind for kind in CaseKind.values if kind not in NUMBER_ONLY_KINDS)


def overdue_condition(now) -> Q:
    """Cases opened longer ago than their kind takes (four weeks to register, three days to move numbers); combine
    with the open states to find the overdue ones."""
    return Q(kind__in=NUMBER_ONLY_KINDS, opened_at__lt=now - NUMBERS_CASE_DURATION) | (
        ~Q(kind__in=NUMBER_ONLY_KINDS) & Q(opened_at__lt=now - CASE_DURATION)
    )


CLOSED_CASE_STATES = (CaseState.COMPLETED.value, CaseState.CANCELLED.value)
OPEN_CASE_STATES = tuple(s.value for s in CaseState if s.value not in CLOSED_CASE_STATES)


def _cancellable(table: dict, open_states: frozenset, cancelled: str) -> dict:
    """The table with "→ cancelled" added to every open state: a case can be cancelled until it is closed."""
    return {state: targets | {cancelled} if state in open_states else targets for state, targets in table.items()}


class RegistrationCase(models.Model):
    """A Cisco Calling Plan support case that registers an organisation's authorised numbers for 10DLC texting.

    Its state changes only through `compliance.actions.transition`, which follows `TRANSITIONS` under a row lock.
    """

    State = S = CaseState  # S: short for the table below
    # The case's life, declared once. Every open state may also be cancelled (added below).
    # - A rejected brand or campaign returns the form to the customer, who corrects it and submits it again.
    # - form_submitted → campaign_submitted is allowed only when the brand is already approved (the form came back
    #   after a *campaign* rejection): registering the same brand twice would be billed twice.
    # - numbers_assigned: support asked the carrier to put the numbers in the campaign; the case completes (and the
    #   numbers become *registered in campaign*) when the carrier confirms.
    # - The kind of case decides which way it goes (compliance.actions.cases.GUARDS): adding numbers to an approved
    #   campaign goes straight from opened to numbers assigned, removing them to removing numbers; only a first
    #   registration submits a brand; a resubmitted campaign without new numbers completes when it is approved.
    TRANSITIONS: dict[str, frozenset[str]] = {
        S.OPENED: frozenset({S.FORM_SENT, S.NUMBERS_ASSIGNED, S.REMOVING_NUMBERS}),
        S.FORM_SENT: frozenset({S.FORM_SUBMITTED}),
        S.FORM_SUBMITTED: frozenset({S.BRAND_SUBMITTED, S.CAMPAIGN_SUBMITTED}),
        S.BRAND_SUBMITTED: frozenset({S.BRAND_APPROVED, S.BRAND_REJECTED}),
        S.BRAND_APPROVED: frozenset({S.CAMPAIGN_SUBMITTED}),
        S.BRAND_REJECTED: frozenset({S.FORM_SUBMITTED}),
        S.CAMPAIGN_SUBMITTED: frozenset({S.CAMPAIGN_APPROVED, S.CAMPAIGN_REJECTED}),
        S.CAMPAIGN_APPROVED: frozenset({S.NUMBERS_ASSIGNED, S.COMPLETED}),
        S.CAMPAIGN_REJECTED: frozenset({S.FORM_SUBMITTED}),
        S.NUMBERS_ASSIGNED: frozenset({S.COMPLETED}),
        S.REMOVING_NUMBERS: frozenset({S.COMPLETED}),
        S.COMPLETED: frozenset(),
        S.CANCELLED: frozenset(),
    }
    CLOSED_STATES = frozenset(CLOSED_CASE_STATES)
    OPEN_STATES = frozenset(OPEN_CASE_STATES)
    TRANSITIONS = _cancellable(TRANSITIONS, OPEN_STATES, S.CANCELLED)

    # Why a transition into a state was refused, completing "This case is in 'X': ...".
    REFUSALS = {
        S.OPENED: _("a case cannot be opened again"),
        S.FORM_SENT: _("the registration form is sent once, right after the case is opened"),
        S.FORM_SUBMITTED: _("the form can be submitted only after support sent it, or after the carrier rejected it"),
        S.BRAND_SUBMITTED: _("a brand can be submitted only after the customer submitted the form"),
        S.BRAND_APPROVED: _("a brand cannot be approved before it was submitted"),
        S.BRAND_REJECTED: _("a brand cannot be rejected before it was submitted"),
        S.CAMPAIGN_SUBMITTED: _("a campaign can be submitted only once the brand is approved"),
        S.CAMPAIGN_APPROVED: _("a campaign cannot be approved before it was submitted"),
        S.CAMPAIGN_REJECTED: _("a campaign cannot be rejected before it was submitted"),
        S.NUMBERS_ASSIGNED: _("numbers can be assigned only to an approved campaign"),
        S.REMOVING_NUMBERS: _("numbers are removed from a campaign only by a case that asks for it"),
        S.COMPLETED: _("a case completes only when the carrier confirms its numbers are assigned"),
        S.CANCELLED: _("a completed or cancelled case cannot be cancelled"),
    }
    # States in which the customer may edit the registration form (a draft, or a form the carrier returned).
    CUSTOMER_EDITABLE_STATES = frozenset({S.FORM_SENT, S.BRAND_REJECTED, S.CAMPAIGN_REJECTED})
    # States in which the portal waits for the carrier (polled by `compliance.tasks.poll_open_registrations`).
    CARRIER_STATES = frozenset({S.BRAND_SUBMITTED, S.CAMPAIGN_SUBMITTED, S.NUMBERS_ASSIGNED, S.REMOVING_NUMBERS})
    # States that need the customer to act: each sends the case contact an email.
    CUSTOMER_ACTION_STATES = frozenset({S.FORM_SENT, S.BRAND_REJECTED, S.CAMPAIGN_REJECTED, S.COMPLETED})

    Kind = CaseKind
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="registration_cases")
    kind = models.CharField(_("Kind"), max_length=20, choices=CaseKind.choices, default=CaseKind.FIRST_REGISTRATION)
    # The organisation's long-lived registration this case creates, extends or corrects (set when known: a first
    # registration gets its brand when support submits it).
    brand = models.ForeignKey("compliance.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="cases")
    campaign = models.ForeignKey(
        "compliance.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    # Support's side: who works the case, and whether the customer wrote or submitted since support last looked.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_cases"
    )
    unread_by_support = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPENED)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    state_changed = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Whom support and the notifications address about this case.
    contact_name = models.CharField(max_length=200)
    contact_email = models.EmailField()
    contact_phone = models.CharField(max_length=40, blank=True)
    note = models.TextField(_("Note for support"), blank=True, max_length=2000)

    # The carrier side. A *round* counts this case's submissions of the brand (or campaign): a corrected form is a new
    # round with its own reference, kept on the Brand / Campaign with the attempts made under it, so a retry
    # reconciles by reference first. The registry's answers live on the Brand and Campaign, which outlive the case.
    brand_round = models.PositiveIntegerField(default=0)
    campaign_round = models.PositiveIntegerField(default=0)
    # The last carrier failure that needs support's attention (cleared when the carrier next answers).
    carrier_problem = models.CharField(max_length=500, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=OPEN_CASE_STATES + CLOSED_CASE_STATES), name="case_state_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(closed_at__isnull=True, state__in=OPEN_CASE_STATES)
                    | Q(closed_at__isnull=False, state__in=CLOSED_CASE_STATES)
                ),
                name="case_closed_iff_terminal",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-opened_at"], name="case_org_opened_idx"),
            models.Index(fields=["state", "opened_at"], name="case_state_opened_idx"),
            models.Index(fields=["kind", "state"], name="case_kind_state_idx"),
        ]

    def __str__(self):
        return f"Case #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def expected_duration(self) -> timedelta:
        return NUMBERS_CASE_DURATION if self.kind in NUMBER_ONLY_KINDS else CASE_DURATION

    @property
    def expected_days(self) -> int:
        return self.expected_duration.days

    @property
    def overdue_days(self) -> int:
        return self.age_days - self.expected_days

    @property
    def expected_completion(self):
        return self.opened_at + self.expected_duration

    def age(self, now=None):
        return (self.closed_at or now or timezone.now()) - self.opened_at

    @property
    def age_days(self) -> int:
        return self.age().days

    @property
    def is_overdue(self) -> bool:
        return self.is_open and timezone.now() > self.expected_completion

    @property
    def customer_may_edit_form(self) -> bool:
        return self.state in self.CUSTOMER_EDITABLE_STATES

    @property
    def waits_for_carrier(self) -> bool:
        return self.state in self.CARRIER_STATES

    @property
    def brand_is_approved(self) -> bool:
        return self.brand_id is not None and self.brand.is_approved

    @property
    def campaign_registry_id(self) -> str:
        """The registry id of the case's campaign ("" before the registry gave one)."""
        return self.campaign.registry_id if self.campaign_id else ""

    @property
    def asks_for_form(self) -> bool:
        """Cases that register something (a brand, a campaign) go through the registration form; cases that only
        move numbers do not."""
        return self.kind in FORM_KINDS

    # The references the carrier knows this case's registrations by (also their idempotency keys).
    @property
    def brand_reference(self) -> str:
        return f"case-{self.pk}-brand-{self.brand_round}"

    @property
    def campaign_reference(self) -> str:
        return f"case-{self.pk}-campaign-{self.campaign_round}"


class CaseNumber(models.Model):
    """A number the case registers. `is_open` marks the numbers of open cases: the database lets a number be in at
    most one open case (a partial unique index), so two cases opened at once cannot both take it."""

    case = models.ForeignKey(RegistrationCase, on_delete=models.CASCADE, related_name="case_numbers")
    number = models.ForeignKey(PhoneNumber, on_delete=models.PROTECT, related_name="registration_case_lines")
    is_open = models.BooleanField(default=True)

    class Meta:
        ordering = ["case", "number__e164"]
        constraints = [
            models.UniqueConstraint(fields=["case", "number"], name="case_number_once_per_case"),
            models.UniqueConstraint(fields=["number"], condition=Q(is_open=True), name="case_number_in_one_open_case"),
        ]

    def __str__(self):
        return f"{self.number} in case #{self.case_id}"


class CaseEvent(models.Model):
    """One entry of a case's timeline: a state change, a message between the customer and support, an internal
    support note (never shown to the customer) or something the carrier did."""

    class Kind(models.TextChoices):
        TRANSITION = "transition", _("State change")
        MESSAGE = "message", _("Message")
        INTERNAL_NOTE = "internal_note", _("Internal note")
        CARRIER = "carrier", _("Carrier")

    case = models.ForeignKey(RegistrationCase, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who, as shown: kept even if the user is deleted. Empty: the portal itself or the carrier.
    actor_name = models.CharField(max_length=200, blank=True)
    by_support = models.BooleanField(default=False)
    from_state = models.CharField(max_length=20, blank=True, choices=RegistrationCase.State.choices)
    to_state = models.CharField(max_length=20, blank=True, choices=RegistrationCase.State.choices)
    text = models.TextField(blank=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["case", "kind", "created"], name="case_event_case_kind_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="transition") | ~Q(to_state=""), name="case_event_transition_has_state"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on case #{self.case_id}"

    @property
    def customer_visible(self) -> bool:
        return self.kind != self.Kind.INTERNAL_NOTE
