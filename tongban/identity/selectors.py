"""Reads for registration, reset, the 示例短信 page and levels of assurance (身份核验等级)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tongban.accounts.models import AssuranceLevel, ResidentProfile, User
from tongban.common.crypto import lookup_hash
from tongban.identity.errors import AssuranceTooLow, MobileInvalid
from tongban.identity.models import DemoSms

MOBILE_HASH_CONTEXT = "identity.mobile"

# Item definitions name a level in words (catalog YAML: `assurance_level: real_name`).
LEVEL_BY_NAME = {
    "sms": AssuranceLevel.SMS,
    "real_name": AssuranceLevel.REAL_NAME,
    "in_person": AssuranceLevel.IN_PERSON,
}

# How a person reaches each level, for the message that refuses them.
HOW_TO_REACH = {
    AssuranceLevel.SMS: (
        "请登录后在“我的主页—账号安全”中在线完成实名核验（含验证手机号码），"
        "或携带身份证到政务服务中心综合窗口办理"
    ),
    AssuranceLevel.REAL_NAME: (
        "请登录后在“我的主页—账号安全”中在线完成实名核验（核对身份并验证手机号码）；"
        "也可以携带身份证到任一政务服务中心综合窗口，由工作人员当面核验身份后为您办理"
    ),
    AssuranceLevel.IN_PERSON: (
        "请携带身份证到政务服务中心综合窗口当面核验，或由窗口工作人员为您代办"
    ),
}


def mobile_normalise(raw: str) -> str:
    """An 11-digit mainland mobile number, spaces and hyphens dropped; MobileInvalid else."""
    number = "".join(ch for ch in (raw or "") if ch not in " -\u3000")
    if number.startswith("+86"):
        number = number[3:]
    if len(number) != 11 or not number.isdigit() or not number.startswith("1"):
        raise MobileInvalid()
    return number


def mobile_hash(number: str) -> str:
    """The keyed hash under which a confirmed mobile is kept on User.mobile_hash."""
    return lookup_hash(number, context=MOBILE_HASH_CONTEXT)


def accounts_confirmed_by(*, mobile: str) -> int:
    """How many accounts this mobile number has confirmed."""
    return User.objects.filter(
        mobile_hash=mobile_hash(mobile), mobile_confirmed_at__isnull=False
    ).count()


def assurance_label(level: int) -> str:
    return AssuranceLevel(level).label


def assurance_required_level(name: str | None) -> int:
    """The level an item definition names (None or "" = no minimum)."""
    return int(LEVEL_BY_NAME.get(name or "", AssuranceLevel.NONE))


def assurance_require(*, user: User, level_name: str | None, service_name: str = "") -> None:
    """Refuse (ASSURANCE_TOO_LOW, 403) an online application by USER below the level an item
    requires; the message says which level is needed, which the account has, and how to get
    there. Counter filings do not call this: the clerk verifies the person there and then."""
    required = assurance_required_level(level_name)
    have = int(getattr(user, "assurance_level", AssuranceLevel.NONE) or 0)
    if required <= have:
        return
    what = f"网上办理“{service_name}”" if service_name else "网上办理该事项"
    raise AssuranceTooLow(
        f"{what}需要账户达到“{assurance_label(required)}”等级，您的账户目前为"
        f"“{assurance_label(have)}”。{HOW_TO_REACH[AssuranceLevel(required)]}。"
    )


def demo_sms_for(*, mobile_hashes: list[str], user=None, hours: int = 24) -> list[DemoSms]:
    """示例短信 sent recently to these mobiles and to USER's own phone, newest first."""
    mobile_hashes = list(mobile_hashes)
    if user is not None and getattr(user, "is_authenticated", False):
        profile = ResidentProfile.objects.filter(user=user).only("phone").first()
        if profile is not None and profile.phone:
            mobile_hashes.append(mobile_hash(profile.phone))
    if not mobile_hashes:
        return []
    since = timezone.now() - dt.timedelta(hours=hours)
    return list(
        DemoSms.objects.filter(phone_hash__in=mobile_hashes, sent_at__gte=since).order_by(
            "-sent_at", "-id"
        )[:20]
    )
