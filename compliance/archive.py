"""Writing an eDiscovery archive: a ZIP holding the texts as CSV (`texts.csv`) and as JSON Lines (`texts.jsonl`), and
`manifest.json` (the search, the counts, and the SHA-256 and size of each of the two files).

Memory does not grow with the number of texts: rows come from the database in chunks (`iterator(chunk_size)`, a
server-side cursor on PostgreSQL), each is written to the CSV entry of the ZIP as it arrives and to a temporary JSON
Lines file beside the archive (a ZIP writes one entry at a time; one pass over the texts keeps the two files the same
texts even while new ones arrive), which is then copied into the ZIP in blocks. Each file is hashed as it is written.
"""

import contextlib
import csv
import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from django.db.models import QuerySet

# The columns of both files, in order. `user_email` is the texting user's (outbound texts), empty otherwise.
FIELDS = (
    ("id", "id"),
    ("created_at", "created_at"),
    ("direction", "direction"),
    ("business_number", "business_number"),
    ("other_party", "other_party"),
    ("user_email", "user__email"),
    ("status", "status"),
    ("blocked_reason", "blocked_reason"),
    ("status_detail", "status_detail"),
    ("automatic_reply", "is_automatic_reply"),
    ("encoding", "encoding"),
    ("segments", "segments"),
    ("carrier_message_id", "carrier_message_id"),
    ("body", "body"),
)
COLUMNS = [name for name, _ in FIELDS]
CHUNK_SIZE = 2000
# Fast deflate: texts compress well even so, and the export's time is mostly compression at higher levels.
COMPRESS_LEVEL = 1
COPY_BLOCK = 1 << 20


class HashingWriter:
    """Writes text (UTF-8) to a binary file in blocks of about BLOCK characters, keeping the SHA-256 and the size of
    what went through. Rows arrive one by one; compressing and hashing them one by one would cost a call each."""

    BLOCK = 1 << 16

    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0
        self._pending: list[str] = []
        self._pending_chars = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars >= self.BLOCK:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            data = "".join(self._pending).encode("utf-8")
            self._pending, self._pending_chars = [], 0
            self.digest.update(data)
            self.size += len(data)
            self.raw.write(data)


def rows_of(texts: QuerySet) -> Iterable[tuple]:
    """The texts as tuples of FIELDS' values, oldest first, fetched CHUNK_SIZE at a time."""
    return texts.order_by("created_at", "id").values_list(*[f for _, f in FIELDS]).iterator(chunk_size=CHUNK_SIZE)


def _as_record(row: tuple) -> dict:
    record = dict(zip(COLUMNS, row, strict=True))
    record["created_at"] = record["created_at"].isoformat()
    record["user_email"] = record["user_email"] or ""
    return record


def write_archive(
    path: Path,
    rows: Iterable[tuple],
    manifest: dict,
    *,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 5000,
) -> dict:
    """Write the archive of `rows` to `path` (atomically: a partial archive never has the final name) and return the
    manifest written into it: `manifest` plus `counts` and `files`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    jsonl_path = path.with_name(path.name + ".jsonl.partial")
    counts = {"texts": 0, "outbound": 0, "inbound": 0}
    try:
        with zipfile.ZipFile(
            partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL, allowZip64=True
        ) as archive:
            with (
                archive.open("texts.csv", "w", force_zip64=True) as csv_entry,
                open(jsonl_path, "wb") as jsonl_file,
            ):
                csv_out, jsonl_out = HashingWriter(csv_entry), HashingWriter(jsonl_file)
                writer = csv.writer(csv_out, lineterminator="\r\n")
                writer.writerow(COLUMNS)
                encode = json.JSONEncoder(ensure_ascii=False).encode
                for row in rows:
                    record = _as_record(row)
                    writer.writerow(record.values())
                    jsonl_out.write(encode(record))
                    jsonl_out.write("\n")
                    counts["texts"] += 1
                    counts[record["direction"]] = counts.get(record["direction"], 0) + 1
                    if progress is not None and counts["texts"] % progress_every == 0:
                        progress(counts["texts"])
                csv_out.flush()
                jsonl_out.flush()
            with archive.open("texts.jsonl", "w", force_zip64=True) as entry, open(jsonl_path, "rb") as source:
                shutil.copyfileobj(source, entry, COPY_BLOCK)
            manifest = {
                **manifest,
                "counts": counts,
                "files": [
                    {"name": "texts.csv", "sha256": csv_out.digest.hexdigest(), "bytes": csv_out.size},
                    {"name": "texts.jsonl", "sha256": jsonl_out.digest.hexdigest(), "bytes": jsonl_out.size},
                ],
                "columns": COLUMNS,
            }
            archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        os.replace(partial, path)
    finally:
        for leftover in (partial, jsonl_path):
            remove(leftover)
    if progress is not None:
        progress(counts["texts"])
    return manifest


def remove(path: Path | None) -> None:
    """Delete the file at `path` if there is one; a path that cannot hold a file (its directory is gone or is a file)
    has nothing to delete either."""
    if path is not None:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(COPY_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()
