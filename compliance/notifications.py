"""Emails to a case's contact when the case needs them to act (the form was sent or returned) or is complete."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from .models import RegistrationCase

log = logging.getLogger(__name__)

State = RegistrationCase.State

SUBJECTS = {
    State.FORM_SENT: "Action needed: complete the 10DLC registration form for case #{pk}",
    State.BRAND_REJECTED: "Action needed: the registry rejected your brand (case #{pk})",
    State.CAMPAIGN_REJECTED: "Action needed: the registry rejected your campaign (case #{pk})",
    State.COMPLETED: "Your numbers are registered for business texting (case #{pk})",
}


def case_url(case: RegistrationCase) -> str:
    """The case page, absolute when PORTAL_BASE_URL is set (emails leave the portal)."""
    path = reverse("compliance:case", args=[case.pk])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def notify_case_contact(case_id: int, state: str) -> bool:
    """Email the case contact about `state` (one of RegistrationCase.CUSTOMER_ACTION_STATES). Runs after the state
    change committed, so a mail failure is logged and never undoes the change. True if the mail was handed over."""
    case = RegistrationCase.objects.select_related("organisation").filter(pk=case_id).first()
    if case is None or state not in SUBJECTS:
        return False
    context = {"case": case, "state": state, "url": case_url(case), "numbers": case.case_numbers.count()}
    try:
        send_mail(
            SUBJECTS[state].format(pk=case.pk),
            render_to_string("compliance/email/case_update.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [case.contact_email],
        )
    except Exception:  # noqa: BLE001 — any mail transport error; the case itself is already consistent
        log.exception("Could not email %s about case %s (%s)", case.contact_email, case.pk, state)
        return False
    return True
