"""Demo halls (政务服务大厅) of the demo city, with what makes them a service: levels,
coordinates, weekly hours, the items each handles (两个集中), windows with their kind,
self-service points, two venues, and one 随申码 scanner per hall.

- 市级: the city's 市民中心 (SH-SMZX) handles every item that can be done at a counter;
- 区级: the district centres (SH-PD-ZWFW, SH-XH-ZWFW) take the enterprise items and the
  personal items the districts handle themselves (不动产登记, 婚姻登记 …), open Saturday
  mornings;
- 街镇: the 社区事务受理服务中心 (SH-PD-LJZ, SH-XH-TLQ, SH-HP-WT) take the other personal
  items.

`ensure_demo_halls()` is idempotent: it creates what is missing through the appointments
services (an audit row naming "system:demo_halls" each); a hall made by an older demo (no
coordinates yet) is given its level, place, hours and the kind of its windows once; what a
tester changed later survives the next `make run`. The items come from the demo definitions
(YAML), so the halls are right even before the catalog is loaded; 专窗 need their department
and appear on the first run after the catalog is. All names are labelled 示例.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.db import transaction

from tongban.accounts.models import District
from tongban.appointments.models import (
    Hall,
    HallItem,
    HallLevel,
    ServicePoint,
    ServicePointKind,
    Venue,
    VenueKind,
    Window,
    WindowKind,
)
from tongban.appointments.services.halls import (
    hall_create,
    hall_items_set,
    hall_update,
    service_point_create,
    venue_create,
    window_create,
    window_update,
)
from tongban.catalog.models import Department
from tongban.idcode.models import Scanner
from tongban.idcode.services import SCANNER_KEY_PREFIX, scanner_create

ACTOR = "system:demo_halls"
CITY_CENTRE = "SH-SMZX"
PUDONG = "SH-PD-ZWFW"
XUHUI = "SH-XH-ZWFW"
LUJIAZUI = "SH-PD-LJZ"
TIANLIN = "SH-XH-TLQ"
WAITAN = "SH-HP-WT"
KIOSK_CITY = "SH-SMZX-K01"
KIOSK_PUDONG = "SH-PD-ZWFW-K01"
AREA_24H_PUDONG = "SH-PD-24H-01"
VENUE_SPORTS = "SH-TYJ-V01"
VENUE_MUSEUM = "SH-WLJ-V01"

ITEMS_DIR = Path(__file__).resolve().parent / "definitions" / "items"

_WORKDAY = [["09:00", "17:00"]]
_SATURDAY_MORNING = [["09:00", "12:00"]]
_CENTRE_HOURS = [_WORKDAY] * 5 + [_SATURDAY_MORNING, []]
_STREET_HOURS = [[["09:00", "12:00"], ["13:30", "17:00"]]] * 5 + [[], []]
_ALL_DAY = [[["00:00", "23:59"]]] * 7


@dataclass(frozen=True)
class _Window:
    number: str
    name: str
    kind: str = WindowKind.COMPREHENSIVE
    department: str = ""  # a 专窗's department code


@dataclass(frozen=True)
class _Hall:
    code: str
    name: str
    level: str
    district: str
    street: str
    address: str
    latitude: str
    longitude: str
    opening_hours: str
    weekly_hours: list
    windows: tuple[_Window, ...]


_COMPREHENSIVE = "综合受理"
_CENTRE_TEXT = "工作日 9:00-17:00，周六 9:00-12:00（法定节假日除外）"
_STREET_TEXT = "工作日 9:00-12:00、13:30-17:00（法定节假日除外）"

DEMO_HALLS = (
    _Hall(
        CITY_CENTRE, "示例市市民中心（示例）", HallLevel.CITY, District.HUANGPU, "人民广场",
        "上海市黄浦区示例大道200号（示例）", "31.230900", "121.475800",
        _CENTRE_TEXT, _CENTRE_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("A03", _COMPREHENSIVE), _Window("B01", "企业服务"),
         _Window("C01", "统一出件", WindowKind.HANDOUT),
         _Window("D01", "公安户籍专窗", WindowKind.DEPARTMENT, "SH-GA"),
         _Window("D02", "税务专窗", WindowKind.DEPARTMENT, "SH-SWJ")),
    ),
    _Hall(
        PUDONG, "浦东新区政务服务中心（示例）", HallLevel.DISTRICT, District.PUDONG, "花木街道",
        "上海市浦东新区示例路1500号（示例）", "31.221000", "121.544000",
        _CENTRE_TEXT, _CENTRE_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("A03", _COMPREHENSIVE),
         _Window("C01", "统一出件", WindowKind.HANDOUT),
         _Window("D01", "税务专窗", WindowKind.DEPARTMENT, "SH-SWJ")),
    ),
    _Hall(
        XUHUI, "徐汇区政务服务中心（示例）", HallLevel.DISTRICT, District.XUHUI, "徐家汇街道",
        "上海市徐汇区示例路300号（示例）", "31.188200", "121.436800",
        _CENTRE_TEXT, _CENTRE_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("C01", "统一出件", WindowKind.HANDOUT),
         _Window("D01", "不动产登记专窗", WindowKind.DEPARTMENT, "SH-GHZY")),
    ),
    _Hall(
        LUJIAZUI, "浦东新区陆家嘴街道社区事务受理服务中心（示例）", HallLevel.STREET,
        District.PUDONG, "陆家嘴街道", "上海市浦东新区陆家嘴街道示例路600号（示例）",
        "31.235500", "121.508000", _STREET_TEXT, _STREET_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("A03", _COMPREHENSIVE), _Window("C01", "统一出件", WindowKind.HANDOUT)),
    ),
    _Hall(
        TIANLIN, "徐汇区田林街道社区事务受理服务中心（示例）", HallLevel.STREET,
        District.XUHUI, "田林街道", "上海市徐汇区田林街道示例路120号（示例）",
        "31.172300", "121.430800", _STREET_TEXT, _STREET_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("C01", "统一出件", WindowKind.HANDOUT),
         _Window("D01", "医保专窗", WindowKind.DEPARTMENT, "SH-YBJ")),
    ),
    _Hall(
        WAITAN, "黄浦区外滩街道社区事务受理服务中心（示例）", HallLevel.STREET,
        District.HUANGPU, "外滩街道", "上海市黄浦区外滩街道示例路50号（示例）",
        "31.239500", "121.485500", _STREET_TEXT, _STREET_HOURS,
        (_Window("A01", _COMPREHENSIVE), _Window("A02", _COMPREHENSIVE),
         _Window("C01", "统一出件", WindowKind.HANDOUT)),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class _ItemDef:
    code: str
    subject: str
    department: str
    channels: tuple[str, ...]
    place: str

    @property
    def at_counter(self) -> bool:
        return "counter" in self.channels

    @property
    def district_level(self) -> bool:
        """A personal item the district itself handles (its guide sends people to 各区…)."""
        return self.place.startswith(("各区", "区"))


@functools.cache
def demo_item_definitions() -> tuple[_ItemDef, ...]:
    """The demo catalog's items as the YAML defines them (the catalog may not be loaded)."""
    rows = []
    for path in sorted(ITEMS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows.append(
            _ItemDef(
                code=data["code"],
                subject=data.get("subject", "person"),
                department=data.get("department", ""),
                channels=tuple(data.get("channels") or ()),
                place=data.get("place") or "",
            )
        )
    return tuple(rows)


def demo_items_for(level: str) -> list[str]:
    """两个集中: which items a hall of LEVEL handles."""
    items = [d for d in demo_item_definitions() if d.at_counter]
    if level == HallLevel.CITY:
        chosen = items
    elif level == HallLevel.DISTRICT:
        chosen = [d for d in items if d.subject != "person" or d.district_level]
    else:
        chosen = [d for d in items if d.subject == "person" and not d.district_level]
    return sorted(d.code for d in chosen)


def _kiosk_items(hall_items: list[str] | None = None, *, person_only: bool = False) -> list[str]:
    codes = [
        d.code
        for d in demo_item_definitions()
        if "kiosk" in d.channels and (not person_only or d.subject == "person")
    ]
    if hall_items is not None:
        codes = [c for c in codes if c in hall_items]
    return sorted(codes)


def demo_hall_scanner_key(hall_code: str) -> str:
    """The hall scanner's key, derived from SECRET_KEY: a rebuilt demo city keeps it and no
    key is published in the source."""
    message = f"tongban-demo-hall-scanner:{hall_code}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256)
    return SCANNER_KEY_PREFIX + "hall_" + digest.hexdigest()[:32]


def _ensure_scanner(hall: Hall) -> Hall:
    if hall.scanner_id is not None:
        return hall
    name = f"示例大厅扫码终端（{hall.code}）"
    scanner = Scanner.objects.filter(is_synthetic=True, name=name).first()
    if scanner is None:
        scanner, _ = scanner_create(
            name=name,
            organisation=hall.name,
            scenario_codes=["hall_checkin"],
            actor_label=ACTOR,
            is_synthetic=True,
            key=demo_hall_scanner_key(hall.code),
        )
    return hall_update(actor=ACTOR, hall=hall, scanner=scanner)


def _ensure_hall(spec: _Hall, departments: dict[str, Department]) -> Hall:
    hall = Hall.objects.filter(code=spec.code).first()
    extend = hall is None or hall.latitude is None
    if hall is None:
        hall = hall_create(
            actor=ACTOR,
            code=spec.code,
            name=spec.name,
            district=spec.district,
            address=spec.address,
            opening_hours=spec.opening_hours,
            level=spec.level,
            street=spec.street,
            latitude=spec.latitude,
            longitude=spec.longitude,
            weekly_hours=spec.weekly_hours,
            phone="12345",
        )
    elif extend:
        # A hall from an older demo: give it what the hall as a service needs, once.
        hall = hall_update(
            actor=ACTOR,
            hall=hall,
            level=spec.level,
            street=spec.street,
            latitude=spec.latitude,
            longitude=spec.longitude,
            weekly_hours=spec.weekly_hours,
            opening_hours=spec.opening_hours,
            phone=hall.phone or "12345",
        )
    if not HallItem.objects.filter(hall=hall).exists():
        hall_items_set(
            actor=ACTOR, hall=hall, item_codes=demo_items_for(spec.level), require_catalog=False
        )
    existing = {w.number: w for w in Window.objects.filter(hall=hall)}
    for w in spec.windows:
        department = departments.get(w.department) if w.department else None
        if w.kind == WindowKind.DEPARTMENT and department is None:
            continue  # no catalog yet: the 专窗 comes with the next run
        window = existing.get(w.number)
        if window is None:
            window_create(
                actor=ACTOR,
                hall=hall,
                number=w.number,
                name=w.name,
                kind=w.kind,
                department=department,
            )
        elif extend and (window.kind, window.department_id) != (
            w.kind,
            department.pk if department else None,
        ):
            window_update(actor=ACTOR, window=window, kind=w.kind, department=department)
    return _ensure_scanner(hall)


def _ensure_points(halls: dict[str, Hall]) -> None:
    existing = set(ServicePoint.objects.values_list("code", flat=True))
    city_items = sorted(HallItem.objects.filter(hall=halls[CITY_CENTRE]).values_list(
        "item_code", flat=True))  # fmt: skip
    pudong_items = sorted(HallItem.objects.filter(hall=halls[PUDONG]).values_list(
        "item_code", flat=True))  # fmt: skip
    specs = (
        (KIOSK_CITY, "市民中心自助终端1号（示例）", ServicePointKind.KIOSK, halls[CITY_CENTRE],
         _kiosk_items(city_items), _CENTRE_HOURS, False),
        (KIOSK_PUDONG, "浦东新区政务服务中心自助终端1号（示例）", ServicePointKind.KIOSK,
         halls[PUDONG], _kiosk_items(pudong_items), _CENTRE_HOURS, False),
        (AREA_24H_PUDONG, "陆家嘴24小时自助服务区（示例）", ServicePointKind.AREA_24H, None,
         _kiosk_items(person_only=True), _ALL_DAY, True),
    )  # fmt: skip
    where = {
        KIOSK_CITY: (District.HUANGPU, halls[CITY_CENTRE].address, "31.230900", "121.475800"),
        KIOSK_PUDONG: (District.PUDONG, halls[PUDONG].address, "31.221000", "121.544000"),
        AREA_24H_PUDONG: (
            District.PUDONG,
            "上海市浦东新区陆家嘴街道示例银行网点一楼（示例）",
            "31.238000",
            "121.503500",
        ),
    }
    for code, name, kind, hall, items, hours, holidays in specs:
        if code in existing:
            continue
        district, address, lat, lon = where[code]
        service_point_create(
            actor=ACTOR,
            code=code,
            name=name,
            kind=kind,
            district=district,
            address=address,
            hall=hall,
            latitude=lat,
            longitude=lon,
            item_codes=items,
            weekly_hours=hours,
            open_on_holidays=holidays,
            require_catalog=False,
        )


def _ensure_venues() -> None:
    existing = set(Venue.objects.values_list("code", flat=True))
    specs = (
        (VENUE_SPORTS, "示例市民体育中心（示例）", VenueKind.SPORTS, District.XUHUI,
         "上海市徐汇区示例体育路666号（示例）", "31.183000", "121.437500",
         "羽毛球、乒乓球、游泳馆等场地，统一在线预约，按时段入场（示例）。",
         [[["08:00", "21:00"]]] * 7, True),
        (VENUE_MUSEUM, "示例市博物馆（示例）", VenueKind.CULTURE, District.HUANGPU,
         "上海市黄浦区示例大道201号（示例）", "31.228600", "121.475300",
         "常设展免费参观，实名预约分时段入馆；周一闭馆（示例）。",
         [[]] + [[["09:00", "17:00"]]] * 6, True),
    )  # fmt: skip
    for code, name, kind, district, address, lat, lon, text, hours, holidays in specs:
        if code in existing:
            continue
        venue_create(
            actor=ACTOR,
            code=code,
            name=name,
            kind=kind,
            district=district,
            address=address,
            latitude=lat,
            longitude=lon,
            description=text,
            weekly_hours=hours,
            open_on_holidays=holidays,
        )


@transaction.atomic
def ensure_demo_halls() -> dict[str, Hall]:
    """Create or extend (once) the demo halls, windows, service points, venues and hall
    scanners; return the halls by code."""
    departments = {d.code: d for d in Department.objects.filter(is_active=True)}
    halls = {spec.code: _ensure_hall(spec, departments) for spec in DEMO_HALLS}
    _ensure_points(halls)
    _ensure_venues()
    return halls
