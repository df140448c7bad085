"""Fixtures of the kiosk tests (imported by the test_kiosk_* modules): the fixture catalog with
one item offered at kiosks, a hall whose one 综合窗口 takes its items, a kiosk service point
in it, its clerk, a clerk of another hall, an administrator, and a resident."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass

import pytest
import yaml
from django.test import Client

from tongban.accounts.models import District, StaffRole, User
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.appointments.middleware_kiosk import KIOSK_COOKIE
from tongban.appointments.models import HallItem, ServicePoint, ServicePointKind
from tongban.appointments.services.kiosk import kiosk_enrol
from tongban.appointments.tests.factories import HallFactory, WindowFactory
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.idcode.services import idcode_issue

KIOSK_ITEM = "social_security_card"  # 社会保障卡申领, marked kiosk below
COUNTER_ONLY_ITEM = "birth_registration"  # 出生登记: no kiosk channel
ALWAYS_OPEN = [[] for _ in range(7)]  # hours unknown: the queue does not refuse by the clock


@pytest.fixture
def kiosk_catalog(db, tmp_path):
    target = tmp_path / "catalog"
    shutil.copytree(FIXTURES, target)
    path = target / "items" / f"{KIOSK_ITEM}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["channels"] = ["online", "counter", "kiosk"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    catalog_load_directory(path=target)


@dataclass
class KioskWorld:
    hall: object
    other_hall: object
    window: object
    point: ServicePoint
    standalone: ServicePoint
    clerk: User
    other_clerk: User
    admin: User
    reviewer: User
    resident: object


@pytest.fixture
def world(kiosk_catalog) -> KioskWorld:
    police = Department.objects.get(code="police")
    hall = HallFactory(code="centre", name="市民中心（示例）", weekly_hours=ALWAYS_OPEN)
    other_hall = HallFactory(code="district", name="区政务服务中心（示例）")
    for code in (KIOSK_ITEM, COUNTER_ONLY_ITEM):
        HallItem.objects.create(hall=hall, item_code=code)
    window = WindowFactory(hall=hall, number="A01", name="综合受理")
    point = ServicePoint.objects.create(
        code="centre-K01",
        name="市民中心自助终端1号（示例）",
        kind=ServicePointKind.KIOSK,
        hall=hall,
        district=District.HUANGPU,
        address="上海市黄浦区示例路1号",
        item_codes=[KIOSK_ITEM, COUNTER_ONLY_ITEM],
    )
    standalone = ServicePoint.objects.create(
        code="24H-01",
        name="示例24小时自助区",
        kind=ServicePointKind.AREA_24H,
        district=District.PUDONG,
        address="上海市浦东新区示例路2号",
        item_codes=[KIOSK_ITEM],
    )
    return KioskWorld(
        hall=hall,
        other_hall=other_hall,
        window=window,
        point=point,
        standalone=standalone,
        clerk=StaffFactory(department=police, role=StaffRole.COUNTER_CLERK, hall=hall),
        other_clerk=StaffFactory(department=police, role=StaffRole.COUNTER_CLERK, hall=other_hall),
        admin=StaffFactory(department=police, role=StaffRole.ADMINISTRATOR),
        reviewer=StaffFactory(department=police, role=StaffRole.REVIEWER),
        resident=ResidentProfileFactory(name="王小明", birth_date=dt.date(1950, 3, 1)),
    )


def kiosk_client(world: KioskWorld, point: ServicePoint | None = None) -> Client:
    """A browser enrolled as the kiosk of POINT (the world's hall kiosk by default)."""
    key = kiosk_enrol(
        actor=world.clerk if point is None else world.admin, point=point or world.point
    )
    client = Client()
    client.cookies[KIOSK_COOKIE] = key
    return client


def person_code(user, *, now=None) -> str:
    return idcode_issue(user=user, now=now).text


def scan_login(client: Client, user, **kwargs):
    return client.post("/kiosk/login/", {"code": person_code(user, **kwargs)})
