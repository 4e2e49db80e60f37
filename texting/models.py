"""Business text messages, the organisation's Business Texting switch, the opt-out registry, suspensions by Cisco,
API tokens and the purge log.

Nothing references `Message` with a foreign key: the retention purge drops whole day partitions and deletes the rest
with plain SQL in batches (Django's Python-side cascades never run), so a foreign key to a message would make both
fail; on PostgreSQL the table is partitioned by day (texting.partitions).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from provisioning.phone import display_tn


class ServiceSettings(models.Model):
    """Calling → Service Settings: the organisation-wide Business Texting switch (SPEC.md 2). Off by default;
    created the first time someone looks. Off stops sending; nothing is deleted."""

    organisation = models.OneToOneField(Organisation, on_delete=models.CASCADE, related_name="texting_settings")
    business_texting_enabled = models.BooleanField(default=False)
    changed = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")

    def __str__(self):
        if self.business_texting_enabled:
            return gettext("Business Texting on for %(org)s") % {"org": self.organisation}
        return gettext("Business Texting off for %(org)s") % {"org": self.organisation}

    @classmethod
    def for_organisation(cls, org: Organisation) -> "ServiceSettings":
        """The organisation's settings; the defaults (off), unsaved, where nobody has changed them yet: reading a page
        writes nothing."""
        return cls.objects.filter(organisation=org).first() or cls(organisation=org)


class BlockReason(models.TextChoices):
    """Why a text was refused. The value is the machine-readable `reason` the API answers with."""

    NO_ADDON_LICENCE = "no_addon_licence", _("No Business Texting Add-On licence")
    TEXTING_DISABLED = "texting_disabled", _("Business Texting switched off")
    NOT_PRIMARY_NUMBER = "not_primary_number", _("Not the user's primary number")
    NUMBER_NOT_REGISTERED = "number_not_registered", _("Number not registered in a campaign")
    CAMPAIGN_SUSPENDED = "campaign_suspended", _("Campaign suspended")
    CAMPAIGN_EXPIRED = "campaign_expired", _("Campaign expired")
    APP_VERSION_TOO_OLD = "app_version_too_old", _("Webex App too old")
    INVALID_DESTINATION = "invalid_destination", _("Invalid destination")
    INTERNATIONAL_DESTINATION = "international_destination", _("International destination")
    INVALID_SENDER = "invalid_sender", _("Invalid sender")
    INTERNATIONAL_SENDER = "international_sender", _("International sender")
    MEDIA_NOT_SUPPORTED = "media_not_supported", _("Media (MMS) not supported")
    EMPTY_BODY = "empty_body", _("Empty text")
    BODY_TOO_LONG = "body_too_long", _("Text too long")
    RECIPIENT_OPTED_OUT = "recipient_opted_out", _("Recipient opted out")
    SUSPENDED_BY_CISCO = "suspended_by_cisco", _("Suspended by Cisco")
    DAILY_CAP_EXCEEDED = "daily_cap_exceeded", _("Daily cap reached")
    BURST_LIMIT_EXCEEDED = "burst_limit_exceeded", _("Burst limit reached")
    CAMPAIGN_RATE_LIMITED = "campaign_rate_limited", _("Campaign per-minute limit reached")
    BRAND_DAILY_CAP_REACHED = "brand_daily_cap_reached", _("Brand daily cap reached")


class MessageQuerySet(models.QuerySet):
    def in_flight(self, now=None):
        """Texts young enough to still be moving: being sent, awaiting a carrier's status, or redelivered by the
        carrier (IN_FLIGHT_DAYS). Every lookup of a text by id or carrier id goes through this window, so that
        PostgreSQL reads a week of day partitions rather than all of them (texting.partitions)."""
        return self.filter(created_at__gte=(now or timezone.now()) - Message.IN_FLIGHT)


class Message(models.Model):
    """One business text, in or out, including every refused one (status *blocked* with its reason)."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("Outbound")
        INBOUND = "inbound", _("Inbound")

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        BLOCKED = "blocked", _("Blocked")
        RECEIVED = "received", _("Received")

    # An outbound text's life after the policy accepted it; `texting.actions.set_message_status` refuses the rest.
    # Blocked and received texts never change.
    TRANSITIONS = {
        Status.ACCEPTED: {Status.SENT, Status.DELIVERED, Status.FAILED},
        Status.SENT: {Status.DELIVERED, Status.FAILED},
        Status.DELIVERED: set(),
        Status.FAILED: set(),
        Status.BLOCKED: set(),
        Status.RECEIVED: set(),
    }
    FINAL_STATUSES = (Status.DELIVERED, Status.FAILED, Status.BLOCKED, Status.RECEIVED)

    class Encoding(models.TextChoices):
        GSM7 = "gsm7", "GSM-7"
        UCS2 = "ucs2", "UCS-2"

    # No index of its own: message_org_created_idx (organisation, created_at) serves every lookup by organisation, and
    # one index fewer is one fewer for every text written and for every day partition made and dropped.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="texts", db_index=False)
    # The texting user (outbound); empty for inbound texts and automatic replies (STOP / HELP).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="texts"
    )
    # Ours, E.164 (or, for a refused request, whatever number the sender tried).
    business_number = models.CharField(max_length=40, blank=True)
    # The other party: recipient of an outbound text, sender of an inbound one. E.164 when valid; a refused
    # destination is stored as given (trimmed) so the admin sees what was tried.
    other_party = models.CharField(max_length=40)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    body = models.TextField(blank=True)
    encoding = models.CharField(max_length=4, choices=Encoding.choices, default=Encoding.GSM7)
    segments = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices)
    blocked_reason = models.CharField(max_length=32, choices=BlockReason.choices, blank=True)
    # In words: why it was blocked, or why the carrier failed it.
    status_detail = models.CharField(max_length=300, blank=True)
    # STOP/HELP confirmations the portal sent on the organisation's behalf.
    is_automatic_reply = models.BooleanField(default=False)
    carrier_message_id = models.CharField(max_length=64, blank=True)
    # The timestamp the 400-day retention runs on.
    created_at = models.DateTimeField(default=timezone.now)
    status_changed = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    # A carrier answers a send at once and reports a final status within 72 hours; a text still not final after a
    # week is abandoned (its send and poll tasks find nothing to do), and a webhook redelivered after a week is new.
    IN_FLIGHT = timedelta(days=7)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="blocked", blocked_reason__gt="") | (~Q(status="blocked") & Q(blocked_reason="")),
                name="message_blocked_has_reason",
            ),
        ]
        indexes = [
            # The retention purge walks this index in order (`created_at < cutoff ORDER BY created_at LIMIT n`).
            models.Index(fields=["created_at"], name="message_created_idx"),
            # The activity page: one organisation's texts over a period (per day, by reason, recent).
            models.Index(fields=["organisation", "created_at"], name="message_org_created_idx"),
            # Per-number views and the per-number volume counted without Redis.
            models.Index(fields=["business_number", "created_at"], name="message_number_created_idx"),
            # A text by its carrier message id (a redelivered inbound webhook, a carrier's status report). Not unique:
            # on PostgreSQL the table is partitioned by day (texting.partitions) and a unique index would have to
            # include created_at; receiving a text serialises redeliveries with an advisory lock instead.
            models.Index(
                fields=["carrier_message_id", "direction"],
                condition=~Q(carrier_message_id=""),
                name="message_carrier_id_idx",
            ),
            # Status polling: outbound texts still waiting for their final status.
            models.Index(
                fields=["status", "status_changed"],
                name="message_status_idx",
                condition=Q(status__in=["accepted", "sent"]),
            ),
        ]

    def __str__(self):
        arrow = "→" if self.direction == self.Direction.OUTBOUND else "←"
        return gettext("Text #%(id)s %(ours)s %(arrow)s %(party)s") % {
            "id": self.pk,
            "ours": display_tn(self.business_number),
            "arrow": arrow,
            "party": display_tn(self.other_party),
        }

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        self._stored_created_at = self.created_at

    # On PostgreSQL the table is partitioned by day (texting.partitions). A text is read, locked or saved by its id
    # together with the day it lives in, so PostgreSQL plans for one partition, not ~415 (by id alone: 50-170 ms of
    # planning measured over 435 partitions; with the day: under 5 ms). A saved or loaded text remembers the
    # created_at it was stored with; its saves and reloads name it.
    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_created_at = instance.__dict__.get("created_at")
        return instance

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        stored = getattr(self, "_stored_created_at", None)
        if stored is not None:
            base_qs = base_qs.filter(created_at=stored)
        return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        stored = getattr(self, "_stored_created_at", None)
        if from_queryset is None and stored is not None:
            from_queryset = type(self)._base_manager.filter(created_at=stored)
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    @property
    def reference(self) -> str:
        """Our reference at the carrier, and the idempotency key of the send: one carrier message per text."""
        return f"texting-message-{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL_STATUSES


class OptOut(models.Model):
    """One entry of the organisation's opt-out registry: a party no outbound text from the organisation reaches.

    Most come from a STOP (or CTIA synonym) texted to one of the organisation's numbers (source *keyword*); a full
    administrator may also add one by hand (*manual*) or import a do-not-text list (*import*), each with a reason.
    One row per party: it ends when the party texts START (`opted_in_at` set) or an administrator removes it
    (`opted_in_at` set too, with `removed_by` and `removal_reason`); opting out again reuses the row. The history of
    every change is in the audit log."""

    class Source(models.TextChoices):
        KEYWORD = "keyword", _("STOP keyword")
        MANUAL = "manual", _("Added by an administrator")
        IMPORT = "import", _("Imported do-not-text list")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="opt_outs")
    party = models.CharField(max_length=16)
    # The business number the STOP reached, and the keyword used (empty for manual and imported entries).
    business_number = models.CharField(max_length=16, blank=True)
    keyword = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.KEYWORD)
    # Why an administrator added it (manual, import); empty for a STOP.
    reason = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opted_out_at = models.DateTimeField(default=timezone.now)
    # When the entry stopped applying: the party texted START, or an administrator removed it.
    opted_in_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removal_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-opted_out_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "party"], name="opt_out_one_per_party")]
        indexes = [models.Index(fields=["organisation", "opted_in_at", "-opted_out_at"], name="opt_out_active_idx")]

    def __str__(self):
        return gettext("%(number)s opted out of %(org)s") % {"number": display_tn(self.party), "org": self.organisation}

    @property
    def is_active(self) -> bool:
        return self.opted_in_at is None

    @property
    def was_removed(self) -> bool:
        """Ended by an administrator (not by the party's START)."""
        return self.opted_in_at is not None and bool(self.removal_reason)


class Suspension(models.Model):
    """Cisco PSTN support suspended texting for a whole organisation (`number` empty) or for one of its numbers,
    with a reason the customer sees; lifting it keeps the row (who, when, why) for history.

    Kept here, on the texting side, rather than as columns of `provisioning.PhoneNumber`: a suspension is abuse
    handling by Cisco, not part of a number's authorisation and 10DLC life (its texting state machine), it also
    exists for whole organisations, and its history (several suspensions of one number over time) needs rows of its
    own. The sending policy reads the active ones (texting.policy)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="texting_suspensions")
    # Empty: the whole organisation. A number that is deleted takes its suspensions with it.
    number = models.ForeignKey(
        "provisioning.PhoneNumber", null=True, blank=True, on_delete=models.CASCADE, related_name="suspensions"
    )
    reason = models.CharField(max_length=300)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lift_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-suspended_at", "-id"]
        constraints = [
            # At most one active suspension of an organisation as a whole, and one of each number.
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(number__isnull=True, lifted_at__isnull=True),
                name="suspension_one_active_per_organisation",
            ),
            models.UniqueConstraint(
                fields=["number"],
                condition=Q(number__isnull=False, lifted_at__isnull=True),
                name="suspension_one_active_per_number",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "lifted_at"], name="suspension_org_active_idx")]

    def __str__(self):
        what = display_tn(self.number.e164) if self.number_id else str(self.organisation)
        return gettext("Texting suspended for %(what)s") % {"what": what}

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


def hash_token(token: str) -> str:
    """Tokens are long random strings, so one SHA-256 is enough (no need for a slow password hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(models.Model):
    """A user's key to the messaging API (what the Webex App would hold). Only the hash is stored; the token is
    shown once, when an administrator issues it."""

    PREFIX = "thx_"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="texting_api_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="texting_api_tokens")
    label = models.CharField(max_length=100, blank=True)
    # The first characters of the token, so admins can tell tokens apart without seeing them.
    hint = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "-created"], name="api_token_org_idx")]

    def __str__(self):
        return gettext("API token %(hint)s… of %(user)s") % {"hint": self.hint, "user": self.user}

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PurgeRun(models.Model):
    """One run of the retention purge (nightly task or `manage.py purge_expired_messages`)."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped after the batch limit (the next run continues)")
        SKIPPED = "skipped", _("Skipped: another purge was running")
        INTERRUPTED = "interrupted", _("Interrupted (the next run continued)")
        FAILED = "failed", _("Failed")

    cutoff = models.DateTimeField()
    retention_days = models.PositiveIntegerField()
    started = models.DateTimeField(default=timezone.now)
    finished = models.DateTimeField(null=True, blank=True)
    rows_deleted = models.PositiveBigIntegerField(default=0)
    # Dry run: how many messages were older than the cutoff (and would have been deleted).
    rows_matched = models.PositiveBigIntegerField(null=True, blank=True)
    # Expired texts the run left in place because an active legal hold matched them (compliance.models.LegalHold).
    kept_by_holds = models.PositiveBigIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    # PostgreSQL: whole day partitions of expired texts dropped (texting.partitions); their rows count in
    # rows_deleted, their held texts (moved to the default partition first) in kept_by_holds.
    partitions_dropped = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField()
    longest_batch_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.CharField(max_length=300, blank=True)
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started", "-id"]

    def __str__(self):
        return f"Purge {self.started:%Y-%m-%d %H:%M} ({self.get_outcome_display()})"


class PurgeLease(models.Model):
    """The purge's lock when there is no Redis: one row per lock name, held by a token until it expires. Taking it
    is a single conditional UPDATE, which both SQLite and PostgreSQL apply atomically."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    expires = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.name} held by {self.holder or 'nobody'} until {self.expires}"
