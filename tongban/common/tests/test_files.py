"""Stored files a dying process cannot orphan (tongban.common.files): every write and deletion
is noted in staging/ first; the tick settles notes a dead request left and, once a day,
removes files no row names."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from tongban.cases.models import MaterialSubmission
from tongban.cases.tests.conftest import PDF
from tongban.cases.tests.test_halls_handout import submit
from tongban.common import files
from tongban.common.models import AuditEvent

ZERO = dt.timedelta(0)


def _notes(media):
    folder = media / "staging"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _all(media):
    """Every stored file but the ones the `case` fixture's own filing stored."""
    return sorted(
        str(p.relative_to(media))
        for p in media.rglob("*")
        if p.is_file() and not str(p.relative_to(media)).startswith("cases/26")
    )


class Died(BaseException):
    """A process killed mid-request: no exception handler of ours runs, nothing commits."""


def test_a_committed_write_keeps_the_file_and_drops_its_note(
    case, media, django_capture_on_commit_callbacks
):
    staged = files.StagedFiles()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        name = staged.save("cases/T1/scan.pdf", ContentFile(PDF))
        # Noted before the first byte was written, while the transaction is open.
        [note] = _notes(media)
        assert (media / "staging" / note).read_text() == "cases/T1/scan.pdf"
        _material(case, name)
    assert name == "cases/T1/scan.pdf"
    assert _notes(media) == []
    assert (media / name).read_bytes() == PDF


@pytest.mark.django_db(transaction=True)
def test_staging_outside_a_transaction_is_refused_and_writes_nothing(media):
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        files.StagedFiles().save("cases/T0/scan.pdf", ContentFile(PDF))
    assert _all(media) == []


def test_a_failed_transaction_deletes_its_files_and_notes(db, media):
    staged = files.StagedFiles()
    with pytest.raises(RuntimeError):
        try:
            with transaction.atomic():
                staged.save("cases/T2/scan.pdf", ContentFile(PDF))
                raise RuntimeError("refused")
        except BaseException:
            staged.discard()
            raise
    assert _all(media) == []


def test_a_request_killed_before_its_commit_leaves_files_the_sweep_removes(case, media):
    staged = files.StagedFiles()
    with pytest.raises(Died), transaction.atomic():
        staged.save("cases/T3/a.pdf", ContentFile(PDF))
        staged.save("cases/T3/b.pdf", ContentFile(PDF[:100]))  # cut off mid-write
        raise Died()
    # Rolled back, and no handler ran: the files and their notes are still there.
    assert _all(media) == [
        "cases/T3/a.pdf",
        "cases/T3/b.pdf",
        *(f"staging/{n}" for n in _notes(media)),
    ]
    now = timezone.now()
    # Not yet: the request may still be running.
    assert files.staging_settle(now=now) == {"notes_settled": 0, "orphans_removed": 0}
    assert len(_notes(media)) == 2
    later = now + files.staging_grace() + dt.timedelta(seconds=1)
    assert files.staging_settle(now=later) == {"notes_settled": 2, "orphans_removed": 2}
    assert _all(media) == []
    audit = AuditEvent.objects.get(action=files.SWEEP_ACTION)
    assert (audit.actor_label, audit.data) == (
        "system:files",
        {"removed": 2, "names": ["cases/T3/a.pdf", "cases/T3/b.pdf"]},
    )


def test_a_request_killed_after_its_commit_keeps_its_files(case, media):
    staged = files.StagedFiles()
    # The commit happened; the process died before the after-commit callback dropped the note.
    name = staged.save("cases/T4/scan.pdf", ContentFile(PDF))
    _material(case, name)
    assert len(_notes(media)) == 1
    assert files.staging_settle(now=timezone.now(), grace=ZERO) == {
        "notes_settled": 1,
        "orphans_removed": 0,
    }
    assert _all(media) == ["cases/T4/scan.pdf"]
    assert not AuditEvent.objects.filter(action=files.SWEEP_ACTION).exists()


def test_a_deletion_killed_between_commit_and_delete_still_ends_with_the_file_gone(
    case, media, monkeypatch
):
    name = default_storage.save("drafts/1/1/x.pdf", ContentFile(PDF))
    row = _material(case, name)
    with monkeypatch.context() as m:  # the after-commit callback never runs
        m.setattr(transaction, "on_commit", lambda func, *a, **k: None)
        with transaction.atomic():
            files.delete_after_commit([name])
            row.delete()
    assert (media / name).exists()
    assert files.staging_settle(now=timezone.now(), grace=ZERO) == {
        "notes_settled": 1,
        "orphans_removed": 1,
    }
    assert _all(media) == []


def test_a_deletion_rolled_back_keeps_the_file(case, media):
    name = default_storage.save("drafts/1/1/y.pdf", ContentFile(PDF))
    _material(case, name)
    with pytest.raises(RuntimeError), transaction.atomic():
        files.delete_after_commit([name])
        MaterialSubmission.objects.filter(file=name).delete()
        raise RuntimeError("refused")
    assert files.staging_settle(now=timezone.now(), grace=ZERO) == {
        "notes_settled": 1,
        "orphans_removed": 0,
    }
    assert _all(media) == [name]


def test_the_daily_scan_removes_old_files_no_row_names(case, media):
    kept = default_storage.save("cases/T5/kept.pdf", ContentFile(PDF))
    _material(case, kept)
    old = default_storage.save("cases/T5/orphan.pdf", ContentFile(PDF))
    young = default_storage.save("assistance/2026/12/young.pdf", ContentFile(PDF))
    other = default_storage.save("keys/not-a-rows-file.bin", ContentFile(b"x"))
    two_days_ago = time.time() - 2 * 86400
    for name in (kept, old, other):
        os.utime(media / name, (two_days_ago, two_days_ago))
    now = timezone.now()
    assert files.file_roots() == ("assistance", "cases", "drafts")
    assert files.orphan_scan(now=now) == {"files_scanned": 4, "orphans_removed": 1}
    assert _all(media) == sorted([kept, young, other])
    audit = AuditEvent.objects.get(action=files.SCAN_ACTION)
    assert audit.data == {"scanned": 4, "removed": 1, "names": [old]}
    # The tick scans once a day: the next tick settles notes only.
    assert files.staging_sweep(now, now.date()) == {"notes_settled": 0, "orphans_removed": 0}


def test_a_case_submit_killed_before_commit_leaves_nothing_once_settled(
    db, catalog, media, resident, monkeypatch
):
    """The real write path: case_submit dies inside its transaction after storing its files,
    where a SIGKILL gives no handler the chance to clean up (discard is switched off)."""
    from tongban.cases.services import apply

    def die(*args, **kwargs):
        raise Died()

    monkeypatch.setattr(apply, "_store_waived", die)
    monkeypatch.setattr(files.StagedFiles, "discard", lambda self: None)
    with pytest.raises(Died):
        submit(resident, key="killed", materials=_uploads())
    uploads = [p for p in media.rglob("*") if p.is_file() and "cases" in p.parts]
    assert len(uploads) == 2 and len(_notes(media)) == 2
    assert files.staging_settle(now=timezone.now(), grace=ZERO) == {
        "notes_settled": 2,
        "orphans_removed": 2,
    }
    assert [p for p in media.rglob("*") if p.is_file()] == []


def _uploads():
    from tongban.cases.tests.conftest import birth_materials

    return birth_materials()


@pytest.fixture
def case(db, catalog, media, resident):
    """出生一件事 filed and committed (its own upload stored, its notes gone)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        filed = submit(resident, key="files-1")
    assert _notes(media) == []
    return filed


def _material(case, name):
    """A committed upload row of CASE naming NAME."""
    return MaterialSubmission.objects.create(
        case=case,
        material_code="extra",
        how="upload",
        file=name,
        original_name="scan.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
