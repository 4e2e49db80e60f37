"""The Business Texting demo data: Acme texts from Austin, with blocked texts, an opt-out and one expired text."""

import io

import pytest
from django.core.management import call_command

from portal.models import Organisation
from provisioning.models import PhoneNumber
from texting.models import Message, OptOut, ServiceSettings
from texting.retention import purge_expired_messages

pytestmark = pytest.mark.django_db


def test_demo_texts_are_idempotent_and_give_the_purge_something_to_do(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    acme = Organisation.objects.get(name="Acme Corp")
    counts = (
        Message.objects.count(),
        OptOut.objects.count(),
        PhoneNumber.objects.filter(
            texting_state=PhoneNumber.TextingState.REGISTERED, location__name="Austin Office"
        ).count(),
    )
    call_command("seed_demo", stdout=io.StringIO())
    assert (Message.objects.count(), OptOut.objects.count(), counts[2]) == counts

    assert ServiceSettings.objects.get(organisation=acme).business_texting_enabled
    assert 200 <= Message.objects.filter(organisation=acme).count() <= 600
    assert counts[2] == 3 and Message.objects.exclude(business_number__startswith="+1512555").count() == 0
    reasons = set(Message.objects.filter(status="blocked").values_list("blocked_reason", flat=True))
    assert {"recipient_opted_out", "international_destination"} <= reasons and len(reasons) >= 4
    assert OptOut.objects.get(organisation=acme, source="keyword").is_active
    manual = OptOut.objects.get(organisation=acme, source="manual")  # the registry shows a number added by hand
    assert manual.is_active and manual.reason and manual.added_by.email == "admin@acme.example"
    assert purge_expired_messages().rows_deleted == 1
