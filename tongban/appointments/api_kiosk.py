"""API of 24小时自助终端: what the terminal's own page may ask without counting as the person's
activity — whether this browser is a kiosk, and how long the current session has left."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from tongban.appointments.middleware_kiosk import (
    KIOSK_COOKIE,
    KIOSK_SEEN_KEY,
    KIOSK_SESSION_KEY,
    clock,
)
from tongban.appointments.selectors.kiosk import kiosk_point_for, kiosk_self_service_items
from tongban.appointments.services.kiosk import idle_seconds

router = Router(tags=["24小时自助终端"])


class KioskSessionOut(Schema):
    enrolled: bool
    point_code: str | None = None
    point_name: str | None = None
    has_hall: bool = False
    self_service_items: list[str] = []
    logged_in: bool = False
    idle_seconds: int
    remaining_seconds: int | None = None


@router.get("kiosk/session", response=KioskSessionOut, auth=None, summary="本机自助终端状态")
def kiosk_session(request: HttpRequest):
    """On an enrolled browser (the kiosk cookie): its service point, whether a resident is
    logged in by scanning, and the seconds before the idle limit ends the session. A
    background request like this one does not count as activity."""
    point = kiosk_point_for(key=request.COOKIES.get(KIOSK_COOKIE))
    limit = idle_seconds()
    if point is None:
        return {"enrolled": False, "idle_seconds": limit}
    logged_in = request.user.is_authenticated and isinstance(
        request.session.get(KIOSK_SESSION_KEY), dict
    )
    seen = request.session.get(KIOSK_SEEN_KEY)
    remaining = None
    if logged_in and seen is not None:
        remaining = max(0, limit - int(clock() - seen))
    return {
        "enrolled": True,
        "point_code": point.code,
        "point_name": point.name,
        "has_hall": point.hall_id is not None,
        "self_service_items": [i["code"] for i in kiosk_self_service_items(point=point)],
        "logged_in": logged_in,
        "idle_seconds": limit,
        "remaining_seconds": remaining,
    }
