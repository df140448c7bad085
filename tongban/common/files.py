"""Stored files that a dying process cannot orphan (暂存登记).

Uploaded materials are personal documents: a file on disk that no row names is a copy of
someone's papers nobody can reach, delete or account for. A request writes its files inside
its transaction, before the commit; a process killed there rolls the database back and, left
alone, keeps the files. So every write and every deletion is first noted in the storage's
`staging/` folder — one small note per file name, written before the file's first byte —
and the note is removed once the transaction's outcome is settled:

- committed: the row names the file, which was complete before the row was written; the
  note goes;
- rolled back by an exception: the files written are deleted at once, then the notes;
- the process died (no commit callback, no exception handler): the note stays, and the
  maintenance tick (`staging_sweep`) settles it after STAGING_GRACE: a file that a committed
  row names is kept, any other is deleted (and so is a half-written one), audited.

A deletion works the same way from the other side: the note is written in the transaction
that deletes the row, the file is deleted after the commit, and a note left behind by a
death between the two deletes the file then — unless the row is still there (rolled back).

Once a day the tick also walks the folders that hold rows' files (the first folder of every
FileField's upload_to: cases/, drafts/, assistance/) for files no row names that are older
than a day — orphans from before these notes existed — and removes them, audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from functools import lru_cache

from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import models, transaction

logger = logging.getLogger(__name__)

STAGING_DIR = "staging"
_NOTE = re.compile(r"^(\d{13})-([0-9a-f]{32})\.note$")
ORPHAN_MIN_AGE = dt.timedelta(days=1)
SCAN_ACTION = "files.orphan_scan"
SWEEP_ACTION = "files.staging_settled"
AUDIT_NAMES_MAX = 200  # names listed in one audit row; the count is always complete


def staging_grace() -> dt.timedelta:
    """How long a note may stand before the sweep settles it: longer than any request's
    transaction can last (gunicorn's timeout is far shorter)."""
    return dt.timedelta(seconds=getattr(settings, "TONGBAN_FILE_STAGING_GRACE_SECONDS", 900))


def _note(name: str) -> str:
    """Write the note for NAME; returns the note's own name."""
    note = f"{STAGING_DIR}/{int(time.time() * 1000):013d}-{uuid.uuid4().hex}.note"
    return default_storage.save(note, ContentFile(name.encode("utf-8")))


def _unnote(notes: Iterable[str]) -> None:
    for note in notes:
        try:
            default_storage.delete(note)
        except OSError:  # the sweep removes it later
            logger.warning("staging note %s could not be removed", note)


def _delete(names: Iterable[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:  # the note stays, so the sweep tries again
            logger.warning("stored file %s could not be removed", name)
            raise


class StagedFiles:
    """The files one transaction writes. Use inside `transaction.atomic()`, and call
    `discard()` when the transaction fails:

        staged = StagedFiles()
        try:
            with transaction.atomic():
                name = staged.save("cases/…/x.pdf", ContentFile(data))
                MaterialSubmission.objects.create(file=name, …)
        except BaseException:
            staged.discard()
            raise
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self.notes: list[str] = []

    def save(self, name: str, content: File) -> str:
        """Store CONTENT under NAME (or the free name next to it); the stored name."""
        if not transaction.get_connection().in_atomic_block:
            # In autocommit the commit callback would run at once, before the row exists.
            raise RuntimeError("StagedFiles.save must run inside transaction.atomic()")
        wanted = default_storage.get_available_name(name)
        if not self.notes:
            transaction.on_commit(self._settled)
        self.notes.append(_note(wanted))
        stored = default_storage.save(wanted, content)
        if stored != wanted:  # taken meanwhile by another request: note the name it got
            self.notes.append(_note(stored))
        self.names.append(stored)
        return stored

    def _settled(self) -> None:
        # Committed: the rows name the files now.
        _unnote(self.notes)
        self.names, self.notes = [], []

    def discard(self) -> None:
        """The transaction failed: delete what was written, then the notes."""
        try:
            _delete(self.names)
        except OSError:
            return  # the notes stay: the sweep deletes the files later
        _unnote(self.notes)
        self.names, self.notes = [], []


def delete_after_commit(names: Iterable[str]) -> None:
    """Delete the stored files NAMES once the current transaction (which deletes the rows
    naming them) commits; noted first, so a death in between still ends with them gone."""
    names = [n for n in names if n]
    if not names:
        return
    notes = [_note(n) for n in names]

    def run() -> None:
        try:
            _delete(names)
        except OSError:
            return
        _unnote(notes)

    transaction.on_commit(run)


# ---------------------------------------------------------------- the sweep


@lru_cache(maxsize=1)
def file_fields() -> tuple[tuple[type[models.Model], str], ...]:
    """Every (model, field name) that names a stored file."""
    out = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                out.append((model, field.name))
    return tuple(out)


def file_roots() -> tuple[str, ...]:
    """The top folders the rows' files live in (first folder of each upload_to)."""
    roots = set()
    for model, name in file_fields():
        upload_to = model._meta.get_field(name).upload_to
        if isinstance(upload_to, str) and upload_to.strip("/"):
            roots.add(upload_to.strip("/").split("/")[0])
    return tuple(sorted(roots))


def referenced(names: Iterable[str]) -> set[str]:
    """Which of NAMES a committed row names."""
    names = list(dict.fromkeys(names))
    found: set[str] = set()
    for i in range(0, len(names), 500):
        chunk = names[i : i + 500]
        for model, field in file_fields():
            found.update(
                model._base_manager.filter(**{f"{field}__in": chunk}).values_list(field, flat=True)
            )
    return found


def _exists(name: str) -> bool:
    try:
        return default_storage.exists(name)
    except OSError:
        return False


def _notes() -> list[tuple[str, dt.datetime]]:
    try:
        _dirs, files = default_storage.listdir(STAGING_DIR)
    except FileNotFoundError:
        return []
    out = []
    for file in files:
        match = _NOTE.match(file)
        if match:
            at = dt.datetime.fromtimestamp(int(match.group(1)) / 1000, tz=dt.UTC)
            out.append((f"{STAGING_DIR}/{file}", at))
    return sorted(out, key=lambda n: n[1])


def staging_settle(*, now: dt.datetime, grace: dt.timedelta | None = None) -> dict[str, int]:
    """Settle every note older than GRACE: keep the files committed rows name, delete the
    others. Returns the counts; one audit row lists what was removed."""
    from tongban.common.services import audit_record

    grace = staging_grace() if grace is None else grace
    due = [(note, at) for note, at in _notes() if at <= now - grace]
    if not due:
        return {"notes_settled": 0, "orphans_removed": 0}
    named: dict[str, str] = {}
    for note, _at in due:
        try:
            with default_storage.open(note, "rb") as fh:
                named[note] = fh.read().decode("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            named[note] = ""
    kept = referenced(n for n in named.values() if n)
    removed: list[str] = []
    for note, name in named.items():
        if name and name not in kept and _exists(name):
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("orphan %s could not be removed; kept its note", name)
                continue
            removed.append(name)
        _unnote([note])
    if removed:
        logger.warning("removed %d stored files no committed row names", len(removed))
        audit_record(
            actor=None,
            actor_label="system:files",
            action=SWEEP_ACTION,
            object_type="file",
            purpose="清理未提交的暂存文件",
            data={"removed": len(removed), "names": sorted(removed)[:AUDIT_NAMES_MAX]},
        )
    return {"notes_settled": len(named), "orphans_removed": len(removed)}


def _walk(root: str) -> Iterator[str]:
    try:
        dirs, files = default_storage.listdir(root)
    except FileNotFoundError:
        return
    for file in files:
        yield f"{root}/{file}"
    for d in dirs:
        yield from _walk(f"{root}/{d}")


def orphan_scan(*, now: dt.datetime, min_age: dt.timedelta = ORPHAN_MIN_AGE) -> dict[str, int]:
    """Walk the rows' folders and remove files no committed row names and older than
    MIN_AGE. Returns the counts; one audit row records the scan."""
    from tongban.common.services import audit_record

    scanned, removed = 0, []
    for root in file_roots():
        batch: list[str] = []
        for name in _walk(root):
            scanned += 1
            batch.append(name)
            if len(batch) >= 1000:
                removed += _remove_unreferenced(batch, now - min_age)
                batch = []
        removed += _remove_unreferenced(batch, now - min_age)
    if removed:
        logger.warning("removed %d orphaned stored files", len(removed))
    audit_record(
        actor=None,
        actor_label="system:files",
        action=SCAN_ACTION,
        object_type="file",
        purpose="清理无记录的存储文件",
        data={
            "scanned": scanned,
            "removed": len(removed),
            "names": sorted(removed)[:AUDIT_NAMES_MAX],
        },
    )
    return {"files_scanned": scanned, "orphans_removed": len(removed)}


def _remove_unreferenced(names: list[str], before: dt.datetime) -> list[str]:
    if not names:
        return []
    kept = referenced(names)
    out = []
    for name in names:
        if name in kept:
            continue
        try:
            if default_storage.get_modified_time(name) > before:
                continue  # may belong to a request still under way
            default_storage.delete(name)
        except (OSError, NotImplementedError):
            continue
        out.append(name)
    return out


def staging_sweep(now: dt.datetime, today: dt.date) -> dict[str, int]:
    """The maintenance tick's part: settle old notes every tick, scan for orphans daily."""
    from tongban.common.models import AuditEvent

    counts = staging_settle(now=now)
    scanned_today = AuditEvent.objects.filter(
        action=SCAN_ACTION, at__gte=now - dt.timedelta(hours=23)
    ).exists()
    if not scanned_today:
        scan = orphan_scan(now=now)
        counts["scanned"] = scan["files_scanned"]
        counts["orphans_removed"] += scan["orphans_removed"]
    return counts
