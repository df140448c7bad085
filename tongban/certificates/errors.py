"""Errors of the e-certificate module, each with a stable code and a Chinese message."""

from __future__ import annotations

from typing import Any

from tongban.common.errors import DomainError, InvalidInput, NotFound


class CertificateTypesInvalid(InvalidInput):
    """The certificate type folder cannot be loaded; `details` lists every problem (file, line,
    field, message) and nothing was written."""

    code = "CERTIFICATE_TYPES_INVALID"
    message = "电子证照类型定义有误，未做任何更改"

    def __init__(self, problems: list[Any]):
        self.problems = problems
        super().__init__(
            f"电子证照类型定义有误（共 {len(problems)} 处），未做任何更改",
            details=[p.as_dict() for p in problems],
        )


class CertificateTypeUnknown(InvalidInput):
    code = "CERTIFICATE_TYPE_UNKNOWN"
    message = "没有这种电子证照类型"


class ClaimsInvalid(InvalidInput):
    """The claims do not fit the type's schema; `details` names each field."""

    code = "CERTIFICATE_CLAIMS_INVALID"
    message = "证照内容与证照类型的要求不符"


class HolderInvalid(InvalidInput):
    code = "CERTIFICATE_HOLDER_INVALID"
    message = "持证主体与证照类型不符"


class ClaimNotDisclosable(InvalidInput):
    code = "CERTIFICATE_CLAIM_NOT_DISCLOSABLE"
    message = "所选内容不允许单独出示"


class CertificateRevoked(InvalidInput):
    code = "CERTIFICATE_REVOKED"
    message = "证照已被撤销"


class RevocationReasonRequired(InvalidInput):
    code = "CERTIFICATE_REVOCATION_REASON_REQUIRED"
    message = "撤销证照须填写原因"


class CertificateNotFound(NotFound):
    code = "CERTIFICATE_NOT_FOUND"
    message = "未找到该电子证照"


class PdfFontMissing(DomainError):
    """The server cannot print Chinese: better no PDF than one of empty boxes."""

    code = "PDF_FONT_MISSING"
    message = "服务器未安装中文字体（文泉驿微米黑），暂时无法生成 PDF，请稍后再试或联系管理员"
    http_status = 503
