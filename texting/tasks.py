"""Background work for business texts: hand accepted texts to the carrier, follow their status, purge old ones.

Every task is idempotent (it checks the text's state first, and the text's reference is the carrier idempotency
key) and acks late, so a task delivered twice, or again after a worker crash, never sends a text twice.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from carrier import get_gateway
from carrier.gateway import CarrierRejected, CarrierUnavailable
from portal.tasks import CarrierTask

from . import actions, partitions, retention
from .models import Message

log = logging.getLogger(__name__)


class SendTask(CarrierTask):
    retries_setting = "TEXTING_SEND_MAX_RETRIES"
    # A text is sent from a request (the Webex App's API call): in-process, that request never waits on retries.
    retry_in_process = False

    def give_up(self, exc, attempts, message_id):
        actions.fail_undeliverable(message_id, _("The carrier could not be reached (%(error)s).") % {"error": exc})
        return Message.Status.FAILED


@shared_task(base=SendTask, bind=True, name="texting.tasks.send_message")
def send_message(self, message_id: int) -> str | None:
    """Hand one accepted text to the carrier, then follow its status.

    In: *accepted* without a carrier id (anything else: nothing to do). Out: carrier id recorded and status as the
    carrier answered (then polled until *delivered* / *failed*). CarrierUnavailable retries with backoff and jitter
    (SendTask) with the SAME idempotency key (the carrier answers the first send, never sends twice); after
    TEXTING_SEND_MAX_RETRIES — or at once when run in-process without a broker, so a request never waits on retries —
    the text ends *failed* with the reason in words. CarrierRejected fails it at once.
    """
    message = Message.objects.in_flight().filter(pk=message_id).first()
    if message is None or message.status != Message.Status.ACCEPTED or message.carrier_message_id:
        return None
    try:
        message = actions.hand_to_carrier(message_id, get_gateway())
    except CarrierRejected as exc:
        actions.fail_undeliverable(message_id, _("The carrier refused the text: %(error)s") % {"error": exc})
        return Message.Status.FAILED
    if not message.is_final and not self.request.is_eager:
        poll_message_status.apply_async((message_id,), countdown=settings.TEXTING_POLL_SECONDS)
    return message.status


@shared_task(base=CarrierTask, bind=True, name="texting.tasks.poll_message_status")
def poll_message_status(self, message_id: int) -> str | None:
    """Ask the carrier for a sent text's status and apply it (idempotent; the callback may have done it already).
    Re-polls itself until the status is final, up to TEXTING_POLL_MAX times; `repoll_pending_messages` picks up
    texts whose chain was lost."""
    message = Message.objects.in_flight().filter(pk=message_id).first()
    if message is None or message.is_final or not message.carrier_message_id:
        return None
    try:
        actions.apply_carrier_status(get_gateway().get_message(message.carrier_message_id))
    except CarrierUnavailable as exc:
        log.info("Text %s: status poll failed, will retry: %s", message_id, exc)
    except CarrierRejected as exc:
        actions.fail_undeliverable(message_id, _("The carrier does not know this text: %(error)s") % {"error": exc})
    message.refresh_from_db()
    if not message.is_final and not self.request.is_eager and self.request.retries < settings.TEXTING_POLL_MAX:
        raise self.retry(countdown=settings.TEXTING_POLL_SECONDS)
    return message.status


@shared_task(acks_late=True, name="texting.tasks.repoll_pending_messages")
def repoll_pending_messages() -> int:
    """Periodic: texts still *accepted* or *sent* after ten minutes are sent (if they never reached the carrier) or
    polled again. Returns how many it resumed."""
    stale = timezone.now() - timedelta(minutes=10)
    pending = (
        Message.objects.in_flight()
        .filter(
            direction=Message.Direction.OUTBOUND,
            status__in=[Message.Status.ACCEPTED, Message.Status.SENT],
            status_changed__lt=stale,
        )
        .values_list("pk", "carrier_message_id")[:1000]
    )
    for message_id, carrier_id in pending:
        (poll_message_status if carrier_id else send_message).delay(message_id)
    return len(pending)


@shared_task(acks_late=True, name="texting.tasks.purge_expired_messages")
def purge_expired_messages() -> dict:
    """Nightly (beat, RETENTION_PURGE_HOUR:RETENTION_PURGE_MINUTE): delete texts older than MESSAGE_RETENTION_DAYS
    in bounded batches (texting.retention). Safe to run twice at once or twice in a row: the second waits for
    nothing and deletes nothing (lock), or finds nothing left."""
    run = retention.purge_expired_messages()
    return {"purge_run": run.pk, "outcome": run.outcome, "rows_deleted": run.rows_deleted, "batches": run.batches}


@shared_task(acks_late=True, name="texting.tasks.create_text_partitions")
def create_text_partitions() -> dict:
    """Daily (beat): the texts table's day partitions from today to TEXTS_PARTITIONS_AHEAD_DAYS ahead (PostgreSQL;
    nothing on SQLite). Idempotent: partitions that exist are left alone."""
    created = partitions.ensure_partitions_ahead()
    return {"created": created, "days_ahead": partitions.days_ahead()}
