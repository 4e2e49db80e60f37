"""What a compliance officer does with the organisation's business texts (eDiscovery, SPEC.md 9), and the export's
life in the background. Every search, text viewed, export and download is recorded in the audit log.

Export states: queued → running → ready (downloadable until `expires_at`) or failed; `delete_expired_exports` deletes
ready exports past their expiry and failed ones, with their files.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.models import Organisation, User
from portal.transitions import ActionRefused, transition
from texting.models import Message

from .. import archive
from ..discovery import Search, describe, texts_matching
from ..models import DiscoveryExport

log = logging.getLogger(__name__)
Status = DiscoveryExport.Status


class ExportRefused(ActionRefused):
    """An export cannot be made or downloaded as asked."""


def _officer_of(organisation: Organisation, user: User) -> None:
    if not user.is_compliance_officer or user.organisation_id != organisation.pk:
        raise ExportRefused(_("Only the organisation's compliance officers search and export its texts."))


# --- reads that are recorded ----------------------------------------------------------------------------------------


def record_search(organisation: Organisation, officer: User, search: Search, *, page: int, shown: int) -> None:
    """A search (each page of results) as an audit event: who searched what, and how many texts the page showed."""
    _officer_of(organisation, officer)
    audit.record(
        "compliance.search", actor=officer, organisation=organisation, search=search.as_json(), page=page, shown=shown
    )


def record_text_view(organisation: Organisation, officer: User, text: Message) -> None:
    _officer_of(organisation, officer)
    audit.record("compliance.view_text", actor=officer, organisation=organisation, target=text)


def record_download(organisation: Organisation, officer: User, export: DiscoveryExport) -> None:
    """Refuses an export that is not (or no longer) downloadable; records the download otherwise."""
    _officer_of(organisation, officer)
    if not export.is_downloadable:
        raise ExportRefused(_("This export is not ready to download, or it has expired."))
    audit.record(
        "compliance.export_downloaded", actor=officer, organisation=organisation, target=export, sha256=export.sha256
    )


# --- the export ------------------------------------------------------------------------------------------------------


def request_export(organisation: Organisation, officer: User, search: Search) -> DiscoveryExport:
    """Queue an archive of `search`'s texts (audited); the worker builds it after the commit."""
    _officer_of(organisation, officer)
    with transaction.atomic():
        export = DiscoveryExport.objects.create(
            organisation=organisation,
            requested_by=officer,
            requested_by_email=officer.email,
            criteria=search.as_json(),
        )
        audit.record(
            "compliance.export_requested",
            actor=officer,
            organisation=organisation,
            target=export,
            search=search.as_json(),
        )

        from ..tasks import build_discovery_export

        transaction.on_commit(lambda: build_discovery_export.delay(export.pk))
    return export


def build_export(export_id: int) -> DiscoveryExport | None:
    """Write the archive of a queued (or, redelivered after a worker died, running) export and make it ready; on any
    error mark it failed with the reason. Idempotent: a ready or failed export is left alone; a rerun starts over
    and replaces the partial file."""
    with transaction.atomic():
        export = DiscoveryExport.objects.filter(pk=export_id).first()
        if export is None or not export.is_open:
            return export
        file_name = export.file_name or f"org-{export.organisation_id}/export-{export.pk}-{secrets.token_hex(8)}.zip"
        export, _left = transition(
            DiscoveryExport.objects.all(),
            export_id,
            Status.RUNNING,
            table=DiscoveryExport.TRANSITIONS,
            changes={"started_at": timezone.now(), "written": 0, "file_name": file_name},
        )
    organisation = export.organisation
    search = Search.from_json(export.criteria)
    texts = texts_matching(organisation, search)
    DiscoveryExport.objects.filter(pk=export_id).update(total=texts.count())
    manifest = {
        "export": export.pk,
        "organisation": organisation.name,
        "requested_by": export.requested_by_email,
        "requested_at": export.created.isoformat(),
        "generated_at": timezone.now().isoformat(),
        "search": search.as_json(),
        "search_in_words": dict(describe(organisation, search)),
    }
    try:
        manifest = archive.write_archive(
            export.path,
            archive.rows_of(texts),
            manifest,
            progress=lambda n: DiscoveryExport.objects.filter(pk=export_id).update(written=n),
        )
        size, digest = export.path.stat().st_size, archive.file_sha256(export.path)
    except Exception as exc:
        log.exception("eDiscovery export %s failed", export_id)
        fail_export(export_id, _("The archive could not be written: %(error)s") % {"error": str(exc)[:200]})
        return DiscoveryExport.objects.filter(pk=export_id).first()
    now = timezone.now()
    with transaction.atomic():
        export, _left = transition(
            DiscoveryExport.objects.all(),
            export_id,
            Status.READY,
            table=DiscoveryExport.TRANSITIONS,
            changes={
                "finished_at": now,
                "expires_at": now + timedelta(days=settings.EDISCOVERY_EXPORT_DAYS),
                "written": manifest["counts"]["texts"],
                "total": manifest["counts"]["texts"],
                "size_bytes": size,
                "sha256": digest,
                "manifest": manifest,
            },
        )
        audit.record(
            "compliance.export_ready",
            actor=None,
            organisation=organisation,
            target=export,
            texts=manifest["counts"]["texts"],
            sha256=digest,
        )
    return export


def fail_export(export_id: int, reason: str) -> None:
    with transaction.atomic():
        export = DiscoveryExport.objects.filter(pk=export_id).first()
        if export is None or not export.is_open:
            return
        export, _left = transition(
            DiscoveryExport.objects.all(),
            export_id,
            Status.FAILED,
            table=DiscoveryExport.TRANSITIONS,
            changes={"finished_at": timezone.now(), "detail": reason[:300]},
        )
        audit.record("compliance.export_failed", actor=None, organisation=export.organisation, target=export)
    archive.remove(export.path)


def delete_expired_exports(now=None) -> int:
    """Delete every ready export past its expiry and every failed one as old, with their files; returns how many. Each
    deletion is an audit event, so the record of what was exported outlives the archive."""
    now = now or timezone.now()
    deleted = 0
    kept_for = timedelta(days=settings.EDISCOVERY_EXPORT_DAYS)
    expired = DiscoveryExport.objects.filter(
        Q(status=Status.READY, expires_at__lte=now) | Q(status=Status.FAILED, finished_at__lte=now - kept_for)
    )
    for export in expired.select_related("organisation").iterator():
        with transaction.atomic():
            audit.record(
                "compliance.export_deleted",
                actor=None,
                organisation=export.organisation,
                target=export,
                status=export.status,
                expired=export.expires_at.isoformat() if export.expires_at else None,
                search=export.criteria,
            )
            DiscoveryExport.objects.filter(pk=export.pk).delete()
        archive.remove(export.path)
        deleted += 1
    return deleted
