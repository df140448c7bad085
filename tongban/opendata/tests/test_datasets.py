"""What each dataset publishes, row for row, from the app that owns the data; the monthly
figures with small cells suppressed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from tongban.accounts.models import District
from tongban.appointments.models import HallItem, HallLevel, WindowKind
from tongban.appointments.services.halls import hall_create
from tongban.appointments.tests.factories import HallFactory, WindowFactory
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.services import certificate_types_load
from tongban.common.models import AuditEvent
from tongban.opendata.selectors import dataset_get, dataset_table
from tongban.policies.models import Policy

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"


def _rows(dataset_id: str) -> list[dict]:
    return dataset_table(dataset_id).rows


def test_service_items_are_the_published_definitions_one_row_each(catalog):
    rows = _rows("service-items")
    assert [r["code"] for r in rows] == [
        "birth_registration",
        "enterprise_establishment",
        "invoice_application",
        "medical_insurance_enrolment",
        "seal_engraving",
        "social_security_card",
        "vaccination_certificate",
    ]
    assert rows[0] == {
        "code": "birth_registration",
        "name": "出生登记",
        "department_code": "police",
        "department_name": "市公安局",
        "item_type": "行政确认",
        "subject": "个人事项",
        "handling": "承诺件",
        "statutory_days": 30,
        "promised_days": 5,
        "visits": 0,
        "channels": "网上办理、窗口办理",
        "online": True,
        "materials": 5,
        "materials_waivable": 5,
        "free": True,
        "fees": "不收费",
        "legal_basis": "《中华人民共和国户口登记条例》第七条",
        "summary": "为本市户籍父母所生的新生儿办理户口登记。",
        "version": 1,
        "is_example": True,
    }
    card = rows[5]
    assert (card["code"], card["free"], card["fees"], card["materials_waivable"]) == (
        "social_security_card",
        False,
        "首次申领免费，补卡每张20元",
        0,
    )
    assert (rows[6]["handling"], rows[6]["channels"], rows[6]["online"], rows[6]["visits"]) == (
        "即办件",
        "窗口办理",
        False,
        1,
    )


def test_an_item_taken_out_of_the_catalog_leaves_the_dataset(catalog):
    from tongban.catalog.models import ServiceItem

    ServiceItem.objects.filter(code="seal_engraving").update(is_active=False)
    codes = [r["code"] for r in _rows("service-items")]
    assert "seal_engraving" not in codes and len(codes) == 6


def test_bundles_list_their_items_and_lead_department(catalog):
    assert _rows("bundles") == [
        {
            "code": "birth",
            "name": "出生一件事",
            "subject": "个人事项",
            "lead_department_code": "police",
            "lead_department_name": "市公安局",
            "promised_days": 10,
            "items": 4,
            "item_codes": "birth_registration、vaccination_certificate、"
            "medical_insurance_enrolment、social_security_card",
            "item_names": "出生登记、预防接种证办理、城乡居民医保参保登记、社会保障卡申领",
            "situations": 2,
            "summary": "孩子出生后，户口登记、预防接种证、医保参保和社保卡一次申请、一次办成。",
            "version": 1,
            "is_example": True,
        },
        {
            "code": "enterprise_opening",
            "name": "企业开办一件事",
            "subject": "法人事项",
            "lead_department_code": "market",
            "lead_department_name": "市市场监督管理局",
            "promised_days": 1,
            "items": 3,
            "item_codes": "enterprise_establishment、seal_engraving、invoice_application",
            "item_names": "企业设立登记、公章刻制备案、发票申领",
            "situations": 1,
            "summary": "营业执照、公章、发票一次申请，一日办结。",
            "version": 1,
            "is_example": True,
        },
    ]


def test_halls_show_labels_hours_and_active_windows_by_kind(catalog):
    hall = HallFactory(
        code="H-XH",
        name="徐汇区行政服务中心（示例）",
        level=HallLevel.DISTRICT,
        district=District.XUHUI,
        street="漕河泾街道",
        address="示例路1号",
        phone="021-00000000",
        latitude=Decimal("31.188000"),
        longitude=Decimal("121.437000"),
    )
    police = Department.objects.get(code="police")
    WindowFactory(hall=hall, number="A01")
    WindowFactory(hall=hall, number="A02")
    WindowFactory(hall=hall, number="A03", is_active=False)
    WindowFactory(hall=hall, number="B01", kind=WindowKind.DEPARTMENT, department=police)
    WindowFactory(hall=hall, number="C01", kind=WindowKind.HANDOUT)
    HallItem.objects.create(hall=hall, item_code="birth_registration")
    HallItem.objects.create(hall=hall, item_code="social_security_card")
    HallFactory(code="H-OLD", is_active=False)
    assert _rows("halls") == [
        {
            "code": "H-XH",
            "name": "徐汇区行政服务中心（示例）",
            "level": "区级",
            "district": "徐汇区",
            "street": "漕河泾街道",
            "address": "示例路1号",
            "phone": "021-00000000",
            "opening_hours": "工作日 9:00-17:00，周六 9:00-12:00",
            "weekly_hours": "周一 9:00–17:00；周二 9:00–17:00；周三 9:00–17:00；周四 9:00–17:00；"
            "周五 9:00–17:00；周六 9:00–12:00；周日 不开放",
            "open_on_holidays": False,
            "latitude": 31.188,
            "longitude": 121.437,
            "windows_comprehensive": 2,
            "windows_department": 1,
            "windows_handout": 1,
            "items": 2,
        }
    ]


def test_the_halls_date_is_the_last_audited_change_to_a_hall():
    hall_create(
        actor="system:test",
        code="H-1",
        name="示例大厅",
        district=District.HUANGPU,
        address="示例路",
    )
    changed = AuditEvent.objects.get(action="hall.create").at
    assert dataset_table("halls").modified == changed


def test_certificate_types_and_policies_come_from_the_loaded_definitions(db):
    catalog_load_directory(path=DEMO)
    certificate_types_load(directory=DEMO / "certificate_types")
    types = _rows("certificate-types")
    assert len(types) == 29
    assert types[0] == {
        "code": "birth_medical_certificate",
        "name": "出生医学证明",
        "department_code": "SH-WJW",
        "department_name": "示例市卫生健康委员会",
        "holder": "个人",
        "validity_days": None,
        "claims": "出生医学证明编号、新生儿姓名、性别、出生日期、出生地点、母亲姓名、母亲身份号码、"
        "父亲姓名、父亲身份号码、接生机构",
        "claims_count": 10,
        "replaces_earlier": False,
        "version": 1,
    }
    policies = _rows("policies")
    assert policies[0] == {
        "code": "SH-CL-P001",
        "name": "残疾人基本康复服务补贴",
        "department_code": "SH-CL",
        "department_name": "示例市残疾人联合会",
        "subject": "个人",
        "mode": "精准推送",
        "summary": "持有残疾人证的本市户籍残疾人，可申请基本康复服务，在定点康复机构接受康复训练、"
        "康复医疗等服务，费用按年度限额补贴。符合条件的，平台主动告知并预填申请表。",
        "benefit": "基本康复服务费用按年度补贴，每人每年最高 3000 元",
        "conditions": "持有残疾人证（一至四级）；本市户籍",
        "industries": "",
        "apply_item": "SH-CL-0103",
        "legal_basis": "示例市残疾人基本康复服务办法（示例残联规〔2026〕1号）第六条",
        "valid_from": dt.date(2026, 1, 1),
        "valid_until": None,
        "version": 1,
    }
    # Only policies in force are published: one withdrawn from the definitions is not.
    Policy.objects.filter(code="SH-CL-P001").update(is_active=False)
    assert "SH-CL-P001" not in [p["code"] for p in _rows("policies")]
    assert len(_rows("policies")) == len(policies) - 1


# ---------------------------------------------------------------- monthly figures


SERVICE_ROW = {
    "month": "2026-11",
    "department_code": "police",
    "department_name": "市公安局",
    "service_kind": "bundle",
    "service_code": "birth",
    "service_name": "出生一件事",
    "submitted": 120,
    "submitted_online": 111,
    "concluded": 100,
    "concluded_same_day": 9,
    "concluded_on_time": 98,
    "materials_required": 400,
    "materials_spared": 0,
}


def test_service_figures_suppress_small_counts_and_the_rates_that_use_them(monkeypatch, settings):
    small = {
        **SERVICE_ROW,
        "month": "2026-10",
        "service_kind": "item",
        "service_code": "birth_registration",
        "service_name": "出生登记",
        "submitted": 9,
        "submitted_online": 9,
        "concluded": 10,
        "concluded_same_day": 10,
        "concluded_on_time": 10,
        "materials_required": 30,
        "materials_spared": 12,
    }
    monkeypatch.setattr("tongban.metrics.selectors.open_service_rows", lambda: [SERVICE_ROW, small])
    assert _rows("service-figures-monthly") == [
        {
            "month": "2026-10",
            "department_code": "police",
            "department_name": "市公安局",
            "service_kind": "事项",
            "service_code": "birth_registration",
            "service_name": "出生登记",
            "submitted": None,
            "submitted_online": None,
            "concluded": 10,
            "concluded_same_day": 10,
            "concluded_on_time": 10,
            "materials_required": 30,
            "materials_spared": 12,
            "online_rate": None,
            "same_day_rate": 1.0,
            "on_time_rate": 1.0,
            "materials_spared_rate": 0.4,
        },
        {
            "month": "2026-11",
            "department_code": "police",
            "department_name": "市公安局",
            "service_kind": "一件事",
            "service_code": "birth",
            "service_name": "出生一件事",
            "submitted": 120,
            "submitted_online": 111,
            "concluded": 100,
            "concluded_same_day": None,
            "concluded_on_time": 98,
            "materials_required": 400,
            "materials_spared": None,
            "online_rate": 0.925,
            "same_day_rate": None,
            "on_time_rate": 0.98,
            "materials_spared_rate": None,
        },
    ]
    settings.TONGBAN_OPENDATA_MIN_CELL = 112
    row = _rows("service-figures-monthly")[1]
    assert (row["submitted"], row["submitted_online"], row["online_rate"]) == (120, None, None)
    assert (row["concluded"], row["concluded_on_time"], row["on_time_rate"]) == (None, None, None)
    assert "小于112的计数不公开" in dataset_get("service-figures-monthly").description_text


def test_review_figures_suppress_small_counts_and_the_rates_that_use_them(monkeypatch):
    monkeypatch.setattr(
        "tongban.metrics.selectors.open_review_rows",
        lambda: [
            {
                "month": "2026-11",
                "department_code": "hrss",
                "department_name": "市人力资源和社会保障局",
                "item_code": "social_security_card",
                "item_name": "社会保障卡申领",
                "ratings": 57,
                "satisfied": 49,
                "dissatisfied": 3,
                "orders": 3,
                "orders_closed": 3,
                "orders_closed_on_time": 2,
            }
        ],
    )
    assert _rows("review-figures-monthly") == [
        {
            "month": "2026-11",
            "department_code": "hrss",
            "department_name": "市人力资源和社会保障局",
            "item_code": "social_security_card",
            "item_name": "社会保障卡申领",
            "ratings": 57,
            "satisfied": 49,
            "dissatisfied": None,
            "orders": None,
            "orders_closed": None,
            "orders_closed_on_time": None,
            "satisfaction_rate": 0.8596,
            "dissatisfaction_rate": None,
            "rectification_rate": None,
            "on_time_rectification_rate": None,
        }
    ]


def test_the_figures_read_the_metrics_monthly_roll_up(catalog):
    """The contract with tongban.metrics, end to end: a month rolled up there is published
    here with its small cells suppressed."""
    from tongban.metrics.models import MonthlyCaseFact, MonthlyReviewFact

    police = Department.objects.get(code="police")
    november = dt.date(2025, 11, 1)
    common = {"month": november, "department": police, "service_kind": "item"}
    MonthlyCaseFact.objects.create(
        **common, service_code="birth_registration", channel="online", submitted=30,
        concluded=25, concluded_same_day=3, concluded_on_time=25, materials_required=150,
        spared_certificate=60, spared_data_source=40,
    )  # fmt: skip
    MonthlyCaseFact.objects.create(
        **common, service_code="birth_registration", channel="counter", submitted=8
    )
    MonthlyReviewFact.objects.create(
        month=november, department=police, item_code="birth_registration", channel="online",
        ratings=20, level_5=15, level_4=3, level_2=2, orders_opened=2,
    )  # fmt: skip
    service = _rows("service-figures-monthly")
    assert [
        (r["month"], r["service_name"], r["submitted"], r["submitted_online"], r["online_rate"])
        for r in service
    ] == [("2025-11", "出生登记", 38, 30, 0.7895)]
    assert (service[0]["materials_spared"], service[0]["materials_spared_rate"]) == (100, 0.6667)
    assert (service[0]["concluded_same_day"], service[0]["same_day_rate"]) == (None, None)
    reviews = _rows("review-figures-monthly")
    assert [
        (r["item_name"], r["ratings"], r["satisfied"], r["dissatisfied"], r["satisfaction_rate"])
        for r in reviews
    ] == [("出生登记", 20, 18, None, 0.9)]
