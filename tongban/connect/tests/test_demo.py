"""The demo city's 示例接入应用: made once, labelled 示例, the department system acting as a
reviewer of 民政局."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import DepartmentFactory
from tongban.connect.models import ConnectedClient
from tongban.demo.connect import ensure_demo_clients

pytestmark = pytest.mark.django_db


def test_demo_clients_are_made_once():
    DepartmentFactory(code="SH-MZJ", name="示例市民政局")
    lines: list[str] = []
    ensure_demo_clients(write=lines.append)
    ensure_demo_clients(write=lines.append)
    rows = ConnectedClient.objects.select_related("application").order_by("pk")
    assert [(c.application.client_id, c.kind, c.allowed_scopes, c.is_synthetic) for c in rows] == [
        ("demo-gjj-website", "website", "openid profile id_number", True),
        ("demo-suishenban-app", "mobile_app", "openid profile me cases", True),
        ("demo-mzj-system", "department_system", "workbench", True),
    ]
    assert all(c.application.name.startswith("示例") for c in rows)
    assert rows[1].application.client_type == "public"
    account = rows[2].service_account
    assert list(account.staff_assignments.values_list("department__code", "role")) == [
        ("SH-MZJ", "reviewer")
    ]
    assert len(lines) == 3  # the secrets are printed the first time only
