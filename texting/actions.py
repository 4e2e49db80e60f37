"""What users, administrators and the carrier do with business texts. Every state change goes through here.

Texts themselves are not written to the audit log: each one is its own record (the message store). Administrators'
changes (the Business Texting switch, API tokens) are.
"""

import logging
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from carrier import CarrierGateway, MessageStatus
from carrier import callback_url as carrier_callback
from portal import audit
from portal.lists import parse_id
from portal.models import Organisation, User, parse_version
from portal.transitions import ActionRefused, TransitionRefused, transition
from provisioning.models import Licence, PhoneNumber
from provisioning.phone import normalise_tn

from .models import ApiToken, BlockReason, Message, OptOut, ServiceSettings, hash_token
from .policy import check_sending_policy
from .segments import count_segments

log = logging.getLogger(__name__)

# CTIA keywords (SPEC.md 4): a text that is exactly one of these words, in any case, with spaces around.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


class TextingError(ActionRefused):
    """The change cannot be made as asked; the message says why, in the user's words."""


class UnknownNumber(TextingError):
    """An inbound text for a number that is not one of ours."""


# --- sending ------------------------------------------------------------------------------------------------------


def send_text(user: User, *, to, body, media=None, app_version: str = "", from_number: str | None = None) -> Message:
    """A user sends a text (what the Webex App does through the API).

    Guarantees: the text is stored either way — *accepted* (and handed to the carrier by a Celery task after commit)
    or *blocked* with the first policy rule it broke (texting.policy). Raises policy.ForeignNumber (nothing stored)
    when the sender names another organisation's number, and volume.CountersUnavailable when Redis is down.
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
            status_detail=refusal.detail[:300] if refusal else "",
            created_at=now,
            status_changed=now,
        )
        if refusal is None:
            transaction.on_commit(lambda: _enqueue_send(message.pk), robust=True)
        _remember_app_version(user, app_version)
    return message


def _remember_app_version(user: User, app_version: str) -> None:
    """Keep the version the user's Webex App reports on the user, so the Business Texting checklist counts users on
    an outdated app from what their apps say (only a well-formed version that differs from the stored one)."""
    version = (app_version or "").strip()
    if parse_version(version) and version != user.webex_app_version:
        User.objects.filter(pk=user.pk).update(webex_app_version=version)
        user.webex_app_version = version


def _enqueue_send(message_id: int) -> None:
    from .tasks import send_message

    send_message.delay(message_id)


def hand_to_carrier(message_id: int, gateway: CarrierGateway) -> Message:
    """Send an accepted text to the carrier, once (or fail it, unsent, if Business Texting was switched off since).

    Idempotent: a text that already has a carrier id, or is no longer *accepted*, is left alone; the idempotency key
    is the text's reference, so a retry after CarrierUnavailable (the send may or may not have happened) gets the
    carrier's first answer instead of a second text. Raises CarrierUnavailable / CarrierRejected for the task.
    """
    message = Message.objects.select_related("organisation").get(pk=message_id)
    if message.status != Message.Status.ACCEPTED or message.carrier_message_id:
        return message
    if not ServiceSettings.objects.filter(
        organisation_id=message.organisation_id, business_texting_enabled=True
    ).exists():
        # Switched off while the text waited (say, a carrier outage): off means nothing more goes out.
        return set_message_status(
            message_id,
            Message.Status.FAILED,
            detail=(f"Not sent: Business Texting was switched off for {message.organisation.name} before it went out."),
        )
    result = gateway.send_message(
        reference=message.reference,
        sender=message.business_number,
        recipient=message.other_party,
        body=message.body,
        idempotency_key=message.reference,
        callback_url=carrier_callback("texting:carrier_message_callback"),
    )
    apply_carrier_status(result)
    message.refresh_from_db()
    return message


# The carrier's words for a text's status, in ours ("queued" means accepted: nothing changes).
CARRIER_STATUS = {"sent": Message.Status.SENT, "delivered": Message.Status.DELIVERED, "failed": Message.Status.FAILED}


def apply_carrier_status(result: MessageStatus) -> bool:
    """Apply what the carrier says about one of our texts (send answer, poll or callback); True if it changed.

    Idempotent and order-insensitive: a duplicate or late callback (say *sent* after *delivered*) changes nothing.
    Texts are matched by our reference, so a callback that overtakes the send answer still finds its text.
    """
    message_id = _message_id_from_reference(result.reference)
    with transaction.atomic():
        qs = Message.objects.select_for_update().filter(direction=Message.Direction.OUTBOUND)
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
            Message.objects,
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


# --- receiving ----------------------------------------------------------------------------------------------------


def receive_text(
    *, carrier_message_id: str, sender: str, recipient: str, body: str, media=None
) -> tuple[Message, bool]:
    """The carrier delivers a text to one of our numbers; returns (message, created).

    Guarantees: stored once per carrier message id (a redelivered webhook returns the first one and does nothing
    else); an international or invalid sender, or any media, is stored *blocked* with the reason. A received STOP
    (or CTIA synonym) opts the party out of ALL the organisation's texts and gets exactly one confirmation, however
    many STOPs follow; START / UNSTOP / YES opts them back in; HELP / INFO gets the campaign's help reply. Replies
    go out only while the organisation may text from that number. Raises UnknownNumber for a number not ours.
    """
    try:
        ours = normalise_tn(recipient)
    except ValidationError:
        raise UnknownNumber(f"{recipient} is not one of our numbers.") from None
    number = PhoneNumber.objects.select_related("location__organisation").filter(e164=ours).first()
    if number is None:
        raise UnknownNumber(f"{recipient} is not one of our numbers.")
    org = number.location.organisation
    carrier_message_id = carrier_message_id or ""
    if carrier_message_id:
        existing = Message.objects.filter(
            direction=Message.Direction.INBOUND, carrier_message_id=carrier_message_id
        ).first()
        if existing is not None:
            return existing, False

    body = body if isinstance(body, str) else ""
    reason = detail = ""
    try:
        party = normalise_tn(sender)
    except ValidationError as exc:
        party = (sender if isinstance(sender, str) else "").strip()[:40]
        reason = BlockReason.INTERNATIONAL_SENDER if exc.code == "international" else BlockReason.INVALID_SENDER
        detail = exc.messages[0]
    if not reason and media:
        reason, detail = BlockReason.MEDIA_NOT_SUPPORTED, "Pictures and other attachments (MMS) are not supported."
    segments = count_segments(body)
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                organisation=org,
                business_number=number.e164,
                other_party=party,
                direction=Message.Direction.INBOUND,
                body=body,
                encoding=segments.encoding,
                segments=segments.segments,
                status=Message.Status.BLOCKED if reason else Message.Status.RECEIVED,
                blocked_reason=reason,
                status_detail=detail[:300],
                carrier_message_id=carrier_message_id,
                created_at=now,
                status_changed=now,
            )
            if not reason:
                _answer_keyword(org, number, party, body.strip().upper())
    except IntegrityError:
        # The same webhook arrived twice at the same moment: the other request stored it (and answered it).
        existing = Message.objects.filter(
            direction=Message.Direction.INBOUND, carrier_message_id=carrier_message_id
        ).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def _answer_keyword(org: Organisation, number: PhoneNumber, party: str, keyword: str) -> None:
    reply = None
    if keyword in OPT_OUT_KEYWORDS:
        if _opt_out(org, number, party, keyword):
            reply = _campaign_reply("opt_out_reply_for_number", number) or (
                f"{org.name}: You are unsubscribed and will receive no more messages. Reply START to resubscribe."
            )
    elif keyword in OPT_IN_KEYWORDS:
        if OptOut.objects.filter(organisation=org, party=party, opted_in_at__isnull=True).update(
            opted_in_at=timezone.now()
        ):
            reply = f"{org.name}: You are subscribed again. Reply HELP for help, STOP to unsubscribe."
    elif keyword in HELP_KEYWORDS:
        reply = _campaign_reply("help_reply_for_number", number) or (
            f"{org.name}: Reply STOP to unsubscribe. For help, contact {org.name}."
        )
    if reply and _may_reply(org, number):
        segments = count_segments(reply)
        message = Message.objects.create(
            organisation=org,
            business_number=number.e164,
            other_party=party,
            direction=Message.Direction.OUTBOUND,
            body=reply,
            encoding=segments.encoding,
            segments=segments.segments,
            status=Message.Status.ACCEPTED,
            is_automatic_reply=True,
        )
        transaction.on_commit(lambda: _enqueue_send(message.pk), robust=True)


def _opt_out(org: Organisation, number: PhoneNumber, party: str, keyword: str) -> bool:
    """Record the opt-out; True only if the party was not already opted out (so only one confirmation is sent)."""
    current = OptOut.objects.select_for_update().filter(organisation=org, party=party).first()
    if current is None:
        try:
            with transaction.atomic():
                OptOut.objects.create(organisation=org, party=party, business_number=number.e164, keyword=keyword)
        except IntegrityError:
            return False  # a simultaneous STOP from the same party got there first and sends the confirmation
        return True
    if current.opted_in_at is None:
        return False
    current.opted_in_at = None
    current.opted_out_at = timezone.now()
    current.business_number, current.keyword = number.e164, keyword
    current.save(update_fields=["opted_in_at", "opted_out_at", "business_number", "keyword"])
    return True


def _campaign_reply(name: str, number: PhoneNumber) -> str | None:
    """The reply the number's 10DLC campaign registered (compliance), or None when there is none."""
    try:
        from compliance import queries
    except ImportError:
        return None
    lookup = getattr(queries, name, None)
    return lookup(number) if lookup else None


def _may_reply(org: Organisation, number: PhoneNumber) -> bool:
    """Automatic replies follow the organisation's texting rules: add-on, switch on, number registered."""
    return (
        number.texting_state == PhoneNumber.TextingState.REGISTERED
        and ServiceSettings.objects.filter(organisation=org, business_texting_enabled=True).exists()
        and Licence.objects.filter(
            organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON, status=Licence.Status.ACTIVE
        ).exists()
    )


# --- the Business Texting switch -------------------------------------------------------------------------------


def set_business_texting(org: Organisation, by: User, enabled: bool) -> ServiceSettings:
    """A full administrator switches Business Texting on or off for the organisation (Calling → Service Settings).

    Off stops sending at once (the policy refuses with `texting_disabled`); nothing is deleted. Audited; switching to
    the state it is already in changes nothing.
    """
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError("Only full administrators of this organisation can change Business Texting.")
    with transaction.atomic():
        ServiceSettings.objects.get_or_create(organisation=org)
        current = ServiceSettings.objects.select_for_update().get(organisation=org)
        if current.business_texting_enabled == enabled:
            return current
        current.business_texting_enabled = enabled
        current.changed, current.changed_by = timezone.now(), by
        current.save()
        audit.record("texting.enabled" if enabled else "texting.disabled", actor=by, organisation=org, target=current)
    return current


# --- API tokens ---------------------------------------------------------------------------------------------------


def issue_api_token(org: Organisation, by: User, user: User, label: str = "") -> tuple[ApiToken, str]:
    """A full administrator issues a messaging API token for a user of the organisation; returns (token row, the
    token). The token itself is returned only here: the database keeps its SHA-256."""
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError("Only full administrators of this organisation can issue API tokens.")
    if user.organisation_id != org.pk or not user.is_active:
        raise TextingError("Choose an active user of this organisation.")
    label = (label or "").strip()[:100]
    token = ApiToken.PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        row = ApiToken.objects.create(
            organisation=org, user=user, label=label, hint=token[:10], token_hash=hash_token(token), created_by=by
        )
        audit.record("texting.api_token.issued", actor=by, organisation=org, target=row, user=user.email, label=label)
    return row, token


def revoke_api_token(org: Organisation, by: User, token_id: int) -> ApiToken:
    """A full administrator revokes a token: from then on it answers 401. Revoking twice changes nothing."""
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError("Only full administrators of this organisation can revoke API tokens.")
    with transaction.atomic():
        row = ApiToken.objects.select_for_update().select_related("user").get(pk=token_id, organisation=org)
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = timezone.now(), by
            row.save(update_fields=["revoked_at", "revoked_by"])
            audit.record("texting.api_token.revoked", actor=by, organisation=org, target=row, user=row.user.email)
    return row


def authenticate_api_token(token: str) -> User | None:
    """The user a bearer token belongs to, if the token is active and the user still texts for its organisation."""
    if not token or not token.startswith(ApiToken.PREFIX) or len(token) > 100:
        return None
    row = (
        ApiToken.objects.select_related("user__organisation")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active or row.user.organisation_id != row.organisation_id:
        return None
    now = timezone.now()
    if row.last_used_at is None or row.last_used_at < now - timedelta(minutes=1):
        # At most one write a minute per token: "last used" is for admins, not an access log.
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
