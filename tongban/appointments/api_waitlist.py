"""/api/v1/me/waiting-lists, /api/v1/waiting-offers/{id}/accept|decline (the person, or a
relative acting for them under a live 亲友代办 authorisation: rows with `acting_for`) and
/api/v1/waiting-lists/{code}/entries, /api/v1/waiting-places/{id}/free (the list's department
staff): 轮候. Thin: the same services and selectors as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.appointments.models import EntryStatus, OfferStatus, PlaceStatus
from tongban.appointments.selectors import waitlist as selectors
from tongban.appointments.services import waitlist as services
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["轮候"])


class WaitingOfferOut(Schema):
    id: int
    status: Literal[*OfferStatus.values]
    status_label: str
    facility: str
    place: str
    district: str
    offered_at: dt.datetime
    respond_by: dt.datetime
    responded_at: dt.datetime | None
    open: bool = Field(description="仍可答复（待答复且未过期限）")


class WaitingEventOut(Schema):
    kind: str = Field(description="joined/offered/accepted/declined/expired/withdrawn/reranked")
    label: str
    position: int | None = Field(description="这次变动后的位次；离开名单后为空")
    at: dt.datetime
    note: str
    acted_by_name: str = Field("", description="亲友代办：代为办理的代办人姓名；本人办理为空")


class WaitingEntryOut(Schema):
    id: int
    list_code: str
    list_name: str
    department: str
    status: Literal[*EntryStatus.values]
    status_label: str
    priority_class: str
    priority_label: str
    priority_rank: int
    position: int | None = Field(description="当前位次（1 为第一位）；离开名单后为空")
    joined_position: int | None
    position_changed_at: dt.datetime | None = Field(
        None, description="位次最近一次变动的时间（前面有人离开、插入或类别调整）；登记后未变动为空"
    )
    joined_at: dt.datetime
    declines: int
    receipt_no: str
    offer: WaitingOfferOut | None
    events: list[WaitingEventOut]
    acting_for: str = Field("", description="亲友代办：被代办人姓名；本人的轮候为空")


class OfferDeclineIn(Schema):
    reason: str = Field("", max_length=200, description="放弃原因（选填）")


class StaffEntryOut(Schema):
    id: int
    position: int
    name_masked: str
    priority_class: str
    priority_label: str
    joined_at: dt.datetime
    status: Literal[*EntryStatus.values]
    status_label: str
    declines: int
    offer: WaitingOfferOut | None


class PlaceFreedOut(Schema):
    place_id: int
    place_status: Literal[*PlaceStatus.values]
    offer: WaitingOfferOut | None = Field(description="发出的入住通知；无人轮候时为空")


def _entry(request, entry_id: int) -> dict:
    entry = selectors.entry_for(user=request.user, entry_id=entry_id)
    if entry is None:
        raise services.WaitlistNotFound()
    return selectors.entry_row_for(user=request.user, entry=entry)


@router.get(
    "/me/waiting-lists",
    auth=resident_auth,
    response={200: list[WaitingEntryOut], **errors(401)},
    summary="我的轮候（位次、优先类别、位次变化、入住通知；含亲友代办的被代办人轮候）",
)
def my_waiting_lists(request):
    acting = selectors.acting_entries_for(
        user=request.user, ip_address=request.META.get("REMOTE_ADDR")
    )
    return selectors.entries_for(user=request.user) + [
        row for group in acting for row in group["entries"]
    ]


@router.post(
    "/waiting-offers/{offer_id}/accept",
    auth=resident_auth,
    response={200: WaitingEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="确认入住（须在答复期限内）",
)
def offer_accept(request, offer_id: Id):
    offer = services.offer_accept(offer_id=offer_id, actor=request.user)
    return _entry(request, offer.entry_id)


@router.post(
    "/waiting-offers/{offer_id}/decline",
    auth=resident_auth,
    response={200: WaitingEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="放弃本次入住通知（仍在原位次轮候）",
)
def offer_decline(request, offer_id: Id, payload: OfferDeclineIn | None = None):
    reason = payload.reason if payload is not None else ""
    offer = services.offer_decline(offer_id=offer_id, actor=request.user, reason=reason)
    return _entry(request, offer.entry_id)


@router.post(
    "/me/waiting-lists/{entry_id}/withdraw",
    auth=resident_auth,
    response={200: WaitingEntryOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤回轮候登记",
)
def entry_withdraw(request, entry_id: Id):
    entry = selectors.entry_for(user=request.user, entry_id=entry_id)
    if entry is None:
        raise services.WaitlistNotFound()
    services.waitlist_withdraw(entry=entry, actor=request.user)
    return _entry(request, entry_id)


@router.get(
    "/waiting-lists/{code}/entries",
    auth=staff_auth,
    response={200: list[StaffEntryOut], **errors(400, 401, 403, 404, 422)},
    summary="轮候顺序（本部门的轮候名单，姓名脱敏）",
)
def list_entries(request, code: str):
    view = selectors.list_for_keeper(user=request.user, code=code)
    if view is None:
        raise services.WaitlistNotFound("未找到该轮候名单")
    return view["entries"]


@router.post(
    "/waiting-places/{place_id}/free",
    auth=staff_auth,
    response={200: PlaceFreedOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="床位空出：按位次向第一位轮候人发出入住通知",
)
def place_free(request, place_id: Id):
    place = selectors.place_for_keeper(user=request.user, place_id=place_id)
    if place is None:
        raise services.WaitlistNotFound("未找到该床位")
    offer = services.place_free(place=place, actor=request.user)
    place.refresh_from_db()
    row = None
    if offer is not None:
        offer = type(offer).objects.select_related("place").get(pk=offer.pk)
        row = selectors.offer_row(offer)
    return {"place_id": place.pk, "place_status": place.status, "offer": row}
