"""Writes of halls, windows, service points and venues. Keyword-only, one transaction, one
audit row each."""

from __future__ import annotations

from django.db import transaction

from tongban.accounts.models import District
from tongban.appointments.models import Hall, Window
from tongban.common.errors import Conflict, InvalidInput
from tongban.common.services import audit_record


def _audit(actor, **fields) -> None:
    if isinstance(actor, str):
        audit_record(actor_label=actor, **fields)
    else:
        audit_record(actor=actor, **fields)


def hall_create(
    *, actor, code: str, name: str, district: str, address: str, opening_hours: str = ""
) -> Hall:
    """Open a 政务服务大厅. ACTOR is a User or "system:<process>"."""
    code, name, address = (code or "").strip(), (name or "").strip(), (address or "").strip()
    if not code or not name or not address:
        raise InvalidInput("大厅编码、名称和地址不能为空", code="HALL_INVALID")
    if district not in District.values:
        raise InvalidInput(f"区代码{district}不是本市的区", code="INVALID_DISTRICT")
    with transaction.atomic():
        if Hall.objects.filter(code=code).exists():
            raise Conflict("该大厅编码已存在", code="HALL_EXISTS")
        hall = Hall.objects.create(
            code=code, name=name, district=district, address=address, opening_hours=opening_hours
        )
        _audit(actor, action="hall.create", object_type="hall", object_id=hall.pk,
               data={"code": code})  # fmt: skip
    return hall


def window_create(*, actor, hall: Hall, number: str, name: str) -> Window:
    """Add a 窗口 to HALL; its number is unique within the hall."""
    number, name = (number or "").strip(), (name or "").strip()
    if not number or not name:
        raise InvalidInput("窗口号和名称不能为空", code="WINDOW_INVALID")
    with transaction.atomic():
        if Window.objects.filter(hall=hall, number=number).exists():
            raise Conflict("该大厅已有此窗口号", code="WINDOW_EXISTS")
        window = Window.objects.create(hall=hall, number=number, name=name)
        _audit(actor, action="window.create", object_type="hall", object_id=hall.pk,
               data={"number": number})  # fmt: skip
    return window
