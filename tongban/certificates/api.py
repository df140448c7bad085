"""/api/v1/certificates/…: verification for anyone (no login; the text carries its own proof);
/api/v1/me/certificates…: the wallet (我的证照); staff revocation."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema

from tongban.accounts.apiauth import resident_auth, staff_auth
from tongban.certificates import selectors, services
from tongban.certificates import verify as v
from tongban.certificates.cose import MAX_TEXT_CHARS
from tongban.common.api_schemas import errors
from tongban.common.apitypes import Id

router = Router(tags=["certificates"])

# Twice the longest text a QR code can carry: anything longer is refused before decoding.
MAX_BODY_TEXT = 2 * MAX_TEXT_CHARS


class CertificateVerifyIn(Schema):
    text: str = Field(..., max_length=MAX_BODY_TEXT, description="扫码所得文本，以 TB1: 开头")


class VerifyOut(Schema):
    result: str = Field(..., description="valid | " + " | ".join(v.REASON_CODES[1:]))
    message: str
    issuer: dict[str, str] | None = None
    type: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    issued_at: int | None = None
    expires_at: int | None = None
    presentation: bool = False


def verification_body(result: v.VerificationResult) -> dict[str, Any]:
    """The answer's shape, shared with the public page. Claims only where a trusted key's
    signature holds, so nobody is shown content that nobody vouches for."""
    body: dict[str, Any] = {"result": result.code, "message": result.message}
    if result.issuer:
        body["issuer"] = {"code": result.issuer, "name": result.issuer_name}
    token = result.token
    if token is not None:
        body.update(
            type={"code": token.type_code, "version": token.type_version},
            claims=token.claims,
            issued_at=token.issued_at,
            expires_at=token.expires_at,
            presentation=token.presented_cti is not None,
        )
    return body


@router.post(
    "/certificates/verify",
    response={200: VerifyOut, **errors(400, 422)},
    auth=None,
    summary="核验电子证照",
    description="对扫码所得文本核验签名、签发机构、有效期与撤销状态。结果为以下之一："
    + "、".join(v.REASON_CODES)
    + "。只有签名可信时才返回证照内容。",
)
def verify_certificate(request, payload: CertificateVerifyIn):
    return verification_body(selectors.certificate_verify(payload.text))


# ---------------------------------------------------------------- the wallet (我的证照)


class CertificateSummaryOut(Schema):
    id: int
    serial: str
    type: dict[str, Any]
    holder: dict[str, Any]
    state: str
    issued_at: str | None
    expires_at: str | None


class PresentationIn(Schema):
    claims: list[str] = Field(
        ..., max_length=40, description="要出示的声明名称（须为可单独出示项）"
    )
    ttl_seconds: int = Field(300, description="出示码有效秒数，30 至 3600")


class PresentationOut(Schema):
    text: str
    expires_at: str


class RevokeIn(Schema):
    reason: str = Field(..., max_length=200)


@router.get(
    "/me/certificates",
    response={200: list[CertificateSummaryOut], **errors(401)},
    auth=resident_auth,
    summary="我的证照",
    description="本人、由本人监护的未成年人及本人经办企业的电子证照。",
)
def my_certificates(request):
    keys = ("id", "serial", "type", "holder", "state", "issued_at", "expires_at")
    return [
        {k: body[k] for k in keys}
        for body in (
            selectors.certificate_json(c)
            for c in selectors.certificates_for(user=request.user)[:500]
        )
    ]


@router.get(
    "/me/certificates/{certificate_id}",
    response={200: dict[str, Any], **errors(400, 401, 404, 422)},
    auth=resident_auth,
    summary="证照详情",
    description="他人的证照按不存在处理（404）。",
)
def my_certificate(request, certificate_id: Id):
    return selectors.certificate_json(
        selectors.certificate_for(user=request.user, pk=certificate_id)
    )


@router.post(
    "/me/certificates/{certificate_id}/presentations",
    response={200: PresentationOut, **errors(400, 401, 403, 404, 422)},
    auth=resident_auth,
    summary="选择性出示",
    description="只含所选声明的短时有效出示码；不可单独出示的声明被拒绝（422）。",
)
def my_certificate_present(request, certificate_id: Id, payload: PresentationIn):
    cert = selectors.certificate_for(user=request.user, pk=certificate_id)
    shown = services.presentation_create(
        certificate=cert,
        holder_user=request.user,
        claims=payload.claims,
        ttl_seconds=payload.ttl_seconds,
    )
    return {"text": shown.text, "expires_at": selectors.iso_time(shown.expires_at)}


@router.post(
    "/certificates/{serial}/revoke",
    response={200: CertificateSummaryOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=staff_auth,
    summary="撤销证照（工作人员）",
    description="仅签发部门的发证或负责人岗位可撤销；须写明原因。",
)
def certificate_revoke(request, serial: str, payload: RevokeIn):
    cert = selectors.certificate_by_serial(serial)
    done = services.certificate_revoke(certificate=cert, actor=request.user, reason=payload.reason)
    body = selectors.certificate_json(done)
    return {k: body[k] for k in CertificateSummaryOut.model_fields}
