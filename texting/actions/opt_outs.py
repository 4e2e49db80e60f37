"""The organisation's opt-out registry, changed by hand: a full administrator adds a number (with a reason), removes
one (with a reason) or imports a do-not-text list. Each change is audited and applies to the very next text: the
sending policy reads the registry on every send (texting.policy). STOP / START from the parties themselves are in
`receiving`."""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal import audit
from portal.lists import storable
from portal.models import Organisation, User
from provisioning.phone import display_tn, normalise_tn

from ..models import OptOut
from .refusals import TextingError

REASON_LENGTH = OptOut._meta.get_field("reason").max_length
# A do-not-text list is read whole into memory and applied in one transaction: keep it to a size that does that
# in a second or two. Bigger lists are split into several files.
MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_NUMBERS = 10_000
# The errors an import page lists; the rest are counted.
MAX_ERRORS_SHOWN = 100


def clean_reason(reason, what: str = "") -> str:
    """A reason an administrator typed: required, at most REASON_LENGTH characters, storable. TextingError
    otherwise."""
    text = (reason if isinstance(reason, str) else "").strip()
    if not text:
        raise TextingError(what or _("Say why: a reason is required."))
    if len(text) > REASON_LENGTH:
        raise TextingError(_("A reason has at most %(limit)d characters.") % {"limit": REASON_LENGTH})
    if not storable(text):
        raise TextingError(_("The reason cannot contain NUL characters."))
    return text


def _check_admin(org: Organisation, by: User) -> None:
    if not by.can_manage or by.organisation_id != org.pk:
        raise TextingError(_("Only full administrators of this organisation can change its opt-out registry."))


def _start(entry: OptOut, *, source: str, reason: str, by: User, now) -> None:
    """(Re)start `entry` as an opt-out an administrator made; the caller saves it."""
    entry.source, entry.reason, entry.added_by = source, reason, by
    entry.opted_out_at, entry.opted_in_at = now, None
    entry.keyword = entry.business_number = ""
    entry.removed_by, entry.removal_reason = None, ""


RESTART_FIELDS = [
    "source",
    "reason",
    "added_by",
    "opted_out_at",
    "opted_in_at",
    "keyword",
    "business_number",
    "removed_by",
    "removal_reason",
]


def add_opt_out(org: Organisation, by: User, number, reason) -> OptOut:
    """A full administrator puts a number on the registry by hand (source *manual*): from the next text on, nobody
    in the organisation can text it. Refuses (TextingError, nothing changes) a number that is not a valid US or
    Canadian one, a missing or too long reason, and a number already on the registry. A number whose earlier
    opt-out ended (START, or removed) is opted out again on the same row. Audited."""
    _check_admin(org, by)
    try:
        party = normalise_tn(number if isinstance(number, str) else "")
    except ValidationError as exc:
        raise TextingError(exc.messages[0]) from None
    reason = clean_reason(reason)
    now = timezone.now()
    try:
        with transaction.atomic():
            entry = OptOut.objects.select_for_update().filter(organisation=org, party=party).first()
            if entry is not None and entry.is_active:
                raise TextingError(
                    _("%(number)s is already on the opt-out registry (since %(since)s, %(source)s).")
                    % {
                        "number": display_tn(party),
                        "since": f"{entry.opted_out_at:%Y-%m-%d}",
                        "source": entry.get_source_display().lower(),
                    }
                )
            if entry is None:
                entry = OptOut(organisation=org, party=party)
            _start(entry, source=OptOut.Source.MANUAL, reason=reason, by=by, now=now)
            entry.save()
            audit.record("texting.opt_out.added", actor=by, organisation=org, target=entry, party=party, reason=reason)
    except IntegrityError:
        # A STOP from that very number was stored at the same moment: it is on the registry either way.
        raise TextingError(
            _("%(number)s is already on the opt-out registry.") % {"number": display_tn(party)}
        ) from None
    return entry


def remove_opt_out(org: Organisation, by: User, opt_out_id: int, reason) -> OptOut:
    """A full administrator takes a number off the registry, with a reason: from the next text on, the organisation
    may text it again. The row is kept (who removed it, when, why). Refuses an entry no longer in effect and a
    missing reason (TextingError, nothing changes); another organisation's entry is OptOut.DoesNotExist. Audited."""
    _check_admin(org, by)
    reason = clean_reason(reason)
    with transaction.atomic():
        entry = OptOut.objects.select_for_update().get(pk=opt_out_id, organisation=org)
        if not entry.is_active:
            raise TextingError(
                _("%(number)s is no longer on the opt-out registry.") % {"number": display_tn(entry.party)}
            )
        entry.opted_in_at, entry.removed_by, entry.removal_reason = timezone.now(), by, reason
        entry.save(update_fields=["opted_in_at", "removed_by", "removal_reason"])
        audit.record(
            "texting.opt_out.removed",
            actor=by,
            organisation=org,
            target=entry,
            party=entry.party,
            source=entry.source,
            reason=reason,
        )
    return entry


# --- importing a do-not-text list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportLine:
    line: int
    party: str  # E.164
    reason: str  # the line's own reason, or empty (the import's reason applies)


@dataclass
class ImportCheck:
    """What a do-not-text file holds: its numbers, or the errors that refuse it (line 0: the file as a whole)."""

    lines: list[ImportLine] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return len(self.errors)


class ImportRefused(TextingError):
    """The file has errors: nothing was imported. `errors` are (line number, message), line 0 for the whole file."""

    def __init__(self, message: str, errors: list[tuple[int, str]]):
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    added: int  # numbers new to the registry
    restarted: int  # numbers whose earlier opt-out had ended (START or removed), opted out again
    already: int  # numbers already on the registry, left as they were

    @property
    def applied(self) -> int:
        return self.added + self.restarted


def check_do_not_text_file(content: bytes) -> ImportCheck:
    """Read a do-not-text list: CSV (UTF-8), one number per line in the first column, in any usual writing
    (+1 415 555 0123, (415) 555-0123); an optional second column is that line's reason. A first line whose first
    cell has no digit is a header; blank lines are skipped. Every problem is reported with its line number: a
    number that is not a valid US or Canadian one, a number already on an earlier line, a reason that is too long,
    more than MAX_IMPORT_NUMBERS numbers; a file over MAX_IMPORT_BYTES, not UTF-8 or holding no number at all is
    refused as a whole (line 0). Changes nothing."""
    check = ImportCheck()
    if len(content) > MAX_IMPORT_BYTES:
        check.errors.append(
            (
                0,
                _("The file is larger than %(size)s KB: split it into smaller files.")
                % {"size": MAX_IMPORT_BYTES // 1024},
            )
        )
        return check
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        check.errors.append((0, _("The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again.")))
        return check
    if "\x00" in text:
        check.errors.append((0, _("The file holds NUL characters: it is not a CSV text file.")))
        return check
    reader = csv.reader(io.StringIO(text, newline=""))
    seen: dict[str, int] = {}
    first_row = True
    rows = 0
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if first_row and not any(ch.isdigit() for ch in cells[0]):
                first_row = False
                continue  # a header ("number", "phone", ...)
            first_row = False
            rows += 1
            if rows > MAX_IMPORT_NUMBERS:
                check.errors.append(
                    (
                        line,
                        _("More than %(limit)s numbers: a list holds at most %(limit)s; split the file.")
                        % {"limit": number_format(MAX_IMPORT_NUMBERS, force_grouping=True)},
                    )
                )
                break
            _check_line(check, seen, line, cells)
    except csv.Error as exc:
        check.errors.append((reader.line_num, _("This line is not valid CSV (%(error)s).") % {"error": exc}))
    if not check.lines and not check.errors:
        check.errors.append((0, _("The file holds no telephone numbers.")))
    return check


def _check_line(check: ImportCheck, seen: dict[str, int], line: int, cells: list[str]) -> None:
    try:
        party = normalise_tn(cells[0])
    except ValidationError as exc:
        check.errors.append((line, exc.messages[0]))
        return
    reason = cells[1] if len(cells) > 1 else ""
    if party in seen:
        check.errors.append(
            (line, _("%(number)s is already on line %(line)d.") % {"number": display_tn(party), "line": seen[party]})
        )
        return
    seen[party] = line
    if len(reason) > REASON_LENGTH:
        check.errors.append((line, _("The reason has more than %(limit)d characters.") % {"limit": REASON_LENGTH}))
        return
    check.lines.append(ImportLine(line, party, reason))


def import_do_not_text_list(
    org: Organisation, by: User, content: bytes, reason, *, file_name: str = ""
) -> ImportResult:
    """A full administrator imports a do-not-text list (check_do_not_text_file): all or nothing. Any error in the
    file raises ImportRefused with every error and imports nothing; a clean file is applied in one transaction
    (source *import*, the line's reason or else the import's), with one audit event carrying the counts. Numbers
    already on the registry are left as they were (counted); numbers whose opt-out had ended are opted out again."""
    _check_admin(org, by)
    reason = clean_reason(reason, _("Say why you import this list: a reason is required."))
    check = check_do_not_text_file(content)
    if check.errors:
        raise ImportRefused(
            ngettext(
                "The file has an error: nothing was imported. Correct it and upload it again.",
                "The file has %(count)d errors: nothing was imported. Correct them and upload it again.",
                check.error_count,
            )
            % {"count": check.error_count},
            check.errors,
        )
    now = timezone.now()
    wanted = {item.party: item for item in check.lines}
    try:
        with transaction.atomic():
            existing = {}
            parties = list(wanted)
            for start in range(0, len(parties), 500):
                for entry in OptOut.objects.select_for_update().filter(
                    organisation=org, party__in=parties[start : start + 500]
                ):
                    existing[entry.party] = entry
            restarted, created, already = [], [], 0
            for party, item in wanted.items():
                entry = existing.get(party)
                if entry is not None and entry.is_active:
                    already += 1
                    continue
                if entry is None:
                    entry = OptOut(organisation=org, party=party)
                    created.append(entry)
                else:
                    restarted.append(entry)
                _start(entry, source=OptOut.Source.IMPORT, reason=item.reason or reason, by=by, now=now)
            OptOut.objects.bulk_create(created, batch_size=500)
            OptOut.objects.bulk_update(restarted, RESTART_FIELDS, batch_size=500)
            result = ImportResult(added=len(created), restarted=len(restarted), already=already)
            audit.record(
                "texting.opt_outs.imported",
                actor=by,
                organisation=org,
                count=result.applied,
                added=result.added,
                restarted=result.restarted,
                already=result.already,
                lines=len(check.lines),
                reason=reason,
                file=file_name[:200],
            )
    except IntegrityError:
        # A STOP from one of the numbers was stored while the list was applied: the whole import rolled back.
        raise ImportRefused(
            _("A number of the list opted out by STOP at the same moment: nothing was imported. Upload it again."), []
        ) from None
    return result


def record_opt_out_export(org: Organisation, by: User, *, rows: int, search: str, state: str) -> None:
    """Write the audit event of a CSV export of the registry (what was asked for and how many rows it held)."""
    with transaction.atomic():
        audit.record("texting.opt_outs.exported", actor=by, organisation=org, rows=rows, search=search, state=state)
