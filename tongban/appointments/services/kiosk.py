"""Writes of 24小时自助终端 (kiosk mode): enrolling a terminal's browser to a service point,
logging a resident in by scanning their 随申码, ending that session, and the walk-in ticket
and booking check-in a terminal offers (the queue's own services do the work).

A terminal is a browser holding a random key in a cookie; the service point keeps only a
keyed hash of it, so a copy of the database cannot make a kiosk, and enrolling again
replaces the key (the old browser stops being a kiosk at its next request)."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.appointments.models import ServicePoint, Ticket, TicketSource
from tongban.appointments.selectors import kiosk as kiosk_selectors
from tongban.appointments.services import queue as queue_services
from tongban.common.errors import InvalidInput, NotFound, PermissionDenied
from tongban.common.services import audit_record
from tongban.idcode import token as idcode_token
from tongban.idcode.services import code_scan, scanner_create

KIOSK_KEY_PREFIX = "tbk_"
KIOSK_LOGIN_SCENARIO = "kiosk_login"
KIOSK_SCANNER_SCENARIOS = ["hall_checkin", KIOSK_LOGIN_SCENARIO]
DEFAULT_IDLE_SECONDS = 120


def idle_seconds() -> int:
    """How long a kiosk session may stay untouched; read at call time (tests, operators)."""
    value = int(getattr(settings, "TONGBAN_KIOSK_IDLE_SECONDS", DEFAULT_IDLE_SECONDS))
    return max(15, min(value, 1800))


class KioskEnrolNotAllowed(PermissionDenied):
    code = "KIOSK_ENROL_NOT_ALLOWED"
    message = "只有该服务点所在大厅的综合窗口工作人员或系统管理员可以登记自助终端。"


class KioskNotEnrolled(PermissionDenied):
    code = "KIOSK_NOT_ENROLLED"
    message = "本机尚未登记为自助终端。"


class KioskPointNotFound(NotFound):
    code = "KIOSK_POINT_NOT_FOUND"
    message = "未找到该服务点。"


class KioskScanRefused(InvalidInput):
    """A scanned code that does not log anyone in; the message tells the person what to do."""

    code = "KIOSK_SCAN_REFUSED"
    message = "无法识别该二维码，请重新扫码。"


class KioskLoginRefused(PermissionDenied):
    code = "KIOSK_LOGIN_REFUSED"
    message = "该账户不能在自助终端登录，请到窗口办理。"


# What the person at the terminal reads for each refused scan: what happened and what to do.
SCAN_MESSAGES = {
    idcode_token.EXPIRED: "二维码已过期。请在手机上刷新随申码后重新扫码。",
    idcode_token.REPLAYED: "此二维码已经用过。请在手机上刷新随申码后重新扫码。",
    idcode_token.NOT_APPLICABLE: (
        "自助终端只能用个人随申码登录，请出示本人的个人随申码（不是企业码）。"
    ),
    idcode_token.FORGED: "这不是有效的随申码，请出示“随申办”里本人的随申码。",
    idcode_token.MALFORMED: "没有读到完整的随申码，请把手机屏幕对准扫码口再扫一次。",
    idcode_token.SUBJECT_UNKNOWN: "无法确认持码人。请在手机上刷新随申码后重新扫码。",
    idcode_token.SCENARIO_NOT_ALLOWED: "本终端暂不能扫码登录，请联系大厅工作人员。",
}


def _new_key() -> str:
    return KIOSK_KEY_PREFIX + secrets.token_urlsafe(32)


def kiosk_enrol(
    *, actor: User, point: ServicePoint, ip_address: str | None = None, now=None
) -> str:
    """Make the browser ACTOR is using the kiosk of POINT: returns the new key (set it in the
    browser's cookie; it is not kept anywhere). Re-enrolling replaces the key. A point
    without a scanner allowed to log people in gets one (hall_checkin + kiosk_login)."""
    now = now or timezone.now()
    if not kiosk_selectors.kiosk_may_enrol(user=actor, point=point):
        raise KioskEnrolNotAllowed()
    if not point.is_active:
        raise KioskPointNotFound()
    key = _new_key()
    with transaction.atomic():
        locked = ServicePoint.objects.select_for_update().get(pk=point.pk)
        scanner = locked.scanner
        new_scanner = scanner is None or not scanner.is_active
        if not new_scanner and KIOSK_LOGIN_SCENARIO not in scanner.scenarios:
            new_scanner = True
        if new_scanner:
            # A point's old scanner may be shared (a hall's); it is left as it is.
            scanner, _ = scanner_create(
                name=f"{locked.name} 自助终端",
                organisation=locked.hall.name if locked.hall_id else locked.name,
                scenario_codes=KIOSK_SCANNER_SCENARIOS,
                actor_label=f"staff:{actor.username}",
            )
        replaced = bool(locked.kiosk_key_hash)
        locked.scanner = scanner
        locked.kiosk_key_hash = kiosk_selectors.kiosk_key_hash(key)
        locked.kiosk_enrolled_at = now
        locked.save(update_fields=["scanner", "kiosk_key_hash", "kiosk_enrolled_at"])
        audit_record(
            actor=actor,
            action="kiosk.enrol",
            object_type="service_point",
            object_id=locked.pk,
            ip_address=ip_address,
            data={"code": locked.code, "replaced": replaced, "scanner_created": new_scanner},
        )
    point.refresh_from_db()
    return key


def kiosk_unenrol(*, actor: User, point: ServicePoint, ip_address: str | None = None) -> None:
    """Stop POINT's browser being a kiosk (lost or replaced terminal)."""
    if not kiosk_selectors.kiosk_may_enrol(user=actor, point=point):
        raise KioskEnrolNotAllowed()
    with transaction.atomic():
        updated = ServicePoint.objects.filter(pk=point.pk).exclude(kiosk_key_hash="")
        if updated.update(kiosk_key_hash="", kiosk_enrolled_at=None):
            audit_record(
                actor=actor,
                action="kiosk.unenrol",
                object_type="service_point",
                object_id=point.pk,
                ip_address=ip_address,
                data={"code": point.code},
            )
    point.refresh_from_db()


def kiosk_login(*, point: ServicePoint, code: str, ip_address: str | None = None, now=None) -> User:
    """The account whose 随申码 was scanned at POINT's terminal: the scan is checked and logged
    with the point's scanner under kiosk_login (one use per code), the holder must be a
    person whose own account asked for the code. The caller starts the session."""
    now = now or timezone.now()
    code = (code or "").strip()
    if not code:
        raise KioskScanRefused("没有读到二维码，请把手机上的随申码对准扫码口。")
    if len(code) > 4000:
        raise KioskScanRefused(SCAN_MESSAGES[idcode_token.MALFORMED])
    if point.scanner_id is None:
        raise KioskScanRefused(SCAN_MESSAGES[idcode_token.SCENARIO_NOT_ALLOWED])
    result = code_scan(scanner=point.scanner, code=code, scenario=KIOSK_LOGIN_SCENARIO, now=now)
    if result.result != idcode_token.OK:
        raise KioskScanRefused(SCAN_MESSAGES.get(result.result, result.message))
    holder = result.holder
    if holder is None or holder.kind != "person":
        raise KioskScanRefused(SCAN_MESSAGES[idcode_token.NOT_APPLICABLE])
    user = User.objects.filter(pk=holder.requested_by_id, is_active=True).first()
    # holder_query already insists the code was asked for by the profile's own account.
    if user is None or holder.subject.user_id != user.pk:
        raise KioskScanRefused(SCAN_MESSAGES[idcode_token.SUBJECT_UNKNOWN])
    if user.is_superuser or user.kind == User.Kind.STAFF or user.staff_assignments.exists():
        # Staff log in with a second factor; a scan at a public terminal is not one.
        raise KioskLoginRefused("工作人员账户不能在自助终端扫码登录，请使用工作台登录。")
    with transaction.atomic():
        audit_record(
            actor=user,
            action="kiosk.login",
            object_type="service_point",
            object_id=point.pk,
            subject_resident_id=holder.subject.pk,
            ip_address=ip_address,
            data={"code": point.code},
        )
    return user


def kiosk_session_end(
    *, point: ServicePoint | None, user: User, reason: str, ip_address: str | None = None
) -> None:
    """Record that a kiosk session ended: REASON "logout" (the person) or "idle"."""
    with transaction.atomic():
        audit_record(
            actor=user,
            action="kiosk.logout",
            object_type="service_point",
            object_id=point.pk if point else "",
            ip_address=ip_address,
            data={"reason": reason, "code": point.code if point else ""},
        )


def _hall_of(point: ServicePoint):
    if point.hall_id is None:
        raise InvalidInput("本服务点不在政务服务大厅内，不能取号或预约签到。", code="KIOSK_NO_HALL")
    return point.hall


def kiosk_ticket_take(
    *, point: ServicePoint, item_code: str, user: User | None = None, now=None
) -> Ticket:
    """A walk-in ticket for ITEM_CODE at POINT's hall (自助取号), for USER when logged in."""
    hall = _hall_of(point)
    actor = user if user is not None and user.is_authenticated else f"kiosk:{point.code}"
    return queue_services.ticket_take(
        hall=hall,
        item_code=item_code,
        source=TicketSource.KIOSK,
        user=user if user is not None and user.is_authenticated else None,
        actor=actor,
        now=now,
    )


def kiosk_check_in(*, point: ServicePoint, code: str, now: dt.datetime | None = None) -> Ticket:
    """预约签到 at POINT's terminal: the scanned 随申码 finds today's booking at the hall."""
    hall = _hall_of(point)
    code = (code or "").strip()
    if not code:
        raise KioskScanRefused("没有读到二维码，请把手机上的随申码对准扫码口。")
    return queue_services.booking_check_in(
        hall=hall, code=code, via="kiosk", actor_label=f"自助终端：{point.name}", now=now
    )


SWEEPS: dict = {}
