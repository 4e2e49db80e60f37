"""`manage.py purge_expired_messages [--dry-run] [--batch-size N] [--max-batches N]`: the nightly retention purge, by
hand. Runs exactly the code the beat task runs (texting.retention)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from texting.models import PurgeRun
from texting.retention import purge_expired_messages


class Command(BaseCommand):
    help = "Delete business texts older than the retention period (MESSAGE_RETENTION_DAYS) in batches."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the expired texts; delete nothing.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=f"Rows per batch transaction (default {settings.MESSAGE_RETENTION_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--max-batches", type=int, default=None, help="Stop after this many batches (the next run continues)."
        )

    def handle(self, *args, dry_run=False, batch_size=None, max_batches=None, verbosity=1, **options):
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if max_batches is not None and max_batches < 1:
            raise CommandError("--max-batches must be at least 1.")

        def progress(run):
            if verbosity >= 2:
                self.stdout.write(f"  batch {run.batches}: {run.rows_deleted} rows deleted so far")

        run = purge_expired_messages(batch_size=batch_size, max_batches=max_batches, dry_run=dry_run, progress=progress)
        cutoff = run.cutoff.isoformat(timespec="seconds")
        if dry_run:
            held = f" {run.kept_by_holds} more are kept by legal holds." if run.kept_by_holds else ""
            self.stdout.write(
                f"Dry run: {run.rows_matched} texts are older than {cutoff} "
                f"({run.retention_days} days); nothing was deleted.{held}"
            )
            return
        line = (
            f"{run.get_outcome_display()}: {run.rows_deleted} texts older than {cutoff} deleted in "
            f"{run.batches} batches of at most {run.batch_size} (longest {run.longest_batch_ms} ms)."
        )
        if run.kept_by_holds:
            line += f" {run.kept_by_holds} expired texts were kept: legal holds cover them."
        if run.outcome in (PurgeRun.Outcome.COMPLETED, PurgeRun.Outcome.STOPPED):
            self.stdout.write(self.style.SUCCESS(line))
        else:
            raise CommandError(f"{line} {run.detail}")
