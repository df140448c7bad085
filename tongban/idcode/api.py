"""/api/v1/me/idcode, /api/v1/enterprises/{id}/idcode (logged-in holders) and
/api/v1/idcode/scan (registered scanners, by API key: a resident's session is not enough)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from tongban.accounts.apiauth import resident_auth
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id
from tongban.idcode import selectors, services
from tongban.idcode import token as t

router = Router(tags=["idcode"])


class ScannerAuth(HttpBearer):
    """Authorization: Bearer <scanner API key>."""

    def authenticate(self, request, token):
        return selectors.scanner_for_key(token)


class CodeOut(Schema):
    text: str = Field(..., description="二维码内容，以 SSM1: 开头")
    svg: str = Field(..., description="二维码图像（SVG）")
    expires_at: dt.datetime
    refresh_after: int = Field(..., description="建议在此秒数后获取新码")


class ScanIn(Schema):
    code: str = Field(..., max_length=2 * t.MAX_TEXT_CHARS)
    scenario: str = Field(..., max_length=40)


class ScanOut(Schema):
    result: str = Field(..., description=" | ".join(t.RESULT_CODES))
    message: str
    attributes: dict[str, Any] = {}


class RefusedOut(ScanOut):
    code: str


def _code_body(issued: services.IssuedCode) -> dict[str, Any]:
    return {
        "text": issued.text,
        "svg": issued.svg,
        "expires_at": issued.expires_at,
        "refresh_after": issued.refresh_after,
    }


@router.get(
    "me/idcode",
    auth=resident_auth,
    response={200: CodeOut, **errors(401, 404)},
    summary="我的随申码",
)
def my_idcode(request):
    return _code_body(services.idcode_issue(user=request.auth))


@router.get(
    "enterprises/{enterprise_id}/idcode",
    auth=resident_auth,
    response={200: CodeOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="企业随申码（一企一码）",
)
def enterprise_idcode(request, enterprise_id: Id):
    return _code_body(
        services.enterprise_idcode_issue(user=request.auth, enterprise_id=enterprise_id)
    )


@router.post(
    "idcode/scan",
    auth=ScannerAuth(),
    response={200: ScanOut, 403: RefusedOut, **errors(400, 401, 422)},
    summary="扫描随申码",
    description="已登记的扫码终端凭 API 密钥（Authorization: Bearer）调用。结果为以下之一："
    + "、".join(t.RESULT_CODES)
    + "。只返回该场景登记可见的属性；每次扫码均留痕。每个码只能成功扫描一次。",
)
def scan(request, payload: ScanIn):
    outcome = services.code_scan(scanner=request.auth, code=payload.code, scenario=payload.scenario)
    body = {"result": outcome.result, "message": outcome.message, "attributes": outcome.attributes}
    if outcome.result == t.SCENARIO_NOT_ALLOWED:
        return Status(403, {"code": "IDCODE_SCENARIO_NOT_ALLOWED", **body})
    return body
