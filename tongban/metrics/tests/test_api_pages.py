"""API, pages and exports of 服务指标, and who may read them."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import StaffFactory
from tongban.cases.tests.conftest import birth_case
from tongban.catalog.models import Department
from tongban.metrics import services
from tongban.metrics.models import ActiveDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def rolled(resident, staff):
    case = birth_case(resident)
    services.rollup_day(day=timezone.localdate())
    return case


@pytest.fixture
def operator(catalog):
    return StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.CITY_OPERATOR
    )


def _client(client, user):
    client.force_login(user)
    return client


def test_who_may_read_the_staff_figures(client, rolled, resident, staff, operator):
    assert client.get("/api/v1/metrics/summary").status_code == 401
    client.force_login(resident.user)
    assert client.get("/api/v1/metrics/summary").json()["code"] == "STAFF_ONLY"
    client.force_login(staff.reviewer["police"])
    refused = client.get("/api/v1/metrics/summary")
    assert (refused.status_code, refused.json()["code"]) == (403, "METRICS_FORBIDDEN")
    client.force_login(operator)
    body = client.get("/api/v1/metrics/summary").json()
    assert body["cases"]["submitted"] == 1
    assert body["cases"]["online_share"] == "1.0000"
    assert body["targets"]["online_share"]["value"] == 0.8


def test_a_department_lead_sees_their_department_and_is_refused_another(client, rolled):
    civil = Department.objects.exclude(pk=rolled.lead_department_id).order_by("code").first()
    lead = StaffFactory(department=rolled.lead_department, role=StaffRole.DEPARTMENT_LEAD)
    other_lead = StaffFactory(department=civil, role=StaffRole.DEPARTMENT_LEAD)
    client.force_login(lead)
    own = client.get("/api/v1/metrics/breakdown", {"by": "department"}).json()
    assert [(r["code"], r["cases"]["submitted"]) for r in own["rows"]] == [
        (rolled.lead_department.code, 1)
    ]
    refused = client.get("/api/v1/metrics/summary", {"department": civil.code})
    assert (refused.status_code, refused.json()["code"]) == (422, "METRICS_DEPARTMENT_FORBIDDEN")
    client.force_login(other_lead)
    assert client.get("/api/v1/metrics/summary").json()["cases"]["submitted"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "end"),
        ({"department": "nope"}, "department"),
        ({"channel": "fax"}, "channel"),
        ({"service": "NOPE-1"}, "service"),
    ],
)
def test_bad_filters_are_a_422_naming_the_field(client, operator, params, field):
    client.force_login(operator)
    response = client.get("/api/v1/metrics/summary", params)
    assert response.status_code == 422
    assert response.json()["code"] == "METRICS_FILTER_INVALID"
    assert response.json()["details"][0]["field"] == field


def test_public_figures_withhold_small_groups(client, rolled):
    body = client.get("/api/v1/metrics/public").json()
    assert body["min_cell"] == 10
    assert body["cases"] == {
        "submitted": None,
        "online_share": None,
        "full_online_rate": None,
        "same_day_rate": None,
        "on_time_rate": None,
        "spared_rate": None,
        "average_working_days": None,
        "withheld": True,
    }
    html = client.get("/figures/").content.decode()
    assert "本期办件少于10件，不公布办件指标" in html


def test_public_figures_page_refuses_a_bad_year_politely(client, catalog):
    response = client.get("/figures/", {"year": "abc"})
    assert response.status_code == 200
    assert "年份格式不正确" in response.content.decode()


def test_the_dashboard_page_and_its_drill_down(client, rolled, operator, staff):
    client.force_login(operator)
    html = client.get("/staff/metrics/").content.decode()
    assert 'id="tile-online"' in html and "2022年底目标 80.0%" in html
    dept = rolled.lead_department
    assert f'href="?department={dept.code}"' in html
    drilled = client.get("/staff/metrics/", {"department": dept.code}).content.decode()
    assert "按事项与一件事" in drilled and "出生一件事" in drilled
    bad = client.get("/staff/metrics/", {"start": "yesterday"})
    assert bad.status_code == 200
    assert "日期格式应为 YYYY-MM-DD" in bad.content.decode()
    client.force_login(staff.reviewer["police"])
    assert client.get("/staff/metrics/").status_code == 403


def test_exports_as_csv_and_excel(client, rolled, operator):
    client.force_login(operator)
    csv_response = client.get("/staff/metrics/export.csv", {"by": "item"})
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    text = csv_response.content.decode("utf-8")
    assert text.startswith("\ufeff编码,事项与一件事,申请件数,网上申请件数,网办比例")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("birth,出生一件事,1,1,1.0000")
    xlsx = client.get("/staff/metrics/export.xlsx", {"by": "department"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编码", "部门", "申请件数")
    assert rows[1][:5] == (rolled.lead_department.code, rolled.lead_department.name, 1, 1, 1.0)
    assert sheet.cell(row=2, column=5).number_format == "0.0%"
    bad = client.get("/staff/metrics/export.csv", {"by": "nothing"})
    assert bad.status_code == 422


def test_a_resident_is_counted_active_once_a_day_and_staff_never(client, resident, operator):
    client.force_login(resident.user)
    client.get("/me/")
    client.get("/me/")
    client.get("/catalog/")
    assert ActiveDay.objects.filter(channel="web", audience="resident").count() == 1
    client.force_login(operator)
    client.get("/staff/")
    assert ActiveDay.objects.count() == 1


def test_bundle_uptake_hall_levels_and_review_analysis_over_the_api(client, rolled, operator):
    client.force_login(operator)
    bundles = client.get("/api/v1/metrics/bundles").json()
    birth = next(b for b in bundles if b["code"] == "birth")
    assert (birth["bundle_cases"], birth["separate_filed"], birth["uptake"]) == (1, [], "1.0000")
    assert client.get("/api/v1/metrics/hall-levels").status_code == 200
    analysis = client.get("/api/v1/metrics/reviews-analysis").json()
    assert analysis == {
        "month": timezone.localdate().strftime("%Y-%m"),
        "items": [],
        "halls": [],
        "classifications": [],
    }
    lead = StaffFactory(department=rolled.lead_department, role=StaffRole.DEPARTMENT_LEAD)
    client.force_login(lead)
    assert client.get("/api/v1/metrics/hall-levels").json() == []
