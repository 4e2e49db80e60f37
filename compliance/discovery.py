"""eDiscovery over the organisation's business texts (SPEC.md 9): the search a compliance officer makes, the query it
runs and the highlighting of its results. Reads only: recording the search in the audit log and exporting it are
actions (compliance.actions.discovery).

Every search names a date range (defaulted to the last EDISCOVERY_DEFAULT_RANGE_DAYS days), so each query is bounded
in time. Keywords use PostgreSQL full-text search over `BODY_VECTOR` (the stored, GIN-indexed column of
texting/migrations/0007_message_body_tsvector.py) with `websearch_to_tsquery`: words must all appear, "a quoted phrase"
appears as written, `-word` excludes, `or` offers alternatives; words match whole, ignoring case, without stemming.
SQLite (development) has no such index: each word or phrase is matched as a substring (`icontains`).

Searches and the exports built from them are reporting reads: on the read replica when one is configured
(`texts_matching`, portal/replica.py).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from portal.forms import PortalForm
from portal.lists import storable
from portal.models import Organisation, User
from portal.replica import reporting_db
from provisioning.phone import normalise_tn
from texting.models import Message

PAGE_SIZE = 50
# Results pages count matches up to this many, then say "more than": an exact count of a common word over millions
# of texts would cost more than the page itself. The export counts them all.
COUNT_CAP = 1_000

# The words of a body, on PostgreSQL: texting_message.body_vector, a column PostgreSQL generates and stores on every
# insert (texting/migrations/0007_message_body_tsvector.py; not a model field, SQLite has no tsvector), GIN-indexed.
# It holds to_tsvector('simple', translate(body, '<>&', '   ')): the 'simple' configuration (lower case, no stemming,
# no stop words: an officer finds the word they typed, in any language), with < > & made spaces first, or
# PostgreSQL's parser reads "<b>late</b>" or "<script>…</script>" as markup and drops the words in it. Stored rather
# than an expression index because the index cannot place words: a phrase is rechecked on each candidate text, and
# reading the stored words is several times faster than parsing the body again.
BODY_VECTOR = f"{Message._meta.db_table}.body_vector"

# A keyword string: "a phrase", -excluded, or a word (anything up to a space).
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Term:
    text: str
    excluded: bool = False


def parse_keywords(keywords: str) -> list[list[Term]]:
    """The keyword string as alternatives (split on OR) of terms that must all match (websearch_to_tsquery's rules).
    Words are cut at anything that is not a letter or digit, like PostgreSQL's parser does: "order's" is "order s"."""
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(keywords):
        if match.group(2) is not None:
            text, excluded = match.group(2), match.group(1) == "-"
        else:
            raw = match.group(3)
            if raw.lower() == "or":
                groups.append([])
                continue
            text, excluded = (raw[1:], True) if raw.startswith("-") and len(raw) > 1 else (raw, False)
        words = re.findall(r"\w+", text)
        if words:
            groups[-1].append(Term(" ".join(words), excluded))
    return [group for group in groups if group]


@dataclass(frozen=True)
class Search:
    """What a compliance officer searches for: always a date range (inclusive, in the portal's time zone)."""

    start: date
    end: date
    users: tuple[int, ...] = ()
    numbers: tuple[str, ...] = ()
    other_party: str = ""
    direction: str = ""
    keywords: str = ""

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def end_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())

    def as_json(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "users": list(self.users),
            "numbers": list(self.numbers),
            "other_party": self.other_party,
            "direction": self.direction,
            "keywords": self.keywords,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Search":
        return cls(
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            users=tuple(data.get("users", ())),
            numbers=tuple(data.get("numbers", ())),
            other_party=data.get("other_party", ""),
            direction=data.get("direction", ""),
            keywords=data.get("keywords", ""),
        )

    def form_data(self) -> dict:
        """The search as the form's fields (for hidden inputs and links back to the search)."""
        data = {"start": self.start.isoformat(), "end": self.end.isoformat(), "user": [str(u) for u in self.users]}
        for name in ("other_party", "direction", "keywords"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.numbers:
            data["numbers"] = ", ".join(self.numbers)
        return data

    def query_string(self) -> str:
        return urlencode(self.form_data(), doseq=True)

    def terms(self) -> list[str]:
        """The words and phrases the results show highlighted (not the excluded ones)."""
        return [t.text for group in parse_keywords(self.keywords) for t in group if not t.excluded]


def texts_matching(organisation: Organisation, search: Search) -> QuerySet:
    """The organisation's texts that `search` finds, newest first. Always bounded by the search's date range. Read from
    the replica when one may serve it (a text sent a moment ago may be missing then: at most
    DATABASE_REPLICA_MAX_LAG_SECONDS)."""
    texts = Message.objects.using(reporting_db()).filter(
        organisation=organisation, created_at__gte=search.start_at, created_at__lt=search.end_before
    )
    if search.users:
        texts = texts.filter(user_id__in=search.users)
    if search.numbers:
        texts = texts.filter(business_number__in=search.numbers)
    if search.other_party:
        if search.other_party.startswith("+"):
            texts = texts.filter(other_party=search.other_party)
        else:
            texts = texts.filter(other_party__contains=search.other_party)
    if search.direction:
        texts = texts.filter(direction=search.direction)
    if search.keywords:
        texts = texts.filter(_keyword_condition(search.keywords))
    return texts.order_by("-created_at", "-id")


def _keyword_condition(keywords: str):
    if connection.vendor == "postgresql":
        # The keywords read as the column's words were (< > & made spaces).
        return RawSQL(
            f"{BODY_VECTOR} @@ websearch_to_tsquery('simple', translate(%s, '<>&', '   '))",
            (keywords,),
            output_field=BooleanField(),
        )
    condition = Q(pk__in=[])
    for group in parse_keywords(keywords):
        every = Q()
        for term in group:
            every &= ~Q(body__icontains=term.text) if term.excluded else Q(body__icontains=term.text)
        condition |= every
    return condition


def capped_count(texts: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(how many texts, True when there are more than `cap`)."""
    sliced = texts.order_by()[: cap + 1]
    if connection.vendor != "postgresql":
        counted = sliced.count()
        return min(counted, cap), counted > cap
    # With a LIMIT the planner prefers walking the date index and testing each text's words row by row: for a rare
    # word that reads every text of the range, far slower than intersecting the GIN index with the date index,
    # which it takes with plain index scans off (benchmarks/ediscovery.py; when body_vector was an expression index,
    # computed row by row, five times slower). Only this statement runs with the setting.
    # On the connection the texts are read from (the replica or the primary).
    with transaction.atomic(using=texts.db), connections[texts.db].cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        counted = sliced.count()
        cursor.execute("SET LOCAL enable_indexscan = on")
    return min(counted, cap), counted > cap


def highlight(body: str, terms: list[str]) -> SafeString:
    """`body` as HTML: escaped, with every occurrence of a search word or phrase (whole words, any case; words of a
    phrase apart by anything that is not a letter or digit) marked. Escaping comes first, piece by piece, so neither
    a body nor a keyword can inject markup."""
    patterns = []
    for term in sorted(set(terms), key=len, reverse=True):
        words = [re.escape(word) for word in re.findall(r"\w+", term)]
        if words:
            patterns.append(r"\b" + r"\W+".join(words) + r"\b")
    if not patterns:
        return escape(body)
    pieces = []
    at = 0
    for match in re.finditer("|".join(patterns), body, flags=re.IGNORECASE):
        pieces.append(escape(body[at : match.start()]))
        pieces.append(f"<mark>{escape(match.group(0))}</mark>")
        at = match.end()
    pieces.append(escape(body[at:]))
    return mark_safe("".join(pieces))


# --- the form -------------------------------------------------------------------------------------------------------


def _today() -> date:
    return timezone.localdate()


class SearchForm(PortalForm):
    """The eDiscovery search (GET, so a search can be bookmarked). A missing date range is the last
    EDISCOVERY_DEFAULT_RANGE_DAYS days; a refused one says why and searches nothing."""

    start = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the start date as YYYY-MM-DD, for example 2026-01-31.")},
    )
    end = forms.DateField(
        label=_("To (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter the end date as YYYY-MM-DD, for example 2026-01-31.")},
    )
    user = forms.TypedMultipleChoiceField(
        label=_("Users"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 4}),
        error_messages={"invalid_choice": _("Choose users of this organisation from the list.")},
        help_text=_("Texts they sent. None chosen: every user."),
    )
    numbers = forms.CharField(
        label=_("Our numbers"),
        required=False,
        max_length=400,
        help_text=_("One or more of the organisation's numbers, separated by commas."),
    )
    other_party = forms.CharField(
        label=_("Other party"), required=False, max_length=40, help_text=_("A whole number, or some of its digits.")
    )
    direction = forms.ChoiceField(
        label=_("Direction"),
        required=False,
        choices=[("", _("In and out"))] + list(Message.Direction.choices),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=200,
        help_text=_('All words must appear. "A phrase" in quotes, -word to exclude, OR for alternatives.'),
    )

    def __init__(self, data, *, organisation: Organisation, **kwargs):
        super().__init__(data, **kwargs)
        self.organisation = organisation
        self.fields["user"].choices = list(User.objects.filter(organisation=organisation).values_list("pk", "email"))

    def clean_numbers(self):
        numbers = []
        for raw in re.split(r"[,;\n]+", self.cleaned_data["numbers"]):
            if raw.strip():
                try:
                    numbers.append(normalise_tn(raw.strip()))
                except ValidationError:
                    raise ValidationError(
                        _("“%(value)s” is not a US or Canadian number."), params={"value": raw.strip()[:40]}
                    ) from None
        return tuple(dict.fromkeys(numbers))

    def clean_other_party(self):
        raw = self.cleaned_data["other_party"].strip()
        if not raw:
            return ""
        if not storable(raw):
            raise ValidationError(_("Type the number with digits."))
        digits = re.sub(r"[\s().-]", "", raw)
        if digits.startswith("+") or len(re.sub(r"\D", "", digits)) >= 10:
            try:
                return normalise_tn(digits)
            except ValidationError:
                pass
        if not digits.lstrip("+").isdigit():
            raise ValidationError(_("Type the other party's number, or some of its digits."))
        return digits.lstrip("+")

    def clean_keywords(self):
        keywords = self.cleaned_data["keywords"].strip()
        if not storable(keywords):
            raise ValidationError(_("The keywords hold a character no text can contain."))
        if keywords and not parse_keywords(keywords):
            raise ValidationError(_("Type at least one word to search for (letters or digits)."))
        return keywords

    def clean(self):
        cleaned = super().clean()
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # an unreadable date: its own message says so
        start, end = cleaned.get("start"), cleaned.get("end")
        today = _today()
        if start is None and end is None:
            start, end = default_range()
        elif end is None:
            end = max(today, start)
        elif start is None:
            start = end - timedelta(days=settings.EDISCOVERY_DEFAULT_RANGE_DAYS)
        cleaned["start"], cleaned["end"] = start, end
        longest = settings.EDISCOVERY_MAX_RANGE_DAYS
        if start > today:
            raise ValidationError(_("The start date is in the future: no texts are there yet."), code="future")
        if end < start:
            raise ValidationError(_("The end date is before the start date."), code="reversed")
        if (end - start).days + 1 > longest:
            raise ValidationError(
                _("Search at most %(longest)s days at a time; this range is %(days)s days. Narrow the dates."),
                code="too_long",
                params={"longest": f"{longest:,}", "days": f"{(end - start).days + 1:,}"},
            )
        return cleaned

    def search(self) -> Search | None:
        """The search, or None when the form is refused (its errors say why)."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return Search(
            start=data["start"],
            end=data["end"],
            users=tuple(sorted(set(data["user"]))),
            numbers=data["numbers"],
            other_party=data["other_party"],
            direction=data["direction"],
            keywords=data["keywords"],
        )


def default_range() -> tuple[date, date]:
    today = _today()
    return today - timedelta(days=settings.EDISCOVERY_DEFAULT_RANGE_DAYS), today


def describe(organisation: Organisation, search: Search) -> list[tuple[str, str]]:
    """(label, value) pairs saying what `search` looks for, users by email."""
    emails = dict(User.objects.filter(organisation=organisation, pk__in=search.users).values_list("pk", "email"))
    rows = [(str(_("Dates")), f"{search.start.isoformat()} – {search.end.isoformat()}")]
    if search.users:
        rows.append((str(_("Users")), ", ".join(emails.get(pk, f"#{pk}") for pk in search.users)))
    if search.numbers:
        rows.append((str(_("Our numbers")), ", ".join(search.numbers)))
    if search.other_party:
        rows.append((str(_("Other party")), search.other_party))
    if search.direction:
        rows.append((str(_("Direction")), str(Message.Direction(search.direction).label)))
    if search.keywords:
        rows.append((str(_("Keywords")), search.keywords))
    return rows
