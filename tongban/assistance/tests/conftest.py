"""Assistance fixtures: the case fixtures (catalog, staff in every department, a resident)
and an accepted 出生一件事 whose police task (出生登记) is pending review."""

from __future__ import annotations

import pytest

from tongban.cases import services as case_services
from tongban.cases.models import Task, TaskStatus
from tongban.cases.tests.conftest import (  # noqa: F401 — fixtures
    BIRTH_ANSWERS,
    birth_form,
    birth_materials,
    catalog,
    media,
    other_resident,
    resident,
    staff,
)


def submit(resident, key="k1"):  # noqa: F811
    return case_services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=birth_materials(),
        idempotency_key=key,
    )


@pytest.fixture
def case(resident, staff):  # noqa: F811
    return submit(resident)


@pytest.fixture
def task(case):
    t = Task.objects.get(case=case, item_code="birth_registration")
    assert t.status == TaskStatus.PENDING
    return t
