"""The Authorize wizard's selection: which numbers the administrator has ticked, kept in the database
(provisioning.WizardSelection and its WizardSelectedNumber rows), never as ids in the session.

Every change costs one or two statements whatever its size: *select all N matching* is one INSERT ... SELECT of the
filtered numbers, unticking a page or clearing is one DELETE, and the count shown is the selection's own counter,
kept in the same transaction. A selection belongs to one user, organisation and location. The wizard's pages carry
its token (`wizard=`), and the session remembers only the token of its current wizard: reloads, paging, searching and
the back button find the selection again, a new session starts afresh, and someone else's token is a 404. Choosing
another location starts a new selection. The summary page gives each selection a submission token, so submitting
the same summary twice finds the order already placed.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from .models import Location, PhoneNumber, WizardSelectedNumber, WizardSelection

SESSION_KEY = "authorize_wizard"
PARAM = "wizard"


class SelectionNotOpen(Http404):
    """A wizard token that names no open selection of this user: ordered already, expired, someone else's, unknown or
    not a token. A 404 whichever it is (the answer tells nothing about other selections); the wizard's pages show it
    as a page that says so and where to go on (`provisioning.views.authorize`)."""


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def expiry_cutoff():
    """Selections last changed before this have expired."""
    return timezone.now() - timedelta(hours=settings.WIZARD_SELECTION_HOURS)


def find(request, token=None, *, lock: bool = False) -> WizardSelection | None:
    """The selection named by `token` (a 404 if it is another user's or another organisation's, unknown or expired),
    else the session's current one (None if there is none or it has expired). `lock`: hold its row until the
    transaction ends, so changes to one selection queue up and its counter stays exact."""
    named = _uuid(token)
    if token and named is None:
        raise SelectionNotOpen("No such selection.")
    key = named or _uuid(request.session.get(SESSION_KEY))
    if key is None:
        return None
    selections = WizardSelection.objects.filter(token=key)
    selection = (selections.select_for_update() if lock else selections).first()
    usable = (
        selection is not None
        and selection.user_id == request.user.pk
        and selection.organisation_id == request.organisation.pk
        and selection.changed >= expiry_cutoff()  # an expired one waits for the periodic purge
    )
    if usable:
        return selection
    if named:
        # Someone else's, expired or unknown: the same answer, which tells nothing about other selections.
        raise SelectionNotOpen("No such selection.")
    return None


def open_for(request, location: Location, token=None, *, lock: bool = False) -> WizardSelection:
    """The selection to show or change in `location`: the named (or the session's current) one when it is of this
    location, else a new, empty one, which becomes the session's current selection (a page naming its selection does
    not save the session). A token of another location is a 404: a selection is never applied to a location it was
    not made in."""
    selection = find(request, token, lock=lock)
    if selection is not None and selection.location_id != location.pk:
        if token:
            raise SelectionNotOpen("No such selection.")
        selection = None
    if selection is None:
        selection = WizardSelection.objects.create(
            organisation=request.organisation, user=request.user, location=location
        )
        request.session[SESSION_KEY] = str(selection.token)
    elif SESSION_KEY not in request.session:
        request.session[SESSION_KEY] = str(selection.token)
    return selection


def add(selection: WizardSelection, numbers: QuerySet[PhoneNumber]) -> int:
    """Tick `numbers` (the caller has checked they may be ticked) in one INSERT ... SELECT, however many there are;
    numbers ticked already stay as they are. Returns how many were added."""
    try:
        sql, params = numbers.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # nothing can match (no ids, a search with no digits)
        _changed(selection, 0)
        return 0
    table = connection.ops.quote_name(WizardSelectedNumber._meta.db_table)
    with connection.cursor() as cursor:
        # `WHERE 1 = 1`: SQLite would read the ON of ON CONFLICT as a join's without it.
        cursor.execute(
            f"INSERT INTO {table} (selection_id, number_id) SELECT {int(selection.pk)}, chosen.id "
            f"FROM ({sql}) chosen WHERE 1 = 1 ON CONFLICT DO NOTHING",
            params,
        )
        added = max(cursor.rowcount, 0)
    _changed(selection, added)
    return added


def remove(selection: WizardSelection, number_ids) -> int:
    """Untick `number_ids` (one DELETE). Returns how many were ticked."""
    removed, _ = WizardSelectedNumber.objects.filter(selection_id=selection.pk, number_id__in=number_ids).delete()
    _changed(selection, -removed)
    return removed


def clear(selection: WizardSelection) -> None:
    WizardSelectedNumber.objects.filter(selection_id=selection.pk).delete()
    _changed(selection, 0, emptied=True)


def drop(selection: WizardSelection, numbers: QuerySet[PhoneNumber]) -> int:
    """Untick the ticked numbers among `numbers` (a queryset: one DELETE with a semi-join); returns how many."""
    removed, _ = WizardSelectedNumber.objects.filter(
        selection_id=selection.pk, number_id__in=numbers.order_by().values("pk")
    ).delete()
    _changed(selection, -removed)
    return removed


def _changed(selection: WizardSelection, delta: int, emptied: bool = False) -> None:
    """Any change: the counter moves by `delta` (to 0 when `emptied`), the summary shown before is void, and the
    selection lives another WIZARD_SELECTION_HOURS."""
    now = timezone.now()
    count = 0 if emptied else F("selected_count") + delta
    WizardSelection.objects.filter(pk=selection.pk).update(selected_count=count, submission_token=None, changed=now)
    selection.selected_count = 0 if emptied else max(selection.selected_count + delta, 0)
    selection.submission_token, selection.changed = None, now


def submission_token(selection: WizardSelection) -> str:
    """The token of the current summary (made once per selection state)."""
    if selection.submission_token is None:
        selection.submission_token = uuid.uuid4()
        WizardSelection.objects.filter(pk=selection.pk).update(submission_token=selection.submission_token)
    return str(selection.submission_token)


def ticked_among(selection: WizardSelection, number_ids) -> set[int]:
    """Which of `number_ids` (a page's) are ticked: one lookup by the selection's primary key, however many it holds."""
    rows = WizardSelectedNumber.objects.filter(selection_id=selection.pk, number_id__in=number_ids)
    return set(rows.values_list("number_id", flat=True))


def discard(selection: WizardSelection) -> None:
    """Delete a selection and its rows (two DELETEs)."""
    WizardSelectedNumber.objects.filter(selection_id=selection.pk).delete()
    WizardSelection.objects.filter(pk=selection.pk).delete()
