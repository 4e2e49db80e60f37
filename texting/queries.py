"""Read queries for the Business Texting pages. Metadata and counts only: no query here selects a text's body.

The activity page's figures and lists and its CSV export are reporting reads: they go to the read replica when one is
configured (`.using(reporting_db())`, portal/replica.py says when they stay on the primary). The rest reads the
primary."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.models import Organisation
from portal.replica import reporting_db
from provisioning.models import PhoneNumber

from . import partitions
from .models import ApiToken, BlockReason, Message, OptOut, PurgeRun, ServiceSettings, Suspension

PERIODS = (7, 30, 90)
BLOCKED = Q(status=Message.Status.BLOCKED)
# Columns the pages may show: everything about a text except what it said.
METADATA_FIELDS = (
    "id",
    "created_at",
    "direction",
    "business_number",
    "other_party",
    "status",
    "blocked_reason",
    "status_detail",
    "segments",
    "encoding",
    "is_automatic_reply",
    "user__email",
    "user__full_name",
)


def service_settings(org: Organisation) -> ServiceSettings:
    return ServiceSettings.for_organisation(org)


def period_start(days: int, now: datetime | None = None) -> date:
    """First UTC day of the last `days` days, today included."""
    return (now or timezone.now()).astimezone(UTC).date() - timedelta(days=days - 1)


def _since(first_day: date) -> datetime:
    return datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)


def in_period(days: int, now: datetime | None = None) -> dict:
    """The filter of a period's texts: from the first day's midnight to the end of today (UTC), both ends named so
    that PostgreSQL reads only the period's day partitions (texting.partitions), not the ones made ahead."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return {"created_at__gte": _since(period_start(days, now)), "created_at__lt": _since(today + timedelta(days=1))}


@dataclass
class DayCount:
    day: date
    outbound: int = 0
    inbound: int = 0
    blocked: int = 0

    @property
    def total(self) -> int:
        return self.outbound + self.inbound + self.blocked


def texts_per_day(org: Organisation, days: int, now: datetime | None = None) -> list[DayCount]:
    """One entry per UTC day of the period (days without texts included): sent, received and blocked."""
    first = period_start(days, now)
    rows = (
        Message.objects.using(reporting_db())
        .filter(organisation=org, **in_period(days, now))
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(
            outbound=Count("id", filter=Q(direction=Message.Direction.OUTBOUND) & ~BLOCKED),
            inbound=Count("id", filter=Q(direction=Message.Direction.INBOUND) & ~BLOCKED),
            blocked=Count("id", filter=BLOCKED),
        )
        .order_by("day")
    )
    by_day = {row["day"]: row for row in rows}
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day, {})
        result.append(DayCount(day, row.get("outbound", 0), row.get("inbound", 0), row.get("blocked", 0)))
    return result


def blocked_by_reason(org: Organisation, days: int, now: datetime | None = None) -> list[dict]:
    rows = (
        Message.objects.using(reporting_db())
        .filter(organisation=org, status="blocked", **in_period(days, now))
        .values("blocked_reason")
        .annotate(count=Count("id"))
        .order_by("-count", "blocked_reason")
    )
    labels = dict(BlockReason.choices)
    return [
        {
            "reason": r["blocked_reason"],
            "label": labels.get(r["blocked_reason"], r["blocked_reason"]),
            "count": r["count"],
        }
        for r in rows
    ]


def top_numbers(org: Organisation, days: int, now: datetime | None = None, limit: int = 10) -> list[dict]:
    """The organisation's busiest business numbers over the period, with the user each belongs to now."""
    db = reporting_db()
    rows = list(
        Message.objects.using(db)
        .filter(organisation=org, **in_period(days, now))
        .exclude(business_number="")
        .values("business_number")
        .annotate(
            total=Count("id"),
            outbound=Count("id", filter=Q(direction=Message.Direction.OUTBOUND) & ~BLOCKED),
            inbound=Count("id", filter=Q(direction=Message.Direction.INBOUND) & ~BLOCKED),
            blocked=Count("id", filter=BLOCKED),
            segments=Sum("segments", filter=Q(direction=Message.Direction.OUTBOUND) & ~BLOCKED),
        )
        .order_by("-total", "business_number")[:limit]
    )
    owners = {
        n.e164: n
        for n in PhoneNumber.objects.using(db)
        .filter(e164__in=[r["business_number"] for r in rows], location__organisation=org)
        .select_related("assigned_user", "location")
    }
    for row in rows:
        row["number"] = owners.get(row["business_number"])
        row["segments"] = row["segments"] or 0
    return rows


def delivery_outcomes(org: Organisation, days: int, *, number: str = "", now: datetime | None = None) -> dict:
    """Outbound texts of the period (and number, if given) by what the carrier made of them: delivered, failed and
    still on the way, and the failed ones grouped by the carrier's reason (as the carrier worded it), most frequent
    first. One query, grouped by status and reason."""
    texts = Message.objects.using(reporting_db()).filter(
        organisation=org,
        direction=Message.Direction.OUTBOUND,
        **in_period(days, now),
        status__in=[Message.Status.DELIVERED, Message.Status.FAILED, Message.Status.ACCEPTED, Message.Status.SENT],
    )
    if number:
        texts = texts.filter(business_number=number)
    rows = texts.values("status", "status_detail").annotate(count=Count("id")).order_by()
    result = {"delivered": 0, "failed": 0, "pending": 0, "reasons": []}
    for row in rows:
        if row["status"] == Message.Status.FAILED:
            result["failed"] += row["count"]
            result["reasons"].append({"reason": row["status_detail"], "count": row["count"]})
        elif row["status"] == Message.Status.DELIVERED:
            result["delivered"] += row["count"]
        else:
            result["pending"] += row["count"]
    result["reasons"].sort(key=lambda reason: (-reason["count"], reason["reason"]))
    return result


EXPORT_COLUMNS = (
    ("id", "id"),
    ("created_at_utc", "created_at"),
    ("direction", "direction"),
    ("our_number", "business_number"),
    ("other_party", "other_party"),
    ("user", "user__email"),
    ("status", "status"),
    ("blocked_reason", "blocked_reason"),
    ("status_detail", "status_detail"),
    ("segments", "segments"),
    ("encoding", "encoding"),
    ("automatic_reply", "is_automatic_reply"),
)


def texts_for_export(org: Organisation, *, first_day: date, last_day: date, number: str = "", user=None):
    """The organisation's texts created on the UTC days first_day..last_day (and through `number` / by `user`), oldest
    first, as tuples of EXPORT_COLUMNS: metadata only, never what a text said."""
    texts = Message.objects.using(reporting_db()).filter(
        organisation=org,
        created_at__gte=_since(first_day),
        created_at__lt=_since(last_day + timedelta(days=1)),
    )
    if number:
        texts = texts.filter(business_number=number)
    if user is not None:
        texts = texts.filter(user=user)
    return texts.order_by("created_at", "id").values_list(*(field for _name, field in EXPORT_COLUMNS))


def active_opt_outs(org: Organisation):
    return OptOut.objects.filter(organisation=org, opted_in_at__isnull=True).order_by("-opted_out_at", "-id")


def recent_texts(org: Organisation, days: int, *, number: str = "", status: str = "", now: datetime | None = None):
    """Texts of the organisation over the period, newest first, as metadata dicts (never the body). Bounded by the
    period like every count on the page, so PostgreSQL reads only the period's day partitions."""
    texts = Message.objects.using(reporting_db()).filter(organisation=org, **in_period(days, now))
    if number:
        texts = texts.filter(business_number=number)
    if status in Message.Status.values:
        texts = texts.filter(status=status)
    return texts.order_by("-created_at", "-id").values(*METADATA_FIELDS)


def purge_runs(limit: int = 5):
    return PurgeRun.objects.filter(dry_run=False)[:limit]


@dataclass(frozen=True)
class RetentionHealth:
    """Whether the nightly purge is doing its job: `problem` is "" (healthy), "never_run", "stale" (the last
    successful run finished more than RETENTION_STALE_AFTER_HOURS ago), "failed" (the last run that ended failed
    or was interrupted, after the last success) or, those being fine, "partitions": on PostgreSQL the texts table's
    day partitions reach fewer than TEXTS_PARTITIONS_MIN_AHEAD_DAYS days past today (`partitions_ahead`, -1 when
    not even today's exists; None where the table is not partitioned), so texts are about to go to the default
    partition, which the purge can only empty row by row."""

    problem: str
    last_success: datetime | None
    last_failure: datetime | None
    partitions_ahead: int | None = None

    @property
    def healthy(self) -> bool:
        return not self.problem

    @property
    def reason(self) -> str:
        if self.problem == "partitions":
            return self.partitions
        return {
            "": "",
            "never_run": _("The retention purge has never completed."),
            "stale": _("The last successful retention purge finished more than %(hours)s hours ago.")
            % {"hours": f"{settings.RETENTION_STALE_AFTER_HOURS:g}"},
            "failed": _("The last retention purge failed."),
        }[self.problem]

    @property
    def partitions(self) -> str:
        """The day partitions made ahead, in words."""
        ahead, needed = self.partitions_ahead, settings.TEXTS_PARTITIONS_MIN_AHEAD_DAYS
        if ahead is None:
            return _("Not used: the texts table is partitioned by day on PostgreSQL only.")
        if ahead < 0:
            return _(
                "The texts table has no day partition for today: today's texts go to its default partition, which "
                "the purge can only empty row by row."
            )
        if ahead < needed:
            return ngettext(
                "The texts table has day partitions for today and only the next %(days)s day (at least %(needed)s "
                "are needed): the texts of the days after go to its default partition, which the purge can only "
                "empty row by row.",
                "The texts table has day partitions for today and only the next %(days)s days (at least "
                "%(needed)s are needed): the texts of the days after go to its default partition, which the purge "
                "can only empty row by row.",
                ahead,
            ) % {"days": ahead, "needed": needed}
        return ngettext(
            "The texts table has day partitions for today and the next %(days)s day.",
            "The texts table has day partitions for today and the next %(days)s days.",
            ahead,
        ) % {"days": ahead}


def retention_health(now: datetime | None = None, *, with_partitions: bool = True) -> RetentionHealth:
    """The purge's health from its recorded runs (not dry runs), in one query, and unless `with_partitions` is
    False the day partitions made ahead (PostgreSQL: three catalogue queries)."""
    now = now or timezone.now()
    success = Q(outcome__in=[PurgeRun.Outcome.COMPLETED, PurgeRun.Outcome.STOPPED])
    failure = Q(outcome__in=[PurgeRun.Outcome.FAILED, PurgeRun.Outcome.INTERRUPTED])
    seen = PurgeRun.objects.filter(dry_run=False).aggregate(
        success_started=Max("started", filter=success),
        success_finished=Max("finished", filter=success),
        failure_started=Max("started", filter=failure),
        failure_finished=Max("finished", filter=failure),
    )
    last_success, last_failure = seen["success_finished"], seen["failure_finished"] or seen["failure_started"]
    ahead = partitions.days_ahead(now) if with_partitions else None
    if seen["failure_started"] is not None and (
        seen["success_started"] is None or seen["failure_started"] > seen["success_started"]
    ):
        problem = "failed"
    elif last_success is None:
        problem = "never_run"
    elif now - last_success > timedelta(hours=settings.RETENTION_STALE_AFTER_HOURS):
        problem = "stale"
    elif ahead is not None and ahead < settings.TEXTS_PARTITIONS_MIN_AHEAD_DAYS:
        problem = "partitions"
    else:
        problem = ""
    return RetentionHealth(problem, last_success, last_failure, ahead)


def retention_days() -> int:
    return settings.MESSAGE_RETENTION_DAYS


def api_tokens(org: Organisation):
    return ApiToken.objects.filter(organisation=org).select_related("user", "created_by", "revoked_by")


# --- the opt-out registry -----------------------------------------------------------------------------------------

REGISTRY_STATES = ("active", "ended", "all")


def opt_out_registry(org: Organisation, *, digits: str = "", state: str = "active"):
    """The organisation's opt-out registry, newest first: entries in effect (`active`), ended by START or removed
    (`ended`), or `all`; `digits` keeps the numbers that contain them (partial digits: "5550" or "415555")."""
    entries = OptOut.objects.filter(organisation=org).select_related("added_by", "removed_by")
    if state == "active":
        entries = entries.filter(opted_in_at__isnull=True)
    elif state == "ended":
        entries = entries.filter(opted_in_at__isnull=False)
    if digits:
        entries = entries.filter(party__contains=digits)
    return entries.order_by("-opted_out_at", "-id")


# --- suspensions by Cisco PSTN support ----------------------------------------------------------------------------


def active_suspensions(org: Organisation):
    """What Cisco PSTN support suspended in the organisation now: the organisation itself first, then numbers."""
    return (
        Suspension.objects.filter(organisation=org, lifted_at__isnull=True)
        .select_related("number", "suspended_by")
        .order_by(F("number_id").asc(nulls_first=True), "-suspended_at")
    )


def support_suspensions(*, organisation_id: int | None = None, active: bool = True):
    """The support console's list: every organisation's suspensions in effect (or lifted ones, newest first)."""
    rows = Suspension.objects.filter(lifted_at__isnull=active).select_related(
        "organisation", "number", "suspended_by", "lifted_by"
    )
    if organisation_id is not None:
        rows = rows.filter(organisation_id=organisation_id)
    return rows.order_by("-lifted_at" if not active else "-suspended_at", "-id")
