"""Reads of halls, windows, service points and venues: which halls handle an item and which
of their windows take it (the queue routes by it), today's hours and waiting, the public hall
finder and the 15分钟服务圈."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tongban.accounts.models import District
from tongban.appointments import places
from tongban.appointments.models import (
    LOCAL_TZ,
    WEEKDAY_NAMES,
    BookingRule,
    Hall,
    HallItem,
    HallLevel,
    ServicePoint,
    ServicePointKind,
    Ticket,
    TicketStatus,
    Venue,
    Window,
    WindowKind,
)
from tongban.catalog.models import ServiceItem
from tongban.common.calendar import CalendarNotCovered, default_calendar

CLOSED_TEXT = "今日不开放"


def halls_active() -> QuerySet[Hall]:
    """Open halls, by code, with their active windows one query away."""
    return Hall.objects.filter(is_active=True).order_by("code")


def hall_names(ids) -> dict[int, str]:
    return dict(Hall.objects.filter(pk__in=list(ids)).values_list("pk", "name"))


# ---------------------------------------------------------------- cross-part reads


def halls_for_item(*, item_code: str) -> QuerySet[Hall]:
    """Active halls handling ITEM_CODE (a HallItem row), by code."""
    return Hall.objects.filter(is_active=True, items__item_code=item_code).order_by("code")


def item_department_id(item_code: str) -> int | None:
    return (
        ServiceItem.objects.filter(code=item_code).values_list("department_id", flat=True).first()
    )


def windows_for_item(*, hall: Hall, item_code: str) -> list[Window]:
    """HALL's active windows that take ITEM_CODE, by number; [] when the hall does not handle
    the item. A 专窗 takes its department's items only; 出件窗口 take none."""
    if not HallItem.objects.filter(hall=hall, item_code=item_code).exists():
        return []
    department_id = item_department_id(item_code)
    windows = Window.objects.filter(hall=hall, is_active=True).order_by("number")
    return [w for w in windows if w.serves(item_code, department_id)]


def _clock(t: dt.time) -> str:
    return f"{t.hour}:{t.minute:02d}"


ALL_DAY = (dt.time(0, 0), dt.time(23, 59))


def periods_text(periods) -> str:
    if list(periods) == [ALL_DAY]:
        return "全天开放"
    return "、".join(f"{_clock(a)}–{_clock(b)}" for a, b in periods) or CLOSED_TEXT


def _periods(place, day: dt.date) -> tuple[list[tuple[dt.time, dt.time]], bool]:
    """(periods, calendar_known). A year the holiday file does not cover falls back to the
    weekly hours, and says so, rather than failing the page."""
    try:
        return place.periods_on(day), True
    except CalendarNotCovered:
        hours = place.weekly_hours or []
        week = hours[day.weekday()] if day.weekday() < len(hours) else []
        return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in week], False


def _local_now(now: dt.datetime | None) -> dt.datetime:
    return (now or timezone.now()).astimezone(LOCAL_TZ)


def waiting_now(*, hall: Hall, day: dt.date) -> int:
    return Ticket.objects.filter(hall=hall, day=day, status=TicketStatus.WAITING).count()


def place_today(place, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Today's hours of a hall, service point or venue, holiday calendar applied."""
    local = _local_now(now)
    periods, known = _periods(place, local.date())
    return {
        "open": any(a <= local.time() < b for a, b in periods),
        "periods_text": periods_text(periods),
        "calendar_known": known,
    }


def hall_today(*, hall: Hall, now: dt.datetime | None = None) -> dict[str, Any]:
    """{"open": open right now, "periods_text": "9:00–12:00、13:00–17:00" or "今日不开放",
    "waiting": tickets waiting now} (+ "calendar_known": False for an uncovered year)."""
    today = place_today(hall, now=now)
    today["waiting"] = waiting_now(hall=hall, day=_local_now(now).date())
    return today


def week_hours(place, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The next seven days from today: date, weekday, hours (holidays applied)."""
    start = _local_now(now).date()
    calendar = default_calendar()
    rows = []
    for offset in range(7):
        day = start + dt.timedelta(days=offset)
        periods, known = _periods(place, day)
        note = ""
        if known and day in calendar.days_off:
            note = "法定节假日"
        elif known and day in calendar.extra_working_days:
            note = "调休上班"
        rows.append(
            {
                "day": day,
                "weekday": WEEKDAY_NAMES[day.weekday()],
                "is_today": offset == 0,
                "periods_text": periods_text(periods),
                "note": note,
            }
        )
    return rows


# ---------------------------------------------------------------- items


def item_names(codes) -> dict[str, str]:
    return dict(ServiceItem.objects.filter(code__in=list(codes)).values_list("code", "name"))


def items_search(*, q: str, limit: int = 20) -> list[dict[str, Any]]:
    """Current items whose name (or aliases and summary) contain Q, with how many active
    halls handle each; items some hall handles first."""
    q = "".join((q or "").split())
    if not q:
        return []
    rows = (
        ServiceItem.objects.filter(is_active=True)
        .filter(Q(name__icontains=q) | Q(search_text__icontains=q))
        .values("code", "name", "department__name")
    )
    rows = list(rows[:200])
    handled = dict(
        HallItem.objects.filter(hall__is_active=True, item_code__in=[r["code"] for r in rows])
        .values("item_code")
        .annotate(n=Count("hall"))
        .values_list("item_code", "n")
    )
    out = [
        {
            "code": r["code"],
            "name": r["name"],
            "department": r["department__name"],
            "halls": handled.get(r["code"], 0),
        }
        for r in rows
    ]
    out.sort(key=lambda r: (r["halls"] == 0, q not in r["name"], r["code"]))
    return out[:limit]


# ---------------------------------------------------------------- finder


def _coords(row) -> tuple[float, float] | None:
    if row.latitude is None or row.longitude is None:
        return None
    return float(row.latitude), float(row.longitude)


def _distance(row, place: places.Place | None) -> float | None:
    where = _coords(row)
    if place is None or where is None:
        return None
    return places.distance_km(place.latitude, place.longitude, *where)


def distance_text(km: float | None) -> str:
    if km is None:
        return ""
    if km < 1:
        return f"约{max(round(km * 1000, -1), 10):.0f}米"
    return f"约{km:.1f}公里"


@dataclass
class FinderResult:
    item_code: str
    item_name: str = ""
    item_known: bool = False
    place: places.Place | None = None
    address: str = ""
    # The typed address named no street or district we know; `place` is then the district.
    address_unplaced: bool = False
    halls: list[dict[str, Any]] = field(default_factory=list)
    circle: list[dict[str, Any]] = field(default_factory=list)


def search_place(*, district: str = "", address: str = "") -> tuple[places.Place | None, bool]:
    """Where to search from: the typed ADDRESS when it can be placed, else the DISTRICT.
    Returns (place, address_unplaced)."""
    address = (address or "").strip()
    if address:
        found = places.place_locate(address)
        if found is not None:
            return found, False
        return places.district_place(district) if district else None, True
    return (places.district_place(district) if district else None), False


def hall_row(
    hall: Hall, *, place: places.Place | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    km = _distance(hall, place)
    return {
        "code": hall.code,
        "name": hall.name,
        "level": hall.level,
        "level_label": HallLevel(hall.level).label,
        "district": hall.district,
        "district_label": District(hall.district).label,
        "address": hall.address,
        "phone": hall.phone,
        "latitude": float(hall.latitude) if hall.latitude is not None else None,
        "longitude": float(hall.longitude) if hall.longitude is not None else None,
        "distance_km": round(km, 2) if km is not None else None,
        "distance_text": distance_text(km),
        "today": hall_today(hall=hall, now=now),
    }


def hall_finder(
    *,
    item_code: str = "",
    district: str = "",
    address: str = "",
    now: dt.datetime | None = None,
) -> FinderResult:
    """The halls handling ITEM_CODE, nearest first to the typed ADDRESS (or the DISTRICT's
    centre when the address cannot be placed), with today's hours and waiting; and the 15分钟
    服务圈 around the place."""
    item_code = (item_code or "").strip()
    result = FinderResult(item_code=item_code, address=(address or "").strip())
    if district and district not in District.values:
        district = ""
    result.place, result.address_unplaced = search_place(district=district, address=address)
    if item_code:
        item = ServiceItem.objects.filter(code=item_code).values("name").first()
        result.item_known = item is not None
        result.item_name = item["name"] if item else ""
        if result.item_known:
            rows = [hall_row(h, place=result.place, now=now) for h in halls_for_item(
                item_code=item_code)]  # fmt: skip
            far = float("inf")
            rows.sort(
                key=lambda r: (
                    r["distance_km"] if r["distance_km"] is not None else far,
                    r["district"] != (result.place.district if result.place else ""),
                    r["code"],
                )
            )
            result.halls = rows
    if result.place is not None:
        result.circle = service_circle(
            latitude=result.place.latitude, longitude=result.place.longitude, now=now
        )
    return result


# ---------------------------------------------------------------- 15分钟服务圈


def _near(model, latitude: float, longitude: float, walk_km: float):
    # A box around the place first (about 1 km per 0.009° of latitude, 0.0105° of longitude
    # at Shanghai's latitude), so the index narrows before the exact distance is computed.
    reach = walk_km / places.WALK_DETOUR
    dlat, dlon = reach * 0.0091, reach * 0.0106
    rows = model.objects.filter(
        is_active=True,
        latitude__gte=latitude - dlat,
        latitude__lte=latitude + dlat,
        longitude__gte=longitude - dlon,
        longitude__lte=longitude + dlon,
    )
    for row in rows:
        km = places.distance_km(latitude, longitude, float(row.latitude), float(row.longitude))
        if places.walk_km(km) <= walk_km:
            yield row, km


def service_circle(
    *,
    latitude: float,
    longitude: float,
    walk_km: float = places.CIRCLE_WALK_KM,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Halls, service points and venues within WALK_KM on foot, nearest first, each with
    what it offers and today's hours."""
    points: list[dict[str, Any]] = []
    halls = list(_near(Hall, latitude, longitude, walk_km))
    counts = dict(
        HallItem.objects.filter(hall__in=[h for h, _ in halls])
        .values("hall")
        .annotate(n=Count("id"))
        .values_list("hall", "n")
    )
    for hall, km in halls:
        n = counts.get(hall.pk, 0)
        points.append(
            {
                "kind": "hall",
                "kind_label": f"政务服务大厅（{HallLevel(hall.level).label}）",
                "code": hall.code,
                "name": hall.name,
                "address": hall.address,
                "offers": f"可办理{n}项事项，取号、预约办事" if n else "咨询、取号",
                "today": hall_today(hall=hall, now=now),
                "km": km,
            }
        )
    point_rows = list(_near(ServicePoint, latitude, longitude, walk_km))
    names = item_names({c for p, _ in point_rows for c in p.item_codes})
    for point, km in point_rows:
        offered = [names[c] for c in point.item_codes if c in names]
        offers = "自助办理：" + "、".join(offered) if offered else "自助查询、打印"
        if point.kind == ServicePointKind.AREA_24H:
            offers = "24小时开放；" + offers
        points.append(
            {
                "kind": "service_point",
                "kind_label": ServicePointKind(point.kind).label,
                "code": point.code,
                "name": point.name,
                "address": point.address,
                "offers": offers,
                "today": place_today(point, now=now),
                "km": km,
            }
        )
    venue_rows = list(_near(Venue, latitude, longitude, walk_km))
    resources: dict[int, list[str]] = {}
    for venue_id, resource in BookingRule.objects.filter(
        venue__in=[v for v, _ in venue_rows], is_active=True
    ).values_list("venue_id", "resource"):
        resources.setdefault(venue_id, []).append(resource)
    for venue, km in venue_rows:
        bookable = sorted(resources.get(venue.pk, []))
        points.append(
            {
                "kind": "venue",
                "kind_label": venue.get_kind_display(),
                "code": venue.code,
                "name": venue.name,
                "address": venue.address,
                "offers": "可预约：" + "、".join(bookable) if bookable else venue.description,
                "today": place_today(venue, now=now),
                "km": km,
            }
        )
    points.sort(key=lambda p: (p["km"], p["code"]))
    for p in points:
        km = p.pop("km")
        p["distance_km"] = round(km, 2)
        p["walk_minutes"] = places.walk_minutes(km)
    return points


# ---------------------------------------------------------------- hall detail


def hall_detail(*, code: str, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """One active hall as the public sees it: where, level, hours for the week, windows with
    their kind, the items it handles (with a booking link where 统一预约 offers slots), its
    service points. None when there is no such active hall."""
    hall = Hall.objects.filter(code=code, is_active=True).first()
    if hall is None:
        return None
    codes = list(HallItem.objects.filter(hall=hall).values_list("item_code", flat=True))
    items = list(
        ServiceItem.objects.filter(code__in=codes)
        .order_by("department__code", "code")
        .values("code", "name", "subject", "department__name")
    )
    bookable = set(
        BookingRule.objects.filter(hall=hall, is_active=True).values_list("item_code", flat=True)
    )
    windows = []
    for w in (
        Window.objects.filter(hall=hall, is_active=True)
        .select_related("department")
        .order_by("number")
    ):
        limited = item_names(w.item_codes) if w.item_codes else {}
        windows.append(
            {
                "number": w.number,
                "name": w.name,
                "kind": w.kind,
                "kind_label": WindowKind(w.kind).label,
                "department": w.department.name if w.department else "",
                "only_items": [limited[c] for c in w.item_codes if c in limited],
            }
        )
    points = [
        {
            "code": p.code,
            "name": p.name,
            "kind_label": p.get_kind_display(),
            "items": list(item_names(p.item_codes).values()),
            "today": place_today(p, now=now),
        }
        for p in ServicePoint.objects.filter(hall=hall, is_active=True).order_by("code")
    ]
    return {
        **hall_row(hall, now=now),
        "opening_hours": hall.opening_hours,
        "week": week_hours(hall, now=now),
        "windows": windows,
        "items": [
            {
                "code": i["code"],
                "name": i["name"],
                "department": i["department__name"],
                "subject": i["subject"],
                "bookable": i["code"] in bookable,
            }
            for i in items
        ],
        "service_points": points,
    }
