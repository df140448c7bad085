"""Writes of halls, windows, service points and venues. Keyword-only, one transaction, one
audit row each (none when nothing changed: saving the same values twice is not a change).

ACTOR is a User or "system:<process>". Bad input raises InvalidInput with a stable code and
says what is wrong; nothing is quietly corrected."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

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
from tongban.catalog.models import Department, ServiceItem
from tongban.common.errors import Conflict, InvalidInput
from tongban.common.services import audit_record

# Distinguishes "leave as it is" from an explicit None (e.g. clearing a 专窗's department).
UNSET: Any = object()

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ITEM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
SWEEPS: dict = {}


def _audit(actor, **fields) -> None:
    if isinstance(actor, str):
        audit_record(actor_label=actor, **fields)
    else:
        audit_record(actor=actor, **fields)


# ---------------------------------------------------------------- validation


def weekly_hours_clean(value) -> list[list[list[str]]]:
    """Seven days, Monday first, each a list of ["HH:MM", "HH:MM"] periods in order and not
    overlapping. Returns the value as stored (lists, not tuples); raises HOURS_INVALID."""

    def bad(message: str) -> InvalidInput:
        return InvalidInput(message, code="HOURS_INVALID")

    if not isinstance(value, list | tuple) or len(value) != 7:
        raise bad("每周开放时间须按周一至周日列出七天")
    week: list[list[list[str]]] = []
    for index, periods in enumerate(value):
        day = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")[index]
        if not isinstance(periods, list | tuple):
            raise bad(f"{day}的开放时间格式不正确")
        cleaned: list[list[str]] = []
        for period in periods:
            if (
                not isinstance(period, list | tuple)
                or len(period) != 2
                or not all(isinstance(t, str) and _TIME.match(t) for t in period)
            ):
                raise bad(f"{day}的开放时间须写成“09:00”至“17:00”的形式")
            start, end = period
            if start >= end:
                raise bad(f"{day}的开放时间 {start}–{end} 结束早于开始")
            if cleaned and start < cleaned[-1][1]:
                raise bad(f"{day}的开放时段须按时间先后排列且不能重叠")
            cleaned.append([start, end])
        week.append(cleaned)
    return week


def _coordinates_clean(latitude, longitude) -> tuple[Decimal | None, Decimal | None]:
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    if latitude in (None, "") or longitude in (None, ""):
        raise InvalidInput("经度和纬度须同时填写", code="COORDINATES_INVALID")
    try:
        lat = Decimal(str(latitude)).quantize(Decimal("0.000001"))
        lon = Decimal(str(longitude)).quantize(Decimal("0.000001"))
    except InvalidOperation:
        raise InvalidInput("经纬度须为数字", code="COORDINATES_INVALID") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("经纬度超出范围", code="COORDINATES_INVALID")
    return lat, lon


def _district_clean(district: str) -> str:
    if district not in District.values:
        raise InvalidInput(f"区代码{district}不是本市的区", code="INVALID_DISTRICT")
    return district


def _text(value, *, label: str, code: str, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label}不能为空", code=code)
    if len(text) > max_length:
        raise InvalidInput(f"{label}不能超过{max_length}个字", code=code)
    return text


def item_codes_clean(codes, *, require_catalog: bool = True) -> list[str]:
    """Distinct item codes in the order given; with REQUIRE_CATALOG each must be a current
    item of the catalog (ITEM_UNKNOWN otherwise)."""
    if isinstance(codes, str) or not isinstance(codes, list | tuple | set | frozenset):
        raise InvalidInput("事项编码须为列表", code="ITEM_CODES_INVALID")
    cleaned: list[str] = []
    for code in codes:
        code = (code or "").strip() if isinstance(code, str) else ""
        if not _ITEM_CODE.match(code):
            raise InvalidInput("事项编码格式不正确", code="ITEM_CODES_INVALID")
        if code not in cleaned:
            cleaned.append(code)
    if require_catalog and cleaned:
        known = set(
            ServiceItem.objects.filter(code__in=cleaned, is_active=True).values_list(
                "code", flat=True
            )
        )
        unknown = [c for c in cleaned if c not in known]
        if unknown:
            raise InvalidInput(f"事项目录中没有这些事项：{'、'.join(unknown)}", code="ITEM_UNKNOWN")
    return cleaned


def _apply(row, changes: dict[str, Any]) -> list[str]:
    """Set the fields whose value differs; return their names."""
    changed = []
    for field, value in changes.items():
        if value is UNSET:
            continue
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed.append(field)
    return changed


def _audit_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


# ---------------------------------------------------------------- halls


def hall_create(
    *,
    actor,
    code: str,
    name: str,
    district: str,
    address: str,
    opening_hours: str = "",
    level: str = HallLevel.DISTRICT,
    street: str = "",
    latitude=None,
    longitude=None,
    weekly_hours=None,
    phone: str = "",
) -> Hall:
    """Open a 政务服务大厅."""
    code, name, address = (code or "").strip(), (name or "").strip(), (address or "").strip()
    if not code or not name or not address:
        raise InvalidInput("大厅编码、名称和地址不能为空", code="HALL_INVALID")
    _district_clean(district)
    if level not in HallLevel.values:
        raise InvalidInput("大厅层级须为市级、区级或街镇", code="HALL_LEVEL_INVALID")
    lat, lon = _coordinates_clean(latitude, longitude)
    hours = weekly_hours_clean(weekly_hours) if weekly_hours is not None else [[]] * 7
    with transaction.atomic():
        if Hall.objects.filter(code=code).exists():
            raise Conflict("该大厅编码已存在", code="HALL_EXISTS")
        hall = Hall.objects.create(
            code=code,
            name=name,
            district=district,
            address=address,
            opening_hours=opening_hours,
            level=level,
            street=(street or "").strip(),
            latitude=lat,
            longitude=lon,
            weekly_hours=[list(d) for d in hours],
            phone=(phone or "").strip(),
        )
        _audit(actor, action="hall.create", object_type="hall", object_id=hall.pk,
               data={"code": code})  # fmt: skip
    return hall


def hall_update(
    *,
    actor,
    hall: Hall,
    name: str = UNSET,
    level: str = UNSET,
    district: str = UNSET,
    street: str = UNSET,
    address: str = UNSET,
    phone: str = UNSET,
    latitude=UNSET,
    longitude=UNSET,
    opening_hours: str = UNSET,
    weekly_hours=UNSET,
    open_on_holidays: bool = UNSET,
    is_active: bool = UNSET,
    scanner=UNSET,
) -> Hall:
    """Change what is given of HALL (level, hours, where it is …); one audit row listing the
    changed fields with their previous values."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = _text(name, label="大厅名称", code="HALL_INVALID", max_length=80)
    if level is not UNSET:
        if level not in HallLevel.values:
            raise InvalidInput("大厅层级须为市级、区级或街镇", code="HALL_LEVEL_INVALID")
        changes["level"] = level
    if district is not UNSET:
        changes["district"] = _district_clean(district)
    if street is not UNSET:
        changes["street"] = _text(
            street, label="所在街镇", code="HALL_INVALID", max_length=40, required=False
        )
    if address is not UNSET:
        changes["address"] = _text(address, label="地址", code="HALL_INVALID", max_length=200)
    if phone is not UNSET:
        changes["phone"] = _text(
            phone, label="咨询电话", code="HALL_INVALID", max_length=20, required=False
        )
    if (latitude is UNSET) != (longitude is UNSET):
        raise InvalidInput("经度和纬度须同时填写", code="COORDINATES_INVALID")
    if latitude is not UNSET:
        changes["latitude"], changes["longitude"] = _coordinates_clean(latitude, longitude)
    if opening_hours is not UNSET:
        changes["opening_hours"] = _text(
            opening_hours, label="办公时间", code="HALL_INVALID", max_length=200, required=False
        )
    if weekly_hours is not UNSET:
        changes["weekly_hours"] = weekly_hours_clean(weekly_hours)
    if open_on_holidays is not UNSET:
        changes["open_on_holidays"] = bool(open_on_holidays)
    if is_active is not UNSET:
        changes["is_active"] = bool(is_active)
    if scanner is not UNSET:
        changes["scanner"] = scanner
    with transaction.atomic():
        hall = Hall.objects.select_for_update().get(pk=hall.pk)
        before = {f: _audit_value(getattr(hall, f)) for f in changes}
        changed = _apply(hall, changes)
        if not changed:
            return hall
        hall.save(update_fields=changed)
        _audit(
            actor,
            action="hall.update",
            object_type="hall",
            object_id=hall.pk,
            data={"code": hall.code, "fields": changed, "before": {f: before[f] for f in changed}},
        )
    return hall


def hall_items_set(
    *, actor, hall: Hall, item_codes, require_catalog: bool = True
) -> tuple[list[str], list[str]]:
    """Make HALL handle exactly ITEM_CODES (两个集中 decides which a level takes; the
    operator sets them). Returns (added, removed); one audit row when anything changed."""
    wanted = item_codes_clean(item_codes, require_catalog=require_catalog)
    with transaction.atomic():
        Hall.objects.select_for_update().filter(pk=hall.pk).first()
        current = set(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True))
        added = [c for c in wanted if c not in current]
        removed = sorted(current - set(wanted))
        if not added and not removed:
            return [], []
        HallItem.objects.filter(hall=hall, item_code__in=removed).delete()
        HallItem.objects.bulk_create([HallItem(hall=hall, item_code=c) for c in added])
        _audit(
            actor,
            action="hall.items_set",
            object_type="hall",
            object_id=hall.pk,
            data={"code": hall.code, "added": sorted(added), "removed": removed},
        )
    return sorted(added), removed


# ---------------------------------------------------------------- windows


def _department_of(department) -> Department | None:
    """A Department, its code, or None."""
    if department is None or isinstance(department, Department):
        return department
    row = Department.objects.filter(code=str(department).strip(), is_active=True).first()
    if row is None:
        raise InvalidInput("没有这个部门", code="DEPARTMENT_UNKNOWN")
    return row


def _window_kind_check(kind: str, department: Department | None) -> None:
    if kind not in WindowKind.values:
        raise InvalidInput("窗口类型须为综合窗口、专窗或出件窗口", code="WINDOW_KIND_INVALID")
    if kind == WindowKind.DEPARTMENT and department is None:
        raise InvalidInput("专窗须指明所属部门", code="WINDOW_DEPARTMENT_REQUIRED")
    if kind != WindowKind.DEPARTMENT and department is not None:
        raise InvalidInput("只有专窗才属于某个部门", code="WINDOW_DEPARTMENT_NOT_ALLOWED")


def window_create(
    *,
    actor,
    hall: Hall,
    number: str,
    name: str,
    kind: str = WindowKind.COMPREHENSIVE,
    department=None,
    item_codes=(),
    require_catalog: bool = True,
) -> Window:
    """Add a 窗口 to HALL; its number is unique within the hall. A 专窗 names its
    department (a Department or its code)."""
    number, name = (number or "").strip(), (name or "").strip()
    if not number or not name:
        raise InvalidInput("窗口号和名称不能为空", code="WINDOW_INVALID")
    department = _department_of(department)
    _window_kind_check(kind, department)
    codes = item_codes_clean(list(item_codes), require_catalog=require_catalog)
    with transaction.atomic():
        if Window.objects.filter(hall=hall, number=number).exists():
            raise Conflict("该大厅已有此窗口号", code="WINDOW_EXISTS")
        window = Window.objects.create(
            hall=hall, number=number, name=name, kind=kind, department=department, item_codes=codes
        )
        data = {"number": number}
        if kind != WindowKind.COMPREHENSIVE or department or codes:
            data.update(kind=kind, department=department.code if department else "")
        _audit(actor, action="window.create", object_type="hall", object_id=hall.pk, data=data)
    return window


def window_update(
    *,
    actor,
    window: Window,
    name: str = UNSET,
    kind: str = UNSET,
    department=UNSET,
    item_codes=UNSET,
    is_active: bool = UNSET,
    require_catalog: bool = True,
) -> Window:
    """Change a window's name, kind (综合窗口/专窗/出件窗口), department or the items it is
    narrowed to. Turning a 专窗 into another kind drops its department."""
    with transaction.atomic():
        window = Window.objects.select_for_update().select_related("hall").get(pk=window.pk)
        changes: dict[str, Any] = {}
        if name is not UNSET:
            changes["name"] = _text(name, label="窗口名称", code="WINDOW_INVALID", max_length=60)
        new_kind = window.kind if kind is UNSET else kind
        if department is UNSET:
            new_department = window.department if new_kind == WindowKind.DEPARTMENT else None
        else:
            new_department = _department_of(department)
        _window_kind_check(new_kind, new_department)
        changes["kind"], changes["department"] = new_kind, new_department
        if item_codes is not UNSET:
            changes["item_codes"] = item_codes_clean(item_codes, require_catalog=require_catalog)
        if is_active is not UNSET:
            changes["is_active"] = bool(is_active)
        before = {f: _audit_value(getattr(window, f)) for f in changes}
        changed = _apply(window, changes)
        if not changed:
            return window
        window.save(update_fields=changed)
        _audit(
            actor,
            action="window.update",
            object_type="window",
            object_id=window.pk,
            data={
                "hall": window.hall.code,
                "number": window.number,
                "fields": changed,
                "before": {f: before[f] for f in changed},
            },
        )
    return window


# ---------------------------------------------------------------- service points and venues


def _place_fields(
    *,
    name,
    district,
    address,
    latitude,
    longitude,
    weekly_hours,
    open_on_holidays,
    is_active,
    code_prefix: str,
) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if name is not UNSET:
        changes["name"] = _text(name, label="名称", code=f"{code_prefix}_INVALID", max_length=80)
    if district is not UNSET:
        changes["district"] = _district_clean(district)
    if address is not UNSET:
        changes["address"] = _text(
            address, label="地址", code=f"{code_prefix}_INVALID", max_length=200
        )
    if (latitude is UNSET) != (longitude is UNSET):
        raise InvalidInput("经度和纬度须同时填写", code="COORDINATES_INVALID")
    if latitude is not UNSET:
        changes["latitude"], changes["longitude"] = _coordinates_clean(latitude, longitude)
    if weekly_hours is not UNSET:
        changes["weekly_hours"] = weekly_hours_clean(weekly_hours)
    if open_on_holidays is not UNSET:
        changes["open_on_holidays"] = bool(open_on_holidays)
    if is_active is not UNSET:
        changes["is_active"] = bool(is_active)
    return changes


def _code_clean(code: str, *, error_code: str) -> str:
    code = (code or "").strip()
    if not code or len(code) > 32 or not _ITEM_CODE.match(code):
        raise InvalidInput("编码须为字母、数字和连字符，不超过32个字符", code=error_code)
    return code


def service_point_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    district: str,
    address: str,
    hall: Hall | None = None,
    latitude=None,
    longitude=None,
    item_codes=(),
    weekly_hours=None,
    open_on_holidays: bool = False,
    require_catalog: bool = True,
) -> ServicePoint:
    """Add a 服务点: a self-service terminal (in a hall, or on its own) or a 24小时自助区."""
    code = _code_clean(code, error_code="SERVICE_POINT_INVALID")
    if kind not in ServicePointKind.values:
        raise InvalidInput("服务点类型须为自助终端或24小时自助区", code="SERVICE_POINT_INVALID")
    fields = _place_fields(
        name=name,
        district=district,
        address=address,
        latitude=latitude,
        longitude=longitude,
        weekly_hours=weekly_hours if weekly_hours is not None else [[]] * 7,
        open_on_holidays=open_on_holidays,
        is_active=True,
        code_prefix="SERVICE_POINT",
    )
    codes = item_codes_clean(list(item_codes), require_catalog=require_catalog)
    with transaction.atomic():
        if ServicePoint.objects.filter(code=code).exists():
            raise Conflict("该服务点编码已存在", code="SERVICE_POINT_EXISTS")
        point = ServicePoint.objects.create(code=code, kind=kind, hall=hall, item_codes=codes,
                                            **fields)  # fmt: skip
        _audit(actor, action="service_point.create", object_type="service_point",
               object_id=point.pk, data={"code": code, "kind": kind,
                                         "hall": hall.code if hall else ""})  # fmt: skip
    return point


def service_point_update(
    *,
    actor,
    point: ServicePoint,
    name: str = UNSET,
    kind: str = UNSET,
    hall=UNSET,
    district: str = UNSET,
    address: str = UNSET,
    latitude=UNSET,
    longitude=UNSET,
    item_codes=UNSET,
    weekly_hours=UNSET,
    open_on_holidays: bool = UNSET,
    is_active: bool = UNSET,
    require_catalog: bool = True,
) -> ServicePoint:
    changes = _place_fields(
        name=name,
        district=district,
        address=address,
        latitude=latitude,
        longitude=longitude,
        weekly_hours=weekly_hours,
        open_on_holidays=open_on_holidays,
        is_active=is_active,
        code_prefix="SERVICE_POINT",
    )
    if kind is not UNSET:
        if kind not in ServicePointKind.values:
            raise InvalidInput("服务点类型须为自助终端或24小时自助区", code="SERVICE_POINT_INVALID")
        changes["kind"] = kind
    if hall is not UNSET:
        changes["hall"] = hall
    if item_codes is not UNSET:
        changes["item_codes"] = item_codes_clean(item_codes, require_catalog=require_catalog)
    with transaction.atomic():
        point = ServicePoint.objects.select_for_update().get(pk=point.pk)
        before = {f: _audit_value(getattr(point, f)) for f in changes}
        changed = _apply(point, changes)
        if not changed:
            return point
        point.save(update_fields=changed)
        _audit(actor, action="service_point.update", object_type="service_point",
               object_id=point.pk, data={"code": point.code, "fields": changed,
                                         "before": {f: before[f] for f in changed}})  # fmt: skip
    return point


def venue_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    district: str,
    address: str,
    latitude=None,
    longitude=None,
    department=None,
    description: str = "",
    weekly_hours=None,
    open_on_holidays: bool = False,
) -> Venue:
    """Add a 文旅/健身场馆 that 统一预约 books."""
    code = _code_clean(code, error_code="VENUE_INVALID")
    if kind not in VenueKind.values:
        raise InvalidInput("场馆类型须为体育健身或文化旅游", code="VENUE_INVALID")
    fields = _place_fields(
        name=name,
        district=district,
        address=address,
        latitude=latitude,
        longitude=longitude,
        weekly_hours=weekly_hours if weekly_hours is not None else [[]] * 7,
        open_on_holidays=open_on_holidays,
        is_active=True,
        code_prefix="VENUE",
    )
    department = _department_of(department)
    with transaction.atomic():
        if Venue.objects.filter(code=code).exists():
            raise Conflict("该场馆编码已存在", code="VENUE_EXISTS")
        venue = Venue.objects.create(
            code=code,
            kind=kind,
            department=department,
            description=(description or "").strip(),
            **fields,
        )
        _audit(actor, action="venue.create", object_type="venue", object_id=venue.pk,
               data={"code": code, "kind": kind})  # fmt: skip
    return venue


def venue_update(
    *,
    actor,
    venue: Venue,
    name: str = UNSET,
    kind: str = UNSET,
    district: str = UNSET,
    address: str = UNSET,
    latitude=UNSET,
    longitude=UNSET,
    department=UNSET,
    description: str = UNSET,
    weekly_hours=UNSET,
    open_on_holidays: bool = UNSET,
    is_active: bool = UNSET,
) -> Venue:
    changes = _place_fields(
        name=name,
        district=district,
        address=address,
        latitude=latitude,
        longitude=longitude,
        weekly_hours=weekly_hours,
        open_on_holidays=open_on_holidays,
        is_active=is_active,
        code_prefix="VENUE",
    )
    if kind is not UNSET:
        if kind not in VenueKind.values:
            raise InvalidInput("场馆类型须为体育健身或文化旅游", code="VENUE_INVALID")
        changes["kind"] = kind
    if department is not UNSET:
        changes["department"] = _department_of(department)
    if description is not UNSET:
        changes["description"] = _text(
            description, label="简介", code="VENUE_INVALID", max_length=2000, required=False
        )
    with transaction.atomic():
        venue = Venue.objects.select_for_update().get(pk=venue.pk)
        before = {f: _audit_value(getattr(venue, f)) for f in changes}
        changed = _apply(venue, changes)
        if not changed:
            return venue
        venue.save(update_fields=changed)
        _audit(actor, action="venue.update", object_type="venue", object_id=venue.pk,
               data={"code": venue.code, "fields": changed,
                     "before": {f: before[f] for f in changed}})  # fmt: skip
    return venue
