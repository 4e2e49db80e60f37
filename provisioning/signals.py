"""Keeping the Authorize wizard's selection counters exact when numbers are deleted (provisioning.wizard).

A selection shows its own counter (`WizardSelection.selected_count`, kept by provisioning.wizard with every tick and
untick) rather than counting its rows. Deleting a number (the Django admin, Webex having removed it) deletes its rows
in every selection through Django's on_delete, which the wizard never hears of: each selection holding it would then
show one number too many. Before the number goes, this takes one off the counter of each selection that holds it."""

from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import PhoneNumber, WizardSelectedNumber, WizardSelection


@receiver(pre_delete, sender=PhoneNumber, dispatch_uid="provisioning.signals.selections_lose_a_deleted_number")
def selections_lose_a_deleted_number(sender, instance, **kwargs):
    # One UPDATE per number deleted, through the rows' number index; sent before Django deletes the rows.
    WizardSelection.objects.filter(
        pk__in=WizardSelectedNumber.objects.filter(number_id=instance.pk).values("selection_id")
    ).update(selected_count=Greatest(F("selected_count") - 1, 0))
