"""eDiscovery (SPEC.md 9): an archive of one search's business texts, built in the background by a compliance officer
and downloadable by the organisation's compliance officers until it expires."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation


class DiscoveryExport(models.Model):
    """One export of an eDiscovery search: a ZIP with the texts as CSV and JSON Lines and a manifest (counts, the
    search, the SHA-256 of each file). Queued by `compliance.actions.discovery.request_export`, written by the task
    `compliance.tasks.build_discovery_export`, deleted with its file by `delete_expired_exports` once it expires."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Building")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    # A worker that died mid-way leaves the export *running*: the task, redelivered, starts it again from the top.
    TRANSITIONS = {
        Status.QUEUED: {Status.RUNNING, Status.FAILED},
        Status.RUNNING: {Status.RUNNING, Status.READY, Status.FAILED},
        Status.READY: set(),
        Status.FAILED: set(),
    }

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="discovery_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_email = models.CharField(max_length=254, blank=True)
    # The search as the officer made it (compliance.discovery.Search.as_json): the archive holds exactly its texts.
    criteria = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    created = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Progress: texts the search matched when the build started, and texts written so far.
    total = models.PositiveBigIntegerField(null=True, blank=True)
    written = models.PositiveBigIntegerField(default=0)
    # The archive, under settings.EDISCOVERY_EXPORT_DIR; its size and SHA-256 (to check a download).
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("eDiscovery export")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "ready", "failed"]), name="discovery_export_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | (Q(expires_at__isnull=False) & ~Q(file_name="")),
                name="discovery_export_ready_has_file",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-created"], name="discovery_export_org_idx"),
            models.Index(fields=["expires_at"], name="discovery_export_expiry_idx"),
        ]

    def __str__(self):
        return f"eDiscovery export #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def is_downloadable(self) -> bool:
        return self.status == self.Status.READY and self.expires_at is not None and self.expires_at > timezone.now()

    @property
    def percent(self) -> int:
        if self.status == self.Status.READY:
            return 100
        if not self.total:
            return 0
        return min(100, round(100 * self.written / self.total))

    @property
    def path(self):
        return settings.EDISCOVERY_EXPORT_DIR / self.file_name if self.file_name else None
