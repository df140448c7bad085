"""The shape of a certificate type definition (YAML, one type per file), validated by pydantic.

code: resident_id_card
name: 居民身份证
department: SH-GA              # the issuing department (its code in departments.yaml)
holder: person                 # person | enterprise
validity_days: 7300            # null: permanent
claims:
  - {name: name, label: 姓名, type: string}
  - {name: birth_date, label: 出生日期, type: date}
display: [name, id_number]     # shown on the card face, in this order
disclosable: [name]            # a holder may show these on their own (选择性出示)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from tongban.catalog.schemas import Code, Strict

CLAIM_NAME = r"^[a-z][a-z0-9_]*$"
# element:<data element code> | profile:<holder profile field> | applicant:<applicant profile
# field> | enterprise:<holder enterprise field> | case:receipt_no|concluded_on|expires_on|number |
# issuer:name | value:<a fixed text>
CLAIM_SOURCE = (
    r"^(element:[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+"
    r"|(profile|applicant|enterprise):[a-z][a-z0-9_]*"
    r"|case:(receipt_no|concluded_on|expires_on|number)|issuer:name|value:.{1,60})$"
)


class ClaimDef(Strict):
    name: Annotated[str, Field(pattern=CLAIM_NAME, max_length=40)]
    label: Annotated[str, Field(min_length=1, max_length=40)]
    type: Literal["string", "date", "integer"] = "string"
    required: bool = True
    max_length: Annotated[int, Field(ge=1, le=500)] = 200
    # 统一发证: where issuance from a concluded case takes this claim's value, tried in order,
    # the first non-empty wins (see tongban/certificates/issuance.py). Explicit, never guessed
    # from the claim's name.
    source: list[Annotated[str, Field(pattern=CLAIM_SOURCE)]] = Field(default_factory=list)


class CertificateTypeDef(Strict):
    code: Code
    name: Annotated[str, Field(min_length=1, max_length=80)]
    department: Code
    holder: Literal["person", "enterprise"]
    validity_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    claims: Annotated[list[ClaimDef], Field(min_length=1, max_length=40)]
    display: list[str] = Field(default_factory=list)
    disclosable: list[str] = Field(default_factory=list)
    # 换发: a holder has one in force (a renewed 居民身份证 ends the old one). Issuing a new
    # certificate of such a type revokes the holder's earlier ones in the same transaction.
    replaces_earlier: bool = False

    @model_validator(mode="after")
    def _names_refer_to_claims(self) -> CertificateTypeDef:
        names = [c.name for c in self.claims]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"声明名称重复：{'、'.join(duplicates)}")
        for what, listed in (("display", self.display), ("disclosable", self.disclosable)):
            unknown = [n for n in listed if n not in names]
            if unknown:
                raise ValueError(f"{what} 中的 {'、'.join(unknown)} 不是本类型的声明")
        return self


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def claims_problems(definition: CertificateTypeDef, claims: Any) -> list[dict[str, str]]:
    """Every way CLAIMS fail DEFINITION, as {"field", "message"} entries (empty when none)."""
    if not isinstance(claims, dict):
        return [{"field": "claims", "message": "证照内容应为键值映射"}]
    problems: list[dict[str, str]] = []
    known = {c.name: c for c in definition.claims}
    for name in claims:
        if name not in known:
            problems.append({"field": str(name), "message": "本证照类型没有这一项"})
    for claim in definition.claims:
        value = claims.get(claim.name)
        if value is None or value == "":
            if claim.required:
                problems.append({"field": claim.name, "message": f"缺少必填项：{claim.label}"})
            continue
        if claim.type == "integer":
            if type(value) is not int:
                problems.append({"field": claim.name, "message": f"{claim.label}应为整数"})
        elif not isinstance(value, str):
            problems.append({"field": claim.name, "message": f"{claim.label}应为文本"})
        elif claim.type == "date" and not _is_date(value):
            problems.append(
                {"field": claim.name, "message": f"{claim.label}应为日期（YYYY-MM-DD）"}
            )
        elif len(value) > claim.max_length:
            problems.append(
                {"field": claim.name, "message": f"{claim.label}最多 {claim.max_length} 个字"}
            )
    return problems


def _is_date(value: str) -> bool:
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
