"""Identity numbers: 居民身份证号码 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015).

Each check returns the parsed facts or raises InvalidInput with a message that says exactly
what is wrong, so a clerk can tell a typo from a wrong digit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tongban.common.errors import InvalidInput

# GB/T 2260 province-level codes (first two digits of an administrative division code).
PROVINCE_CODES = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省",
    "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class InvalidIdNumber(InvalidInput):
    code = "INVALID_ID_NUMBER"
    message = "身份证号码无效"


class InvalidCreditCode(InvalidInput):
    code = "INVALID_CREDIT_CODE"
    message = "统一社会信用代码无效"


@dataclass(frozen=True)
class IdNumberFacts:
    number: str
    region_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IdNumberFacts:
    """Validate an 18-character 身份证号码 and derive birth date and sex from it."""
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise InvalidIdNumber(f"身份证号码应为18位，当前为{len(value)}位")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidIdNumber("身份证号码前17位应为数字，最后一位为数字或X")
    region = value[:6]
    if region[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber(f"身份证号码的地区码{region}不存在")
    try:
        birth = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(f"身份证号码中的出生日期{value[6:14]}不是有效日期") from exc
    today = today or dt.date.today()
    if birth > today or birth.year < 1900:
        raise InvalidIdNumber(f"身份证号码中的出生日期{birth:%Y-%m-%d}不在合理范围内")
    expected = id_number_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber("身份证号码校验位不正确，请核对是否输错")
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumberFacts(number=value, region_code=region, birth_date=birth, sex=sex)


def mask_id_number(value: str) -> str:
    """310***********1234: keeps the province-city prefix and the last four characters."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]


def mask_name(value: str) -> str:
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)


def mask_address(value: str) -> str:
    """Keeps roughly the district ("上海市徐汇区") and hides the street and door number."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:6] + "****"


def make_id_number(region: str, birth_date: dt.date, seq: int) -> str:
    """Build a valid synthetic 身份证号码 for tests and the demo city.

    SEQ is the 3-digit 顺序码 (0-999); its parity is the holder's sex (odd = male), as
    GB 11643 prescribes, so callers choose the sex by choosing the parity.
    """
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {region!r}")
    if not 0 <= seq <= 999:
        raise ValueError(f"seq must be 0-999, got {seq}")
    first17 = f"{region}{birth_date:%Y%m%d}{seq:03d}"
    return first17 + id_number_check_char(first17)


# GB 32100-2015: 31 characters, no I O S V Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organisation code embedded at positions 9-17.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


@dataclass(frozen=True)
class CreditCodeFacts:
    code: str
    registration_authority: str
    entity_type: str
    region_code: str
    organisation_code: str


def make_credit_code(
    *, region: str, seq: int, registration_authority: str = "9", entity_type: str = "1"
) -> str:
    """Build a valid synthetic 统一社会信用代码 for tests and the demo city.

    Defaults describe an ordinary company (9 = 市场监管部门登记, 1 = 企业). The embedded
    organisation code is SEQ as eight digits plus its GB 11714 check character, so distinct
    SEQ values give distinct codes within one region.
    """
    if len(region) != 6 or not region.isdigit():
        raise ValueError(f"region must be a 6-digit GB/T 2260 code, got {region!r}")
    if not 0 <= seq <= 99_999_999:
        raise ValueError(f"seq must fit in eight digits, got {seq}")
    org8 = f"{seq:08d}"
    first17 = f"{registration_authority}{entity_type}{region}{org8}{org_code_check_char(org8)}"
    return first17 + uscc_check_char(first17)


def parse_credit_code(raw: str) -> CreditCodeFacts:
    """Validate an 18-character 统一社会信用代码, including its embedded organisation code."""
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise InvalidCreditCode(f"统一社会信用代码应为18位，当前为{len(value)}位")
    bad = sorted({c for c in value if c not in USCC_ALPHABET})
    if bad:
        raise InvalidCreditCode(
            f"统一社会信用代码含有不允许的字符：{'、'.join(bad)}（不使用I、O、S、V、Z）"
        )
    if not value[2:8].isdigit() or value[2:4] not in PROVINCE_CODES:
        raise InvalidCreditCode(f"统一社会信用代码第3至8位的登记管理机关行政区划码{value[2:8]}无效")
    org = value[8:17]
    if any(c not in _ORG_ALPHABET for c in org[:8]) or org[8] != org_code_check_char(org[:8]):
        raise InvalidCreditCode("统一社会信用代码第9至17位的组织机构代码校验不通过")
    if value[17] != uscc_check_char(value[:17]):
        raise InvalidCreditCode("统一社会信用代码校验位不正确，请核对是否输错")
    return CreditCodeFacts(
        code=value,
        registration_authority=value[0],
        entity_type=value[1],
        region_code=value[2:8],
        organisation_code=org,
    )
