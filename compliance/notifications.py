"""Emails to a case's contact when the case needs them to act (the form was sent or returned) or is complete, and to
support when the customer wrote or submitted something (`notify_support`)."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal.models import User

from .models import RegistrationCase

log = logging.getLogger(__name__)

State = RegistrationCase.State

SUBJECTS = {
    State.FORM_SENT: _("Action needed: complete the 10DLC registration form for case #{pk}"),
    State.BRAND_REJECTED: _("Action needed: the registry rejected your brand (case #{pk})"),
    State.CAMPAIGN_REJECTED: _("Action needed: the registry rejected your campaign (case #{pk})"),
    State.COMPLETED: _("Your numbers are registered for business texting (case #{pk})"),
}
# A completed case that registered no numbers (a corrected campaign) or took them out says what it did.
COMPLETED_SUBJECTS = {
    RegistrationCase.Kind.REMOVE_NUMBERS: _("Your numbers left the campaign (case #{pk})"),
    "no numbers": _("Your corrected campaign is active again (case #{pk})"),
}


def language_of(user: User | None) -> str:
    """The language an e-mail to `user` is written in: the one they chose in the portal (User.language, when the
    portal has it), else the portal's default. Never the language of whoever caused the e-mail: support working in
    Slovak does not write to a Canadian customer in Slovak."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def case_url(case: RegistrationCase) -> str:
    """The case page, absolute when PORTAL_BASE_URL is set (emails leave the portal)."""
    path = reverse("compliance:case", args=[case.pk])
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def notify_case_contact(case_id: int, state: str) -> bool:
    """Email the case contact about `state` (one of RegistrationCase.CUSTOMER_ACTION_STATES). Runs after the state
    change committed, so a mail failure is logged and never undoes the change. True if the mail was handed over."""
    case = RegistrationCase.objects.select_related("organisation", "opened_by").filter(pk=case_id).first()
    if case is None or state not in SUBJECTS:
        return False
    # The contact is usually the administrator who opened the case: their language.
    with translation.override(language_of(case.opened_by)):
        return _mail_case_contact(case, state)


def _mail_case_contact(case: RegistrationCase, state: str) -> bool:
    numbers = case.case_numbers.count()
    context = {"case": case, "state": state, "url": case_url(case), "numbers": numbers}
    subject = SUBJECTS[state]
    if state == State.COMPLETED and case.kind == RegistrationCase.Kind.REMOVE_NUMBERS:
        subject = COMPLETED_SUBJECTS[case.kind]
    elif state == State.COMPLETED and not numbers:
        subject = COMPLETED_SUBJECTS["no numbers"]
    try:
        send_mail(
            str(subject).format(pk=case.pk),
            render_to_string("compliance/email/case_update.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            [case.contact_email],
        )
    except Exception:  # noqa: BLE001 — any mail transport error; the case itself is already consistent
        log.exception("Could not email %s about case %s (%s)", case.contact_email, case.pk, state)
        return False
    return True


SUPPORT_SUBJECTS = {
    "message": _("Case #{pk} ({organisation}): the customer wrote a message"),
    "form": _("Case #{pk} ({organisation}): the customer submitted the registration form"),
}


def support_recipients(case: RegistrationCase) -> list[str]:
    """Who hears about the customer's activity on `case`: its owner when it has one (the person working it), else
    the SUPPORT_NOTIFICATION_EMAIL addresses (a shared support mailbox), else every active support user."""
    if case.owner is not None and case.owner.is_active and case.owner.email:
        return [case.owner.email]
    if settings.SUPPORT_NOTIFICATION_EMAIL:
        return list(settings.SUPPORT_NOTIFICATION_EMAIL)
    return list(
        User.objects.filter(role=User.Role.SUPPORT, is_active=True).exclude(email="").values_list("email", flat=True)
    )


def notify_support(case_id: int, what: str) -> bool:
    """Email support that the customer wrote a message (`what` = "message") or submitted the form ("form") on the
    case. Runs after the customer's action committed: a mail failure is logged and never undoes it."""
    case = RegistrationCase.objects.select_related("organisation", "owner").filter(pk=case_id).first()
    if case is None or what not in SUPPORT_SUBJECTS:
        return False
    recipients = support_recipients(case)
    if not recipients:
        return False
    path = reverse("compliance:support_case", args=[case.pk])
    context = {"case": case, "what": what, "url": settings.PORTAL_BASE_URL.rstrip("/") + path}
    with translation.override(language_of(case.owner)):
        return _mail_support(case, what, recipients, context)


def _mail_support(case: RegistrationCase, what: str, recipients: list[str], context: dict) -> bool:
    try:
        send_mail(
            str(SUPPORT_SUBJECTS[what]).format(pk=case.pk, organisation=case.organisation.name),
            render_to_string("compliance/email/support_activity.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    except Exception:  # noqa: BLE001 — any mail transport error; the customer's action is already stored
        log.exception("Could not email support about case %s (%s)", case.pk, what)
        return False
    return True
