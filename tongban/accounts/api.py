"""/api/v1/ endpoints for one's own profile, enterprises and 我的数据使用记录.

Views are thin: authentication here, every rule in accounts.selectors.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Query, Router, Schema
from pydantic import Field

from tongban.accounts.apiauth import resident_auth
from tongban.accounts.errors import ResidentProfileNotFound
from tongban.accounts.http import client_ip
from tongban.accounts.selectors import (
    data_access_for,
    enterprise_data_access_for,
    enterprises_for_agent,
    resident_profile_for,
    resident_profile_of,
)
from tongban.accounts.services import account_activate
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["accounts"], auth=resident_auth)


class ResidentAttributesOut(Schema):
    marital_status: str
    marital_status_label: str
    disability_grade: int | None
    is_veteran: bool
    is_low_income: bool
    is_minimum_living_allowance: bool
    has_residence_permit: bool
    employment_status: str


class ResidentProfileOut(Schema):
    id: int
    name: str
    id_number: str
    phone: str
    masked: bool
    sex: str
    sex_label: str
    birth_date: dt.date
    hukou_district: str
    hukou_district_label: str
    hukou_is_local: bool
    residence_district: str
    residence_district_label: str
    residence_address: str
    attributes: ResidentAttributesOut | None


class EnterpriseOut(Schema):
    id: int
    uscc: str
    name: str
    type: str
    type_label: str
    legal_representative: str
    legal_representative_id_number: str
    registered_capital: Decimal
    industry_code: str
    district: str
    district_label: str
    address: str
    founded_on: dt.date
    employees: int
    status: str
    status_label: str
    my_role: str
    my_role_label: str


@router.get(
    "me/profile",
    response={200: ResidentProfileOut, **errors(401, 404)},
    summary="我的居民档案（脱敏）",
)
def my_profile(request):
    profile = resident_profile_of(request.auth)
    if profile is None:
        raise ResidentProfileNotFound("您的账户尚未关联居民档案")
    return resident_profile_for(viewer=request.auth, profile=profile)


@router.get(
    "me/enterprises", response={200: list[EnterpriseOut], **errors(401)}, summary="我的企业"
)
def my_enterprises(request):
    return enterprises_for_agent(user=request.auth)


class DataAccessOut(Schema):
    at: dt.datetime
    who: str = Field(description="使用单位（或机构）及岗位，从不是个人姓名")
    fields: list[str] = Field(description="使用的信息")
    receipt_no: str
    purpose: str
    legal_basis: str = Field(description="依据：法规条款、本人授权或依申请办件")
    source: str = Field(description="数据来源（答复核验的部门系统）；工作人员查阅为空")
    channel: str = Field(description="staff / exchange / consent / matching")
    channel_label: str


class DataAccessPageOut(Schema):
    count: int
    page: int
    pages: int
    items: list[DataAccessOut]


@router.get(
    "me/data-access",
    response={200: DataAccessPageOut, **errors(400, 401, 422)},
    summary="我的数据使用记录（谁因何查阅了我的个人数据）",
)
def my_data_access(request, page: int = Query(1, ge=1, le=100_000)):
    """Every read of the caller's personal data by staff or the platform, newest first: the
    reader's department and post (never a name), when, which fields, the case, the purpose."""
    paged = data_access_for(user=request.auth, page=page)
    return {
        "count": paged.paginator.count,
        "page": paged.number,
        "pages": paged.paginator.num_pages,
        "items": paged.object_list,
    }


@router.get(
    "enterprises/{enterprise_id}/data-access",
    response={200: DataAccessPageOut, **errors(400, 401, 403, 404, 422)},
    summary="企业数据使用记录（谁因何使用了本企业的数据）",
)
def enterprise_data_access(request, enterprise_id: Id, page: int = Query(1, ge=1, le=100_000)):
    """For the enterprise's 法定代表人 or 管理员: every use of its data, newest first, as
    me/data-access. An agent is refused (NOT_ENTERPRISE_MANAGER, 403); anyone else is told
    the enterprise is not found (ENTERPRISE_NOT_FOUND, 404)."""
    paged = enterprise_data_access_for(viewer=request.auth, enterprise_id=enterprise_id, page=page)
    return {
        "count": paged.paginator.count,
        "page": paged.number,
        "pages": paged.paginator.num_pages,
        "items": paged.object_list,
    }


class ActivateIn(Schema):
    id_number: str
    code: str
    username: str = ""
    password: str


class ActivateOut(Schema):
    username: str


@router.post(
    "accounts/activate",
    auth=None,
    response={200: ActivateOut, **errors(400, 409, 422, 429)},
    summary="账号激活（用综合窗口开具的激活码设置密码）",
)
def account_activate_endpoint(request, payload: ActivateIn):
    """Public, like the page: sets the password of an account opened at the counter. Does
    not log in (no session): the client logs in with the new password. A wrong, expired or
    used code and a non-matching ID number are all ACTIVATION_INVALID; repeated failures
    make the next try wait (ACTIVATION_THROTTLED, 429 with Retry-After in seconds), counted
    apart from password logins."""
    user = account_activate(
        id_number=payload.id_number,
        code=payload.code,
        username=payload.username,
        password=payload.password,
        ip_address=client_ip(request),
    )
    return {"username": user.username}
