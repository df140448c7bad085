"""Demo halls (政务服务大厅) and their windows: the city's 市民中心 and two district centres.

`ensure_demo_halls()` is idempotent: it creates what is missing through the appointments
services (an audit row naming "system:demo_halls" each) and leaves existing rows alone, so
a tester's edits in the admin survive the next `make run`. All names are labelled 示例.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tongban.accounts.models import District
from tongban.appointments.models import Hall, Window
from tongban.appointments.services.halls import hall_create, window_create

ACTOR = "system:demo_halls"
CITY_CENTRE = "SH-SMZX"
PUDONG = "SH-PD-ZWFW"
XUHUI = "SH-XH-ZWFW"


@dataclass(frozen=True)
class _Hall:
    code: str
    name: str
    district: str
    address: str
    opening_hours: str
    windows: tuple[tuple[str, str], ...]


_WEEKDAYS = "工作日 9:00-17:00，周六 9:00-12:00（法定节假日除外）"
DEMO_HALLS = (
    _Hall(
        CITY_CENTRE, "示例市市民中心（示例）", District.HUANGPU,
        "上海市黄浦区示例大道200号（示例）", _WEEKDAYS,
        (("A01", "综合受理"), ("A02", "综合受理"), ("A03", "综合受理"),
         ("B01", "企业服务"), ("C01", "统一出件")),
    ),
    _Hall(
        PUDONG, "浦东新区政务服务中心（示例）", District.PUDONG,
        "上海市浦东新区示例路1500号（示例）", _WEEKDAYS,
        (("A01", "综合受理"), ("A02", "综合受理"), ("C01", "统一出件")),
    ),
    _Hall(
        XUHUI, "徐汇区政务服务中心（示例）", District.XUHUI,
        "上海市徐汇区示例路300号（示例）", "工作日 9:00-17:00（法定节假日除外）",
        (("A01", "综合受理"), ("C01", "统一出件")),
    ),
)  # fmt: skip


@transaction.atomic
def ensure_demo_halls() -> dict[str, Hall]:
    """Create (once) the demo halls and windows; return them by code."""
    halls: dict[str, Hall] = {}
    for spec in DEMO_HALLS:
        hall = Hall.objects.filter(code=spec.code).first()
        if hall is None:
            hall = hall_create(
                actor=ACTOR,
                code=spec.code,
                name=spec.name,
                district=spec.district,
                address=spec.address,
                opening_hours=spec.opening_hours,
            )
        for number, name in spec.windows:
            if not Window.objects.filter(hall=hall, number=number).exists():
                window_create(actor=ACTOR, hall=hall, number=number, name=name)
        halls[spec.code] = hall
    return halls
