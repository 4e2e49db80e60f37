"""Read queries shared by the case pages, the support console and other apps (texting asks for campaign replies).

Each returns a queryset (or value) with the joins its page needs, so no template triggers a query per row.
"""

from datetime import timedelta

from django.db.models import Case, Count, Exists, F, OuterRef, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Organisation
from provisioning.models import PhoneNumber

from .models import CASE_DURATION, CaseEvent, CaseNumber, RegistrationCase, RegistrationForm

State = RegistrationCase.State


# --- for the texting app --------------------------------------------------------------------------------------------


def registered_campaign_form(phone_number: PhoneNumber | str) -> RegistrationForm | None:
    """The registration form of the approved campaign `phone_number` is registered in (a PhoneNumber or its E.164),
    or None when the number is not registered in a campaign. One query."""
    number_filter = (
        Q(case__case_numbers__number=phone_number)
        if isinstance(phone_number, PhoneNumber)
        else Q(case__case_numbers__number__e164=phone_number)
    )
    return (
        RegistrationForm.objects.filter(
            number_filter,
            case__state=State.COMPLETED,
            case__case_numbers__number__texting_state=PhoneNumber.TextingState.REGISTERED,
        )
        .order_by("-case__closed_at", "-case_id")
        .first()
    )


def help_reply_for_number(phone_number: PhoneNumber | str) -> str | None:
    """The HELP reply of the approved campaign `phone_number` is registered in; None if it is in no campaign (or the
    campaign has no reply). The texting app answers HELP/INFO with it."""
    form = registered_campaign_form(phone_number)
    return (form.help_message.strip() or None) if form is not None else None


def opt_out_reply_for_number(phone_number: PhoneNumber | str) -> str | None:
    """The opt-out (STOP) confirmation of the approved campaign `phone_number` is registered in, or None."""
    form = registered_campaign_form(phone_number)
    return (form.opt_out_message.strip() or None) if form is not None else None


# --- customer pages ---------------------------------------------------------------------------------------------------


def cases_of(org: Organisation):
    """An organisation's cases, newest first, with how many numbers each covers."""
    return (
        RegistrationCase.objects.filter(organisation=org)
        .annotate(number_count=Count("case_numbers"))
        .order_by("-opened_at", "-id")
    )


def numbers_available_for_case(org: Organisation):
    """The organisation's authorised numbers that are in no open case (and not registered yet): what a new case
    may cover."""
    in_open_case = CaseNumber.objects.filter(number=OuterRef("pk"), is_open=True)
    return (
        PhoneNumber.objects.filter(location__organisation=org, texting_state=PhoneNumber.TextingState.AUTHORISED)
        .exclude(Exists(in_open_case))
        .select_related("location", "assigned_user")
        .order_by("location__name", "e164")
    )


def case_numbers(case: RegistrationCase):
    return (
        PhoneNumber.objects.filter(registration_case_lines__case=case)
        .select_related("location", "assigned_user")
        .order_by("e164")
    )


def timeline(case: RegistrationCase, *, for_support: bool):
    """State changes and carrier events, oldest first. Support also sees internal notes."""
    kinds = [CaseEvent.Kind.TRANSITION, CaseEvent.Kind.CARRIER]
    if for_support:
        kinds.append(CaseEvent.Kind.INTERNAL_NOTE)
    return case.events.filter(kind__in=kinds).order_by("created", "id")


def messages(case: RegistrationCase):
    """The conversation between the customer and support (never internal notes)."""
    return case.events.filter(kind=CaseEvent.Kind.MESSAGE).order_by("created", "id")


# --- support console --------------------------------------------------------------------------------------------------

AGE_FILTERS = {
    # value: (label, filter on opened_at given now)
    "overdue": (_("Overdue (over 4 weeks)"), lambda now: Q(opened_at__lt=now - CASE_DURATION)),
    "3w": (_("Over 3 weeks"), lambda now: Q(opened_at__lt=now - timedelta(days=21))),
    "1w": (_("Over 1 week"), lambda now: Q(opened_at__lt=now - timedelta(days=7))),
    "new": (_("Under 1 week"), lambda now: Q(opened_at__gte=now - timedelta(days=7))),
}
SORTS = {
    # value: (label, ordering); "attention" depends on the time, so support_queue() builds it.
    "attention": (_("Overdue first, then latest change"), None),
    "updated": (_("Latest change first"), ("-state_changed", "-id")),
    "newest": (_("Newest first"), ("-opened_at", "-id")),
    "oldest": (_("Oldest first"), ("opened_at", "id")),
    "organisation": (_("Organisation"), ("organisation__name", "opened_at", "id")),
    "state": (_("State"), ("state", "opened_at", "id")),
}
# What support works on first: cases past the four weeks (the longest overdue on top), then every other case with
# the latest change first, so a case opened or moved a minute ago is on the first page, not the last.
DEFAULT_SORT = "attention"


def support_queue(
    *, state: str = "", organisation_id: int | None = None, age: str = "", sort: str = DEFAULT_SORT, now=None
):
    """Every organisation's cases for the support console, filtered and sorted. `state` may also be "open"
    (every state but completed and cancelled), the default view of the queue."""
    now = now or timezone.now()
    cases = RegistrationCase.objects.select_related("organisation").annotate(number_count=Count("case_numbers"))
    if state == "open":
        cases = cases.filter(state__in=RegistrationCase.OPEN_STATES)
    elif state in State.values:
        cases = cases.filter(state=state)
    if organisation_id:
        cases = cases.filter(organisation_id=organisation_id)
    if age in AGE_FILTERS:
        cases = cases.filter(AGE_FILTERS[age][1](now))
        if age == "overdue":
            cases = cases.filter(state__in=RegistrationCase.OPEN_STATES)
    ordering = SORTS.get(sort, SORTS[DEFAULT_SORT])[1]
    if ordering is None:
        overdue = Q(state__in=RegistrationCase.OPEN_STATES, opened_at__lt=now - CASE_DURATION)
        cases = cases.annotate(overdue_since=Case(When(overdue, then=F("opened_at")), default=None))
        ordering = (F("overdue_since").asc(nulls_last=True), "-state_changed", "-id")
    return cases.order_by(*ordering)


def state_counts() -> dict[str, int]:
    """How many cases are in each state (every state present, zeros included), plus "open" and "overdue". One
    query."""
    overdue_before = timezone.now() - CASE_DURATION
    rows = (
        RegistrationCase.objects.values("state")
        .annotate(total=Count("id"), overdue=Count("id", filter=Q(opened_at__lt=overdue_before)))
        .order_by()
    )
    counts = {state: 0 for state in State.values}
    overdue = 0
    for row in rows:
        counts[row["state"]] = row["total"]
        if row["state"] in RegistrationCase.OPEN_STATES:
            overdue += row["overdue"]
    counts["open"] = sum(counts[state] for state in RegistrationCase.OPEN_STATES)
    counts["overdue"] = overdue
    return counts


# --- legal holds (compliance officers) ------------------------------------------------------------------------------


def holds_of(org: Organisation):
    """The organisation's legal holds, active ones first, newest first, with their custodians' counts."""
    from .models import LegalHold

    return (
        LegalHold.objects.filter(organisation=org)
        .select_related("created_by", "released_by")
        .annotate(
            user_count=Count("custodian_users", distinct=True), number_count=Count("custodian_numbers", distinct=True)
        )
        .order_by("status", "-created", "-id")
    )


def held_text_counts(hold_ids, cutoff) -> dict[int, tuple[int, int]]:
    """{hold id: (texts it holds now, of which older than `cutoff`)} for the holds `hold_ids`, in one query. A text is
    held when a custodian user sent it or it went through a custodian number, within the hold's range; the same rule
    the purge applies (texting.retention._not_held). A text both a user and a number match is counted once."""
    from django.db import connection

    from texting.models import Message

    from .models import LegalHold, LegalHoldNumber, LegalHoldUser

    ids = [int(pk) for pk in hold_ids]
    if not ids:
        return {}
    quote = connection.ops.quote_name
    table = quote(Message._meta.db_table)
    hold, users, numbers = (quote(m._meta.db_table) for m in (LegalHold, LegalHoldUser, LegalHoldNumber))
    marks = ", ".join(["%s"] * len(ids))
    within = (
        f"h.id IN ({marks}) AND h.organisation_id = m.organisation_id"
        " AND (h.held_from IS NULL OR m.created_at >= h.held_from)"
        " AND (h.held_until IS NULL OR m.created_at < h.held_until)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT hold_id, COUNT(*), SUM(CASE WHEN created_at < %s THEN 1 ELSE 0 END) FROM ("
            f"SELECT h.id AS hold_id, m.id, m.created_at FROM {users} hu JOIN {hold} h ON h.id = hu.hold_id"
            f" JOIN {table} m ON m.user_id = hu.user_id WHERE {within}"
            f" UNION SELECT h.id AS hold_id, m.id, m.created_at FROM {numbers} hn JOIN {hold} h ON h.id = hn.hold_id"
            f" JOIN {table} m ON m.business_number = hn.e164 WHERE {within}) held GROUP BY hold_id",
            [connection.ops.adapt_datetimefield_value(cutoff), *ids, *ids],
        )
        counts = {hold_id: (total, int(expired or 0)) for hold_id, total, expired in cursor.fetchall()}
    return {pk: counts.get(pk, (0, 0)) for pk in ids}


def hold_custodian_choices(org: Organisation):
    """The users a hold may name: the organisation's customer users (end users and administrators), by email."""
    from portal.models import User

    return (
        User.objects.filter(organisation=org)
        .exclude(role__in=[User.Role.SUPPORT, User.Role.OPERATOR])
        .order_by("email")
    )
