"""Outbound texts: a user sends one (the sending policy decides), a task hands it to the carrier, and the carrier's
answers (send answer, poll, callback) move it along its life (Message.TRANSITIONS) to *delivered* or *failed*."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from carrier import CarrierGateway, MessageStatus
from carrier import callback_url as carrier_callback
from portal import metrics
from portal.lists import parse_id
from portal.models import User, parse_version
from portal.transitions import TransitionRefused, transition
from provisioning.models import PhoneNumber

from ..models import Message, ServiceSettings
from ..policy import campaign_refusal, check_sending_policy, registrations
from ..wording import as_stored
from .suspensions import active_suspension


def send_text(user: User, *, to, body, media=None, app_version: str = "", from_number: str | None = None) -> Message:
    """A user sends a text (what the Webex App does through the API).

    Guarantees: the text is stored either way — *accepted* (and handed to the carrier by a Celery task after commit)
    or *blocked* with the first policy rule it broke (texting.policy), its words stored in English. A blocked text
    comes back with `refusal_detail`, the same words in whatever language is active when they are read (the API
    answers in its caller's). Raises policy.ForeignNumber (nothing stored) when the sender names another
    organisation's number, and volume.CountersUnavailable when Redis is down.
    """
    now = timezone.now()
    decision = check_sending_policy(
        user,
        to=to,
        body=body,
        media=media,
        app_version=app_version,
        from_number=from_number,
        now=now,
    )
    refusal = decision.refusal
    with transaction.atomic():
        message = Message.objects.create(
            organisation_id=user.organisation_id,
            user=user,
            business_number=decision.business_number,
            other_party=decision.other_party,
            direction=Message.Direction.OUTBOUND,
            body=body if isinstance(body, str) else "",
            encoding=decision.segments.encoding,
            segments=decision.segments.segments,
            status=Message.Status.BLOCKED if refusal else Message.Status.ACCEPTED,
            blocked_reason=refusal.reason if refusal else "",
            status_detail=as_stored(refusal.detail)[:300] if refusal else "",
            created_at=now,
            status_changed=now,
        )
        if refusal is None:
            transaction.on_commit(lambda: enqueue_send(message.pk), robust=True)
        _remember_app_version(user, app_version)
    if refusal:
        message.refusal_detail = refusal.detail
        metrics.texts_blocked.labels("outbound", refusal.reason).inc()
    return message


def _remember_app_version(user: User, app_version: str) -> None:
    """Keep the version the user's Webex App reports on the user, so the Business Texting checklist counts users on
    an outdated app from what their apps say (only a well-formed version that differs from the stored one)."""
    version = (app_version or "").strip()
    if parse_version(version) and version != user.webex_app_version:
        User.objects.filter(pk=user.pk).update(webex_app_version=version)
        user.webex_app_version = version


def enqueue_send(message_id: int) -> None:
    """Queue an accepted text for the carrier (call it after commit). Imported late: the tasks import the actions."""
    from ..tasks import send_message

    send_message.delay(message_id)


def hand_to_carrier(message_id: int, gateway: CarrierGateway) -> Message:
    """Send an accepted text to the carrier, once (or fail it, unsent, if Business Texting was switched off since).

    A text whose number or organisation Cisco PSTN support suspended meanwhile fails unsent, with the reason.
    Idempotent: a text that already has a carrier id, or is no longer *accepted*, is left alone; the idempotency key
    is the text's reference, so a retry after CarrierUnavailable (the send may or may not have happened) gets the
    carrier's first answer instead of a second text. Raises CarrierUnavailable / CarrierRejected for the task.
    """
    message = Message.objects.in_flight().select_related("organisation").get(pk=message_id)
    if message.status != Message.Status.ACCEPTED or message.carrier_message_id:
        return message
    if not ServiceSettings.objects.filter(
        organisation_id=message.organisation_id, business_texting_enabled=True
    ).exists():
        # Switched off while the text waited (say, a carrier outage): off means nothing more goes out.
        return set_message_status(
            message_id,
            Message.Status.FAILED,
            detail=_("Not sent: Business Texting was switched off for %(org)s before it went out.")
            % {"org": message.organisation.name},
        )
    suspension = active_suspension(message.organisation_id, message.business_number)
    if suspension is not None:
        # Suspended by Cisco while the text waited: nothing more goes out from what support stopped.
        return set_message_status(
            message_id,
            Message.Status.FAILED,
            detail=_("Not sent: Cisco PSTN support suspended texting before it went out: %(reason)s")
            % {"reason": suspension.reason},
        )
    stopped = _campaign_stopped(message)
    if stopped:
        # Suspended or expired while the text waited: a stopped campaign's numbers send nothing more (SPEC.md 8).
        return set_message_status(message_id, Message.Status.FAILED, detail=stopped)
    result = gateway.send_message(
        reference=message.reference,
        sender=message.business_number,
        recipient=message.other_party,
        body=message.body,
        idempotency_key=message.reference,
        callback_url=carrier_callback("texting:carrier_message_callback"),
    )
    metrics.texts_sent.inc()
    apply_carrier_status(result)
    message.refresh_from_db()
    return message


def _campaign_stopped(message: Message) -> str:
    """Why the campaign of the text's number no longer lets it send (in words), or "" when it does or there is none."""
    number = PhoneNumber.objects.filter(e164=message.business_number).first()
    campaign = registrations.sending_campaign(number) if number is not None else None
    if campaign is None or campaign.is_usable:
        return ""
    return _("Not sent: %(why)s") % {"why": campaign_refusal(campaign, number.e164)[1]}


# The carrier's words for a text's status, in ours ("queued" means accepted: nothing changes).
CARRIER_STATUS = {"sent": Message.Status.SENT, "delivered": Message.Status.DELIVERED, "failed": Message.Status.FAILED}


def apply_carrier_status(result: MessageStatus) -> bool:
    """Apply what the carrier says about one of our texts (send answer, poll or callback); True if it changed.

    Idempotent and order-insensitive: a duplicate or late callback (say *sent* after *delivered*) changes nothing.
    Texts are matched by our reference, so a callback that overtakes the send answer still finds its text.
    """
    message_id = _message_id_from_reference(result.reference)
    with transaction.atomic():
        qs = Message.objects.in_flight().select_for_update().filter(direction=Message.Direction.OUTBOUND)
        message = qs.filter(pk=message_id).first() if message_id else None
        if message is None and result.message_id:
            message = qs.filter(carrier_message_id=result.message_id).first()
        if message is None:
            return False
        changed = False
        if not message.carrier_message_id and result.message_id:
            message.carrier_message_id = result.message_id
            message.save(update_fields=["carrier_message_id"])
            changed = True
        target = CARRIER_STATUS.get(result.status)
        if target is None or target == message.status or target not in Message.TRANSITIONS[message.status]:
            return changed
        set_message_status(message.pk, target, detail=result.reason if target == Message.Status.FAILED else "")
        return True


def _message_id_from_reference(reference: str) -> int | None:
    prefix = "texting-message-"
    return parse_id(reference[len(prefix) :]) if reference and reference.startswith(prefix) else None


def set_message_status(message_id: int, to: str, *, detail: str = "") -> Message:
    """Move a text along its life (Message.TRANSITIONS) under a row lock; refuse anything else with
    TransitionRefused, changing nothing. Moving a text to the status it has changes nothing."""
    with transaction.atomic():
        message, _ = transition(
            Message.objects.in_flight(),
            message_id,
            to,
            table=Message.TRANSITIONS,
            changes={"status_changed": timezone.now(), "status_detail": detail[:300]},
            repeat_is_harmless=True,
        )
        return message


def fail_undeliverable(message_id: int, detail: str) -> Message | None:
    """Give up on a text the carrier never took (after the task's last retry): *failed*, with the reason in words.
    A text that meanwhile moved on is left alone."""
    try:
        return set_message_status(message_id, Message.Status.FAILED, detail=detail)
    except TransitionRefused:
        return None
