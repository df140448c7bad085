"""/api/v1/certificates/…: verification for anyone (no login; the text carries its own proof)."""

from __future__ import annotations

from typing import Any

from ninja import Field, Router, Schema

from tongban.certificates import selectors
from tongban.certificates import verify as v
from tongban.certificates.cose import MAX_TEXT_CHARS

router = Router(tags=["certificates"])

# Twice the longest text a QR code can carry: anything longer is refused before decoding.
MAX_BODY_TEXT = 2 * MAX_TEXT_CHARS


class VerifyIn(Schema):
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
    response=VerifyOut,
    auth=None,
    summary="核验电子证照",
    description="对扫码所得文本核验签名、签发机构、有效期与撤销状态。结果为以下之一："
    + "、".join(v.REASON_CODES)
    + "。只有签名可信时才返回证照内容。",
)
def verify_certificate(request, payload: VerifyIn):
    return verification_body(selectors.certificate_verify(payload.text.strip()))
