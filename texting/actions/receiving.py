"""Inbound texts: the carrier delivers one to our number; CTIA keywords opt the party out (STOP) or back in
(START) and get the automatic replies (HELP), sent through the same path as any other text. French (Canada)
keywords (ARRÊT, AIDE) are answered in French, English ones in English."""

import unicodedata

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from portal import metrics
from portal.lists import clipped
from portal.models import Organisation
from provisioning.models import Licence, PhoneNumber
from provisioning.phone import normalise_tn

from ..models import BlockReason, Message, OptOut, ServiceSettings
from ..policy import PARTY_LENGTH
from ..segments import count_segments
from .refusals import UnknownNumber
from .sending import enqueue_send
from .suspensions import active_suspension

# CTIA keywords (SPEC.md 4): a text that is exactly one of these words, in any case, with spaces around, accents
# ignored (keyword() folds them: ARRÊT, Arrêt and arret are one word).
ENGLISH_OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPT-OUT", "OPTOUT", "REMOVE", "REVOKE", "TD"}
)
# French (Canada). Recognised on every number, US ones too: SPEC.md 4 lists ARRET among the opt-out keywords of the
# US and Canada alike, and an opt-out that is ignored keeps texting someone who asked, in words, to be left alone.
FRENCH_OPT_OUT_KEYWORDS = frozenset({"ARRET"})
FRENCH_HELP_KEYWORDS = frozenset({"AIDE"})
OPT_OUT_KEYWORDS = ENGLISH_OPT_OUT_KEYWORDS | FRENCH_OPT_OUT_KEYWORDS
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"}) | FRENCH_HELP_KEYWORDS
FRENCH_KEYWORDS = FRENCH_OPT_OUT_KEYWORDS | FRENCH_HELP_KEYWORDS

# The automatic replies, in the language of the keyword received (translation.override): English is the source,
# French (Canada) comes from the catalogue. Sent as texts, so plain words: no markup.
OPT_OUT_REPLY = pgettext_lazy(
    "SMS reply to STOP",
    "%(name)s: You are unsubscribed and will receive no more messages. Reply START to resubscribe.",
)
OPT_IN_REPLY = pgettext_lazy(
    "SMS reply to START", "%(name)s: You are subscribed again. Reply HELP for help, STOP to unsubscribe."
)
HELP_REPLY = pgettext_lazy("SMS reply to HELP", "%(name)s: Reply STOP to unsubscribe. For help, contact %(contact)s.")


def keyword(body: str) -> str:
    """The text as a keyword: without the spaces around it, upper case, accents dropped (ARRÊT → ARRET)."""
    decomposed = unicodedata.normalize("NFKD", body.strip().upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


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
        existing = _received_before(carrier_message_id)
        if existing is not None:
            return existing, False

    body = body if isinstance(body, str) else ""
    reason = detail = ""
    try:
        party = normalise_tn(sender)
    except ValidationError as exc:
        party = clipped((sender if isinstance(sender, str) else "").strip(), PARTY_LENGTH)
        reason = BlockReason.INTERNATIONAL_SENDER if exc.code == "international" else BlockReason.INVALID_SENDER
        detail = exc.messages[0]
    if not reason and media:
        reason, detail = BlockReason.MEDIA_NOT_SUPPORTED, _("Pictures and other attachments (MMS) are not supported.")
    segments = count_segments(body)
    now = timezone.now()
    with transaction.atomic():
        if carrier_message_id:
            # Two deliveries of the same webhook at once: the second waits here until the first commits, then finds
            # its text. (The id is not unique by index: the texts table is partitioned by day, texting.partitions.)
            _lock_carrier_id(carrier_message_id)
            existing = _received_before(carrier_message_id)
            if existing is not None:
                return existing, False
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
            _answer_keyword(org, number, party, body)
    if reason:
        metrics.texts_blocked.labels("inbound", reason).inc()
    else:
        metrics.texts_received.inc()
    return message, True


def _received_before(carrier_message_id: str) -> Message | None:
    """The text a carrier's message id was stored as, if it arrived within the last week (Message.IN_FLIGHT)."""
    return (
        Message.objects.in_flight()
        .filter(direction=Message.Direction.INBOUND, carrier_message_id=carrier_message_id)
        .first()
    )


def _lock_carrier_id(carrier_message_id: str) -> None:
    """Hold, until the transaction ends, a lock on this carrier message id (PostgreSQL; SQLite runs one writer at a
    time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7401))", [f"inbound:{carrier_message_id}"]
            )


def _answer_keyword(org: Organisation, number: PhoneNumber, party: str, body: str) -> None:
    """Act on a keyword and send its one automatic reply, in the keyword's language.

    The campaign's registered STOP / HELP replies are in English (the registration form has one of each), so they
    answer English keywords; a French keyword gets our French reply instead, naming the brand and its support
    contact from the same registration, so nobody who wrote ARRÊT or AIDE is answered in a language they did not
    use."""
    word = keyword(body)
    language = "fr-ca" if word in FRENCH_KEYWORDS else "en"
    french = language != "en"
    reply = None
    if word in OPT_OUT_KEYWORDS:
        if _opt_out(org, number, party, body.strip().upper()[: OptOut._meta.get_field("keyword").max_length]):
            reply = (not french and _campaign_reply("opt_out_reply_for_number", number)) or _reply(
                language, OPT_OUT_REPLY, org, number
            )
    elif word in OPT_IN_KEYWORDS:
        if OptOut.objects.filter(organisation=org, party=party, opted_in_at__isnull=True).update(
            opted_in_at=timezone.now()
        ):
            reply = _reply(language, OPT_IN_REPLY, org, number)
    elif word in HELP_KEYWORDS:
        reply = (not french and _campaign_reply("help_reply_for_number", number)) or _reply(
            language, HELP_REPLY, org, number
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
        transaction.on_commit(lambda: enqueue_send(message.pk), robust=True)


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
    # Now the party's own STOP: what an administrator once wrote about the number no longer describes it.
    current.source, current.reason, current.added_by = OptOut.Source.KEYWORD, "", None
    current.removed_by, current.removal_reason = None, ""
    current.save(
        update_fields=[
            "opted_in_at",
            "opted_out_at",
            "business_number",
            "keyword",
            "source",
            "reason",
            "added_by",
            "removed_by",
            "removal_reason",
        ]
    )
    return True


def _reply(language: str, message, org: Organisation, number: PhoneNumber) -> str:
    """One of our automatic replies in the answer's language, signed with the name recipients know (the registered
    brand's, else the organisation's) and, for HELP, the brand's support contact where the registration gave one."""
    form = _campaign_reply("registered_campaign_form", number)
    name = (form.brand_name if form is not None else "") or org.name
    contact = (form.support_phone.strip() or form.support_email.strip()) if form is not None else ""
    with translation.override(language):
        return str(message) % {"name": name, "contact": contact or name}


def _campaign_reply(name: str, number: PhoneNumber):
    """What the number's 10DLC campaign registered (compliance): its reply, or its form; None when there is none."""
    try:
        from compliance import queries
    except ImportError:
        return None
    lookup = getattr(queries, name, None)
    return lookup(number) if lookup else None


def _may_reply(org: Organisation, number: PhoneNumber) -> bool:
    """Automatic replies follow the organisation's texting rules: add-on, switch on, number registered, and not
    suspended by Cisco PSTN support (the opt-out itself is recorded either way)."""
    return (
        number.texting_state == PhoneNumber.TextingState.REGISTERED
        and active_suspension(org.pk, number.e164) is None
        and ServiceSettings.objects.filter(organisation=org, business_texting_enabled=True).exists()
        and Licence.objects.filter(
            organisation=org, sku=Licence.Sku.BUSINESS_TEXTING_ADDON, status=Licence.Status.ACTIVE
        ).exists()
    )
