"""Fixtures for 轮候 tests (the test modules name this module in `pytest_plugins`): a small
catalog — the demo departments, the whole data dictionary and the two items the demo lists
serve — loaded per test, the demo waiting lists, and the list's department staff."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.appointments.models import WaitingList
from tongban.appointments.services.waitlist import waiting_lists_load
from tongban.appointments.tests.factories_waitlist import CARE, DEMO, ITEMS
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory


@pytest.fixture(scope="session")
def waitlist_catalog_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("waitlist_catalog")
    shutil.copy(DEMO / "departments.yaml", root / "departments.yaml")
    shutil.copytree(DEMO / "elements", root / "elements")
    (root / "items").mkdir()
    for code in ITEMS:
        shutil.copy(DEMO / "items" / f"{code}.yaml", root / "items" / f"{code}.yaml")
    return root


@pytest.fixture
def lists(db, waitlist_catalog_dir) -> dict[str, WaitingList]:
    catalog_load_directory(path=waitlist_catalog_dir)
    waiting_lists_load(directory=DEMO / "waiting_lists", actor_label="system:test")
    return {wl.code: wl for wl in WaitingList.objects.all()}


@pytest.fixture
def care(lists) -> WaitingList:
    return lists[CARE]


@dataclass
class Staff:
    acceptor: Any
    reviewer: Any
    issuer: Any  # a post of the department that does not keep lists
    other: Any  # a reviewer of another department


@pytest.fixture
def staff(lists) -> Staff:
    mzj = Department.objects.get(code="SH-MZJ")
    other = Department.objects.get(code="SH-GA")
    return Staff(
        acceptor=StaffFactory(department=mzj, role=StaffRole.ACCEPTOR),
        reviewer=StaffFactory(department=mzj, role=StaffRole.REVIEWER),
        issuer=StaffFactory(department=mzj, role=StaffRole.ISSUER),
        other=StaffFactory(department=other, role=StaffRole.REVIEWER),
    )
