"""What administrators and the carrier do to numbers and authorisation orders. Every state change goes through here."""

import uuid
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext

from carrier import CarrierGateway, CarrierUnavailable, NumberResult, callback_url
from portal import audit
from portal.models import Organisation, User
from portal.transitions import ActionRefused, transition

from .eligibility import check_eligibility
from .models import (
    AuthorisationOrder,
    Location,
    OrderChunk,
    OrderLine,
    PhoneNumber,
    WizardSelectedNumber,
    WizardSelection,
)
from .phone import display_tn

AUTHORISABLE_STATES = (PhoneNumber.TextingState.NOT_AUTHORISED, PhoneNumber.TextingState.FAILED)


class OrderRefused(ActionRefused):
    """The order cannot be placed as asked; the message says why, in the administrator's words."""


def check_selectable(location: Location, number_ids: Iterable[int]) -> list[int]:
    """The ids, if every one is a number of `location` that can be authorised now; else OrderRefused.

    An id that is not a number of `location` gets the same words whether it exists elsewhere (another organisation's
    number) or nowhere: a refusal must not tell an administrator anything about numbers outside their organisation.
    """
    ids = set(number_ids)
    _check_numbers(location, PhoneNumber.objects.filter(pk__in=ids), expected=len(ids))
    return sorted(ids)


def _check_numbers(location: Location, numbers, expected: int | None = None) -> int:
    """How many `numbers` (a queryset) there are, if every one is a number of `location` that can be authorised
    now (and there are `expected` of them, when given); else OrderRefused. One aggregate query, whatever their
    number (one more to name the first number refused for its state)."""
    counts = numbers.aggregate(
        total=Count("pk"),
        here=Count("pk", filter=Q(location=location)),
        ready=Count("pk", filter=Q(location=location, texting_state__in=AUTHORISABLE_STATES)),
    )
    expected = counts["total"] if expected is None else expected
    if not expected:
        raise OrderRefused(gettext("Select at least one number to authorise."))
    if counts["here"] != expected:
        raise OrderRefused(
            gettext("Some selected numbers are not numbers of %(location)s. Reload the page and select again.")
            % {"location": location.name}
        )
    if counts["ready"] != expected:
        state, e164 = (
            numbers.filter(location=location)
            .exclude(texting_state__in=AUTHORISABLE_STATES)
            .order_by("e164")
            .values_list("texting_state", "e164")
            .first()
        )
        raise OrderRefused(
            gettext("%(number)s cannot be authorised: it is already %(state)s.")
            % {"number": display_tn(e164), "state": PhoneNumber.TextingState(state).label.lower()}
        )
    return expected


def check_selection(location: Location, selection: WizardSelection) -> int:
    """How many numbers `selection` holds, if every one can be authorised in `location` now; else OrderRefused (a
    number authorised, ordered or moved since it was ticked)."""
    return _check_numbers(location, selection.numbers())


def place_authorisation_order(
    org: Organisation,
    user: User,
    location: Location | None,
    numbers: Iterable[int] | WizardSelection,
    submission_token: str,
) -> tuple[AuthorisationOrder, bool]:
    """Place an order to authorise `numbers` of `location` (ids, or the Authorize wizard's selection, which is
    deleted with the order placed); returns (order, created).

    Guarantees: all or nothing in one transaction (order, chunks, lines, numbers → *authorisation pending*, audit
    event); a number is in at most one open order (a database constraint settles races); the same
    `submission_token` never places a second order (double click, reload, back); the carrier submission task is
    enqueued only after commit (with the broker down, the order is placed all the same and the periodic
    repoll_stuck_orders submits it). The same statements for 100 numbers as for 100,000, bar one INSERT of the chunk
    rows: the numbers are checked, moved to pending and written as order lines set-wise (INSERT ... SELECT), never
    one by one, and never through a list of ids in Python when they come from a selection.
    """
    try:
        token = uuid.UUID(str(submission_token))
    except ValueError:
        raise OrderRefused(
            gettext("This order summary is no longer valid. Review the numbers and submit again.")
        ) from None
    existing = AuthorisationOrder.objects.filter(submission_token=token, organisation=org).first()
    if existing is not None:
        return existing, False
    if not user.can_manage:
        raise OrderRefused(gettext("Only full administrators can authorise numbers."))
    if location is None or location.organisation_id != org.pk or not location.is_cisco_calling_plan:
        raise OrderRefused(gettext("Choose one of your Cisco Calling Plan locations."))
    if not check_eligibility(org, advisory=False).eligible:
        raise OrderRefused(gettext("Your organisation does not meet the prerequisites for Business Texting."))

    selection = numbers if isinstance(numbers, WizardSelection) else None
    if selection is not None:
        if selection.organisation_id != org.pk or selection.user_id != user.pk or selection.location_id != location.pk:
            raise OrderRefused(gettext("Choose one of your Cisco Calling Plan locations."))
        chosen = selection.numbers()
        # The selection's own rows: every one names a number the UPDATE below found and took.
        ids = WizardSelectedNumber.objects.filter(selection_id=selection.pk).values(id=F("number_id"))
    else:
        wanted = set(numbers)
        chosen = PhoneNumber.objects.filter(pk__in=wanted)
        ids = chosen.values("id")
    chunk_size = settings.AUTHORISATION_CHUNK_SIZE
    try:
        with transaction.atomic():
            count = len(wanted) if selection is None else ids.count()
            if not count:
                raise OrderRefused(gettext("Select at least one number to authorise."))
            # Checked and taken in one UPDATE: its row locks make a concurrent order wait, and a number taken,
            # moved or authorised meanwhile no longer matches, so it is missing from the count.
            taken = chosen.filter(location=location, texting_state__in=AUTHORISABLE_STATES).update(
                texting_state=PhoneNumber.TextingState.PENDING,
                texting_state_changed=timezone.now(),
                texting_state_reason="",
            )
            if taken != count:
                raise _NotAllTaken
            order = AuthorisationOrder.objects.create(
                organisation=org, location=location, placed_by=user, submission_token=token, number_count=count
            )
            OrderChunk.objects.bulk_create(
                [OrderChunk(order=order, index=i) for i in range((count + chunk_size - 1) // chunk_size)]
            )
            _write_lines(order, ids, chunk_size)
            audit.record(
                "authorisation_order.placed",
                actor=user,
                organisation=org,
                target=order,
                location=location.name,
                numbers=count,
            )
            if selection is not None:
                WizardSelectedNumber.objects.filter(selection_id=selection.pk).delete()
                WizardSelection.objects.filter(pk=selection.pk).delete()
            # Robust: if the broker cannot be reached, the placed order stays as it is (the administrator is shown
            # it), the failure is logged, and the periodic repoll_stuck_orders submits it.
            transaction.on_commit(lambda: _enqueue_submission(order.pk), robust=True)
    except _NotAllTaken:
        # Rolled back: say why (a number of another location, or not authorisable any more), or, if every number
        # now passes, that another order took some in the meantime.
        _check_numbers(location, chosen, count)
        raise OrderRefused(
            gettext("Some of these numbers were just ordered by someone else. Review the selection.")
        ) from None
    except IntegrityError:
        # Another request with the same token won the race, or another order took one of these numbers.
        existing = AuthorisationOrder.objects.filter(submission_token=token, organisation=org).first()
        if existing is not None:
            return existing, False
        raise OrderRefused(
            gettext("Some of these numbers were just ordered by someone else. Review the selection.")
        ) from None
    return order, True


class _NotAllTaken(Exception):
    """The UPDATE took fewer numbers than were ordered (rolls the order back; the caller says why)."""


def _write_lines(order: AuthorisationOrder, number_ids, chunk_size: int) -> None:
    """One pending line per number of `number_ids` (a queryset of one column, `id`), the n-th by id in chunk
    n // chunk_size: one INSERT ... SELECT for the whole order."""
    qn = connection.ops.quote_name
    sql, params = number_ids.order_by().query.sql_with_params()
    line, chunk = qn(OrderLine._meta.db_table), qn(OrderChunk._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {line} (order_id, chunk_id, number_id, state, reason, is_open) "
            f"SELECT {int(order.pk)}, c.id, r.id, %s, '', %s FROM ("
            f"  SELECT chosen.id, (ROW_NUMBER() OVER (ORDER BY chosen.id) - 1) / {int(chunk_size)} AS idx"
            f"  FROM ({sql}) chosen"
            f") r JOIN {chunk} c ON c.order_id = {int(order.pk)} AND c.{qn('index')} = r.idx",
            [OrderLine.State.PENDING, True, *params],
        )


def _enqueue_submission(order_id: int) -> None:
    from .tasks import submit_authorisation_order

    submit_authorisation_order.delay(order_id)


def set_order_status(order_id: int, to: str) -> AuthorisationOrder:
    """Move an order along its life (AuthorisationOrder.TRANSITIONS) under a row lock; refuse anything else with
    TransitionRefused. Moving an order to the status it has changes nothing (a repeated poll or callback)."""
    now = timezone.now()
    changes = {
        AuthorisationOrder.Status.SUBMITTED: {"submitted_at": now},
        AuthorisationOrder.Status.COMPLETED: {"completed_at": now},
    }.get(to, {})
    with transaction.atomic():
        order, previous = transition(
            AuthorisationOrder.objects,
            order_id,
            to,
            table=AuthorisationOrder.TRANSITIONS,
            changes=changes,
            repeat_is_harmless=True,
        )
        if previous == to:
            return order
        if to == AuthorisationOrder.Status.COMPLETED:
            audit.record(
                "authorisation_order.completed",
                actor=None,
                organisation=order.organisation,
                target=order,
                **_line_counts(order),
            )
    return order


def _line_counts(order: AuthorisationOrder) -> dict[str, int]:
    counts = {state: 0 for state in OrderLine.State.values}
    for state in order.lines.values_list("state", flat=True):
        counts[state] += 1
    return counts


def submit_chunk(chunk_id: int, gateway: CarrierGateway) -> None:
    """Send one chunk to the carrier, exactly once.

    The chunk's reference is the idempotency key, and the attempt is counted (and committed) before the request,
    so after a crash or timeout the next attempt first looks the carrier order up by reference (reconcile) instead
    of submitting blind. Raises CarrierUnavailable for the task to retry; CarrierRejected is recorded as failure.
    """
    chunk = OrderChunk.objects.select_related("order").get(pk=chunk_id)
    if chunk.status != OrderChunk.Status.PENDING:
        return
    reconcile = chunk.attempts > 0
    OrderChunk.objects.filter(pk=chunk.pk).update(attempts=chunk.attempts + 1)
    carrier_order = gateway.find_number_order(chunk.reference) if reconcile else None
    if carrier_order is None:
        numbers = list(chunk.lines.order_by("number__e164").values_list("number__e164", flat=True))
        try:
            carrier_order = gateway.submit_number_order(
                reference=chunk.reference,
                numbers=numbers,
                idempotency_key=chunk.reference,
                callback_url=callback_url("provisioning:number_order_callback"),
            )
        except CarrierUnavailable as exc:
            if exc.may_have_taken_effect:
                OrderChunk.objects.filter(pk=chunk.pk).update(unconfirmed=True)
            raise
    with transaction.atomic():
        locked = OrderChunk.objects.select_for_update().get(pk=chunk.pk)
        if locked.status == OrderChunk.Status.PENDING:
            locked.status = OrderChunk.Status.SUBMITTED
            locked.carrier_order_id = carrier_order.order_id
            locked.save(update_fields=["status", "carrier_order_id"])
    if carrier_order.status == "completed":
        apply_carrier_results(chunk.pk, carrier_order.numbers)


def apply_carrier_results(chunk_id: int, results: list[NumberResult]) -> int:
    """Apply the carrier's final answer for one chunk; returns how many lines it decided.

    Idempotent: only lines still pending change, so a duplicate callback, a poll racing a callback or a redelivered
    task decides nothing twice. Each number ends *authorised*, or *authorisation failed* with the carrier's reason.
    One UPDATE per outcome and reason, not per number. Completes the order when its last line is decided.
    """
    by_outcome: dict[tuple[str, str], list[str]] = defaultdict(list)
    for result in results:
        if result.status == "authorised":
            by_outcome[(OrderLine.State.AUTHORISED, "")].append(result.e164)
        elif result.status == "rejected":
            by_outcome[(OrderLine.State.FAILED, result.reason or "Rejected by the carrier")].append(result.e164)
    decided = 0
    now = timezone.now()
    with transaction.atomic():
        chunk = OrderChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == OrderChunk.Status.COMPLETED:
            return 0
        for (state, reason), e164s in by_outcome.items():
            decided += _decide_lines(chunk.lines.filter(number__e164__in=e164s), state, reason, now)
        if not chunk.lines.filter(state=OrderLine.State.PENDING).exists():
            chunk.status = OrderChunk.Status.COMPLETED
            chunk.save(update_fields=["status"])
    _complete_if_decided(chunk.order_id)
    return decided


def fail_chunk(chunk_id: int, reason: str) -> int:
    """Give up on one chunk the carrier refused or could not be sent: its undecided numbers end *authorisation
    failed* with `reason`; the order completes once nothing is left pending. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        chunk = OrderChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.status == OrderChunk.Status.COMPLETED:
            return 0
        decided = _decide_lines(chunk.lines.all(), OrderLine.State.FAILED, reason, now)
        chunk.status = OrderChunk.Status.COMPLETED
        chunk.save(update_fields=["status"])
    _complete_if_decided(chunk.order_id)
    return decided


def fail_unsent_chunks(order_id: int, reason: str) -> int:
    """The carrier stayed unreachable: every chunk it certainly does not hold fails with `reason`, so the
    administrator sees the outcome and can order those numbers again. Chunks it accepted keep waiting for its answer,
    and so do *unconfirmed* ones (a submission went unanswered: the carrier may hold them): failing those blind could
    show "failed" for numbers the carrier authorises. The periodic `repoll_stuck_orders` resumes them, and the next
    attempt looks them up by reference first. Returns how many lines failed."""
    unsent = OrderChunk.objects.filter(order_id=order_id, status=OrderChunk.Status.PENDING, unconfirmed=False)
    return sum(fail_chunk(chunk_id, reason) for chunk_id in list(unsent.values_list("pk", flat=True)))


def _decide_lines(lines, state: str, reason: str, now) -> int:
    """Decide the still-pending `lines` and move their numbers to the matching texting state (two UPDATEs)."""
    pending = lines.filter(state=OrderLine.State.PENDING)
    number_ids = list(pending.values_list("number_id", flat=True))
    if not number_ids:
        return 0
    count = pending.update(state=state, reason=reason[:300], is_open=False, decided_at=now)
    PhoneNumber.objects.filter(pk__in=number_ids, texting_state=PhoneNumber.TextingState.PENDING).update(
        texting_state=(
            PhoneNumber.TextingState.AUTHORISED
            if state == OrderLine.State.AUTHORISED
            else PhoneNumber.TextingState.FAILED
        ),
        texting_state_reason=reason[:300],
        texting_state_changed=now,
    )
    return count


def _complete_if_decided(order_id: int) -> None:
    order = AuthorisationOrder.objects.get(pk=order_id)
    if order.is_open and not order.lines.filter(state=OrderLine.State.PENDING).exists():
        set_order_status(order_id, AuthorisationOrder.Status.COMPLETED)


def mark_sent(order_id: int) -> None:
    """Once no chunk is left unsent and the carrier holds some, the order is *submitted* (and waits for answers)."""
    order = AuthorisationOrder.objects.get(pk=order_id)
    chunks = order.chunks.all()
    if (
        order.status == AuthorisationOrder.Status.PLACED
        and not chunks.filter(status=OrderChunk.Status.PENDING).exists()
        and chunks.filter(status=OrderChunk.Status.SUBMITTED).exists()
    ):
        set_order_status(order_id, AuthorisationOrder.Status.SUBMITTED)


def record_poll(order_id: int) -> None:
    AuthorisationOrder.objects.filter(pk=order_id).update(last_polled_at=timezone.now())
