"""示例 scanner for the demo city: a hall counter terminal allowed every registered scenario.

Its key is derived from the instance's SECRET_KEY, so a rebuilt demo city keeps the same key
and no key is published in the source."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from django.conf import settings

from tongban.idcode.models import Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.services import SCANNER_KEY_PREFIX, scanner_create

DEMO_SCANNER_NAME = "示例扫码终端（综合窗口）"


def demo_scanner_key() -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"tongban-demo-scanner", hashlib.sha256)
    return SCANNER_KEY_PREFIX + "demo_" + digest.hexdigest()[:32]


def ensure_demo_scanner(*, write: Callable[[str], object] | None = None) -> Scanner:
    existing = Scanner.objects.filter(is_synthetic=True, name=DEMO_SCANNER_NAME).first()
    if existing is not None:
        return existing
    scanner, key = scanner_create(
        name=DEMO_SCANNER_NAME,
        organisation="示例市政务服务中心",
        scenario_codes=sorted(scenarios()),
        actor_label="system:city_setup",
        is_synthetic=True,
        key=demo_scanner_key(),
    )
    if write:
        write(f"  示例扫码终端密钥（随申码扫码接口，Authorization: Bearer）：{key}")
    return scanner
