"""Work the carrier gives Cisco PSTN support outside any case: a campaign suspended by an operator or expired at the
registry needs someone to contact the customer and get it corrected or renewed."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation

from .brands import Carrier


class SupportTodo(models.Model):
    """One thing support must do, listed at the top of the support queue until someone marks it done. A campaign
    event opens at most one to-do per campaign and kind while it is open (a repeated event adds nothing); when the
    carrier lifts the suspension, `resumed_at` notes it on the open to-do, which support then closes."""

    class Kind(models.TextChoices):
        CAMPAIGN_SUSPENDED = "campaign_suspended", _("Campaign suspended")
        CAMPAIGN_EXPIRED = "campaign_expired", _("Campaign expired")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="support_todos")
    campaign = models.ForeignKey(
        "compliance.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="support_todos"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The operator that raised the event; empty: the registry itself.
    carrier = models.CharField(max_length=20, choices=Carrier.choices, blank=True)
    text = models.CharField(max_length=500)
    created = models.DateTimeField(default=timezone.now)
    resumed_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created", "id"]
        indexes = [models.Index(fields=["done_at", "created"], name="support_todo_open_idx")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.text}"

    @property
    def is_open(self) -> bool:
        return self.done_at is None
