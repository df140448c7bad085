"""Catalog test fixtures: a small definition folder (出生一件事, 企业开办一件事) and helpers to
load it or a modified copy of it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tongban.catalog.services import catalog_load_directory

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"


@pytest.fixture
def catalog_dir(tmp_path) -> Path:
    """A private copy of the fixture folder that a test may edit."""
    target = tmp_path / "catalog"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def loaded(db):
    return catalog_load_directory(path=FIXTURES)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture
def resident(db):
    """A resident with a login whose profile holds hukou district, ID number and phone."""
    from tongban.accounts.models import District
    from tongban.accounts.services import resident_account_create, resident_profile_create
    from tongban.accounts.validators import make_id_number

    profile = resident_profile_create(
        actor="system:test",
        name="张示例",
        id_number=make_id_number(District.XUHUI.value, dt.date(1990, 5, 17), 123),
        phone="13800000000",
        hukou_district=District.XUHUI.value,
        residence_district=District.XUHUI.value,
    )
    user = resident_account_create(
        actor="system:test", profile=profile, username="zhang", password="Tongban-测试-2024!"
    )
    return profile, user
