"""Certificate fixtures: the demo certificate types loaded over bare department rows, a
resident and an enterprise to hold certificates, and typical claims."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.certificates import selectors
from tongban.certificates.services import certificate_types_load, default_types_directory

DEMO_TYPES = Path(__file__).resolve().parents[2] / "demo" / "definitions" / "certificate_types"


@functools.cache
def demo_department_codes() -> frozenset[str]:
    # Read once per process: the pure-Python YAML parser takes a fifth of a second for the
    # folder, and a hundred tests ask.
    return frozenset(
        yaml.safe_load(p.read_text(encoding="utf-8"))["department"]
        for p in DEMO_TYPES.glob("*.yaml")
    )


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Published documents and the trust list are cached per process; a test's database is
    # rolled back, its caches must be too.
    selectors.trust_list_cache_clear()
    selectors.status_cache_clear()
    yield
    selectors.trust_list_cache_clear()


@pytest.fixture
def types(db):
    assert default_types_directory() == DEMO_TYPES
    for code in sorted(demo_department_codes()):
        DepartmentFactory(code=code, name=f"示例{code}")
    return certificate_types_load(directory=DEMO_TYPES)


@pytest.fixture
def resident(types):
    return ResidentProfileFactory(name="张三")


@pytest.fixture
def enterprise(types, resident):
    return EnterpriseFactory(agents=[resident.user], name="示例科技有限公司")


@pytest.fixture
def police_issuer(types):
    from tongban.catalog.models import Department

    return StaffFactory(department=Department.objects.get(code="SH-GA"), role=StaffRole.ISSUER)


def id_card_claims(resident) -> dict:
    return {
        "name": resident.name,
        "sex": "男",
        "ethnicity": "汉",
        "birth_date": resident.birth_date.isoformat(),
        "address": "上海市徐汇区示例路100弄1号101室",
        "id_number": resident.id_number,
        "issuing_authority": "示例市公安局徐汇分局",
        "valid_from": "2020-01-01",
    }


def license_claims(enterprise) -> dict:
    return {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "type": "有限责任公司",
        "legal_representative": enterprise.legal_representative,
        "registered_capital": "100 万元",
        "founded_on": "2016-06-01",
        "address": "上海市浦东新区示例路1号",
        "business_scope": "软件开发；信息技术咨询服务（示例）",
        "registration_authority": "示例市市场监督管理局",
    }
