"""Background work for authorisation orders: submit to the carrier, poll for its answer, rescue stuck orders.

Every task is idempotent (it checks state first; the chunk reference is the carrier idempotency key) and
acks late, so a task delivered twice or redelivered after a worker crash never submits twice and never applies a
result twice.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from carrier import get_gateway
from carrier.gateway import CarrierRejected, CarrierUnavailable
from portal.tasks import CarrierTask

from . import actions
from .models import AuthorisationOrder, OrderChunk, WizardSelectedNumber, WizardSelection

log = logging.getLogger(__name__)


class OrderSubmissionTask(CarrierTask):
    retries_setting = "AUTHORISATION_MAX_RETRIES"
    backoff_setting = "AUTHORISATION_RETRY_BASE_SECONDS"

    def give_up(self, exc, attempts, order_id):
        actions.fail_unsent_chunks(
            order_id,
            f"The carrier could not be reached after {attempts} attempts. Authorize these numbers again later.",
        )
        _sent(order_id)


@shared_task(base=OrderSubmissionTask, bind=True)
def submit_authorisation_order(self, order_id: int) -> None:
    """Send every unsent chunk of an open order to the carrier, then start polling.

    In: an order *placed* (or *submitted* with chunks left after a crash). Out: *submitted* (or *completed* when the
    carrier answered at once). Transient carrier errors retry the task with backoff and jitter (OrderSubmissionTask),
    reusing each chunk's idempotency key, so chunks already sent are not sent again; after AUTHORISATION_MAX_RETRIES
    the chunks the carrier certainly does not hold fail with a reason the administrator can act on (accepted and
    unconfirmed chunks keep waiting: actions.fail_unsent_chunks); a chunk the carrier refuses fails with the
    carrier's words.
    """
    order = AuthorisationOrder.objects.filter(pk=order_id).first()
    if order is None or not order.is_open:
        return
    gateway = get_gateway()
    for chunk_id in order.chunks.filter(status=OrderChunk.Status.PENDING).values_list("pk", flat=True):
        try:
            actions.submit_chunk(chunk_id, gateway)
        except CarrierRejected as exc:
            actions.fail_chunk(chunk_id, f"The carrier refused the order: {exc}")
    _sent(order_id)


def _sent(order_id: int) -> None:
    """No chunk left to send: the order is *submitted*, and polled while the carrier holds some of it."""
    actions.mark_sent(order_id)
    if OrderChunk.objects.filter(order_id=order_id, status=OrderChunk.Status.SUBMITTED).exists():
        poll_authorisation_order.apply_async((order_id,), countdown=settings.AUTHORISATION_POLL_SECONDS)


@shared_task(base=CarrierTask, bind=True)
def poll_authorisation_order(self, order_id: int) -> None:
    """Ask the carrier for the answer to each submitted chunk and apply it (idempotent).

    Re-polls itself while the order is open, up to AUTHORISATION_POLL_MAX times; after that (or if the poll chain is
    lost) the periodic `repoll_stuck_orders` picks the order up. Run in-process (no broker), it polls once and leaves
    the rest to the carrier's callback.
    """
    order = AuthorisationOrder.objects.filter(pk=order_id).first()
    if order is None or not order.is_open:
        return
    gateway = get_gateway()
    try:
        for chunk in order.chunks.filter(status=OrderChunk.Status.SUBMITTED):
            carrier_order = gateway.get_number_order(chunk.carrier_order_id)
            if carrier_order.status == "completed":
                actions.apply_carrier_results(chunk.pk, carrier_order.numbers)
    except CarrierUnavailable as exc:
        log.info("Order %s: poll failed, will retry: %s", order_id, exc)
    actions.record_poll(order_id)
    order.refresh_from_db()
    if order.is_open and order.chunks.filter(status=OrderChunk.Status.PENDING).exists():
        submit_authorisation_order.delay(order_id)
        return
    if order.is_open and not self.request.is_eager and self.request.retries < settings.AUTHORISATION_POLL_MAX:
        raise self.retry(countdown=settings.AUTHORISATION_POLL_SECONDS)


@shared_task(acks_late=True)
def repoll_stuck_orders() -> int:
    """Periodic (beat): find open orders nobody has looked at for AUTHORISATION_STUCK_MINUTES and resume them —
    unsent chunks are submitted (reconciling first), submitted ones polled. Returns how many orders it resumed."""
    cutoff = timezone.now() - timedelta(minutes=settings.AUTHORISATION_STUCK_MINUTES)
    stuck = AuthorisationOrder.objects.filter(status__in=AuthorisationOrder.OPEN_STATUSES, created__lt=cutoff).filter(
        Q(last_polled_at__isnull=True) | Q(last_polled_at__lt=cutoff)
    )
    resumed = 0
    for order_id in stuck.values_list("pk", flat=True):
        actions.record_poll(order_id)
        poll_authorisation_order.delay(order_id)
        resumed += 1
    return resumed


@shared_task(acks_late=True)
def purge_expired_selections(batch: int = 100) -> int:
    """Periodic (beat, hourly): delete the Authorize wizard's selections nobody has changed for WIZARD_SELECTION_HOURS,
    with their ticked numbers, a batch of selections per transaction so no transaction holds millions of rows.
    Idempotent. Returns how many selections it deleted."""
    from .wizard import expiry_cutoff

    expired = WizardSelection.objects.filter(changed__lt=expiry_cutoff())
    deleted = 0
    while ids := list(expired.values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            WizardSelectedNumber.objects.filter(selection_id__in=ids).delete()
            deleted += WizardSelection.objects.filter(pk__in=ids).delete()[1].get(WizardSelection._meta.label, 0)
    return deleted
