"""The demo catalog (tongban/demo/definitions) validates against the definition schemas and its
cross-references hold. Pure file checks: no database."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from tongban.catalog.schemas import (
    BundleDef,
    DataElementsFile,
    DepartmentsFile,
    ServiceItemDef,
    SituationDef,
    When,
)

DEFINITIONS = Path(__file__).resolve().parent.parent / "definitions"
ITEM_FILES = sorted((DEFINITIONS / "items").glob("*.yaml"))
BUNDLE_FILES = sorted((DEFINITIONS / "bundles").glob("*.yaml"))
ELEMENT_FILES = sorted((DEFINITIONS / "elements").glob("*.yaml"))

BUNDLE_CODES = {
    "birth",
    "enterprise_opening",
    "enterprise_closing",
    "social_assistance",
    "disability_services",
    "veteran_services",
    "school_enrolment",
    "elderly_care",
}
BIRTH_ITEMS = [
    "出生医学证明签发",
    "预防接种证办理",
    "出生登记",
    "社会保障卡申领",
    "城乡居民医保参保登记",
    "少儿住院互助基金参保",
    "生育保险待遇申领",
]
OPENING_ITEMS = [
    "企业设立登记",
    "印章刻制备案",
    "新办纳税人涉税事项",
    "单位社保登记",
    "单位公积金缴存登记",
    "银行开户预约",
]
REQUIRED_NAMES = [
    *BIRTH_ITEMS,
    *OPENING_ITEMS,
    # 企业注销一件事
    "企业注销登记",
    "税务注销",
    "社会保险注销登记",
    "公积金账户注销",
    "印章缴销备案",
    # 社会救助一件事
    "最低生活保障申请",
    "特困人员救助供养申请",
    "临时救助申请",
    "医疗救助申请",
    "廉租住房申请",
    # 残疾人服务一件事
    "残疾人证办理",
    "困难残疾人生活补贴",
    "重度残疾人护理补贴",
    "残疾人辅助器具适配",
    # 退役军人服务一件事
    "退役军人信息采集",
    "退役军人优待证申领",
    "自主就业退役士兵一次性经济补助",
    "军人退役社会保险关系转移接续",
    # 入学一件事
    "义务教育入学报名",
    "适龄儿童入学信息登记",
    "入学预防接种证查验",
    "居住证积分申请",
    # 养老服务一件事
    "养老服务补贴申请",
    "长期护理保险需求评估",
    "老年综合津贴申领",
    "老年人优待卡申领",
    # 单项事项
    "居住证办理",
    "公共租赁住房申请",
    "不动产登记",
    "法律援助申请",
    "婚姻登记预约",
    "食品经营许可",
]
PROFILE_FIELDS = {
    "name", "id_number", "birth_date", "sex", "phone", "hukou_district", "residence_district",
    "residence_address", "marital_status", "disability_grade", "is_veteran", "is_low_income",
    "is_minimum_living_allowance", "has_residence_permit", "hukou_is_local",
    "household_relation", "monthly_income", "employment_status",
}  # fmt: skip
ENTERPRISE_FIELDS = {
    "uscc", "name", "type", "legal_representative", "registered_capital", "industry_code",
    "district", "address", "founded_on", "employees", "status", "size", "annual_revenue",
    "tax_credit_rating", "insured_headcount", "layoff_rate", "is_high_tech",
}  # fmt: skip
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), f"{path.name}: 顶层应为映射"
    return data


@cache
def departments() -> dict[str, object]:
    parsed = DepartmentsFile.model_validate(_load(DEFINITIONS / "departments.yaml"))
    codes = [d.code for d in parsed.departments]
    assert len(codes) == len(set(codes)), "部门编码重复"
    return {d.code: d for d in parsed.departments}


@cache
def elements() -> dict[str, object]:
    found: dict[str, object] = {}
    for path in ELEMENT_FILES:
        for element in DataElementsFile.model_validate(_load(path)).elements:
            assert element.code not in found, f"数据元 {element.code} 重复定义（{path.name}）"
            found[element.code] = element
    return found


@cache
def items() -> dict[str, ServiceItemDef]:
    found: dict[str, ServiceItemDef] = {}
    for path in ITEM_FILES:
        item = ServiceItemDef.model_validate(_load(path))
        assert item.code not in found, f"事项编码 {item.code} 重复"
        found[item.code] = item
    return found


@cache
def bundles() -> dict[str, BundleDef]:
    return {b.code: b for b in (BundleDef.model_validate(_load(p)) for p in BUNDLE_FILES)}


def _items_by_name() -> dict[str, ServiceItemDef]:
    by_name: dict[str, ServiceItemDef] = {}
    for item in items().values():
        assert item.name not in by_name, f"事项名称 {item.name} 重复"
        by_name[item.name] = item
    return by_name


# ---------------------------------------------------------------- each file on its own


def test_departments_file_validates_and_has_at_least_14():
    depts = departments()
    assert len(depts) >= 14
    assert all(d.region_code.startswith("31") for d in depts.values())
    assert all(d.name.startswith("示例") for d in depts.values())
    assert {d.hotline for d in depts.values()} == {"12345"}


def test_element_files_validate_and_prefill_names_known_fields():
    assert len(ELEMENT_FILES) >= 3
    claims = {
        path.stem: {c["name"] for c in _load(path)["claims"]}
        for path in (DEFINITIONS / "certificate_types").glob("*.yaml")
    }
    # A department system answers the elements its definition lists (any source of that name).
    shared: dict[str, set[str]] = {}
    for path in (DEFINITIONS / "data_sources").glob("*.yaml"):
        source = _load(path)
        shared.setdefault(source["name"], set()).update(e["code"] for e in source["elements"])
    for element in elements().values():
        for prefill in element.prefill:
            if prefill.source == "certificate":
                known = claims[prefill.certificate_type]
            elif prefill.source == "data_source":
                known = shared[prefill.data_source]
            else:
                known = {"profile": PROFILE_FIELDS, "enterprise": ENTERPRISE_FIELDS}[prefill.source]
            assert prefill.field in known, f"{element.code}: 未知的预填字段 {prefill.field}"


@pytest.mark.parametrize("path", ITEM_FILES, ids=[p.stem for p in ITEM_FILES])
def test_item_file_validates_and_is_named_after_its_code(path):
    item = ServiceItemDef.model_validate(_load(path))
    assert path.stem == item.code
    assert item.code.startswith(item.department + "-")
    assert item.is_example is True
    assert item.summary and "示例" in item.summary
    assert item.aliases
    if item.visits == 0:
        assert {"online", "mobile"} & set(item.channels), f"{item.code}: 零跑动须有网上渠道"


@pytest.mark.parametrize("path", BUNDLE_FILES, ids=[p.stem for p in BUNDLE_FILES])
def test_bundle_file_validates_and_is_named_after_its_code(path):
    bundle = BundleDef.model_validate(_load(path))
    assert path.stem == bundle.code
    assert bundle.is_example is True
    assert len(bundle.items) >= 2


# ---------------------------------------------------------------- cross-references


def test_every_item_department_exists():
    missing = {i.code: i.department for i in items().values() if i.department not in departments()}
    assert missing == {}


def test_every_element_an_item_uses_is_defined():
    missing = {
        (i.code, use.code)
        for i in items().values()
        for use in i.element_uses()
        if use.code not in elements()
    }
    assert missing == set()


def test_every_bundle_lead_department_and_item_exists():
    for bundle in bundles().values():
        assert bundle.lead_department in departments(), bundle.code
        assert [b.item for b in bundle.items if b.item not in items()] == [], bundle.code


def test_at_least_45_unique_items():
    assert len(ITEM_FILES) >= 45
    assert len(items()) == len(ITEM_FILES)


def test_exactly_the_eight_bundles():
    assert set(bundles()) == BUNDLE_CODES
    assert len(BUNDLE_FILES) == 8


def test_required_item_names_exist():
    by_name = _items_by_name()
    assert [n for n in REQUIRED_NAMES if n not in by_name] == []


def test_birth_bundle_holds_the_seven_birth_items():
    names = {items()[b.item].name for b in bundles()["birth"].items}
    assert names == set(BIRTH_ITEMS)
    assert "上户口" in bundles()["birth"].aliases


def test_enterprise_opening_bundle_holds_the_six_opening_items():
    bundle = bundles()["enterprise_opening"]
    assert {items()[b.item].name for b in bundle.items} == set(OPENING_ITEMS)
    assert "开公司" in bundle.aliases
    assert bundle.subject == "enterprise"


def test_bundle_dependencies_follow_the_life_event():
    def after(bundle: str, name: str) -> set[str]:
        entry = next(b for b in bundles()[bundle].items if items()[b.item].name == name)
        return {items()[code].name for code in entry.after}

    assert "出生登记" in after("birth", "社会保障卡申领")
    assert "出生登记" in after("birth", "城乡居民医保参保登记")
    assert "企业设立登记" in after("enterprise_opening", "单位社保登记")
    assert "企业设立登记" in after("enterprise_opening", "新办纳税人涉税事项")
    assert "税务注销" in after("enterprise_closing", "企业注销登记")


def test_enterprise_bundles_hold_enterprise_items_and_person_bundles_person_items():
    for bundle in bundles().values():
        subjects = {items()[b.item].subject for b in bundle.items}
        assert subjects <= {bundle.subject, "both"}, bundle.code


def _when_keys(item: ServiceItemDef) -> set[str]:
    conditions: list[When] = [m.when for m in item.materials]
    conditions += [e.when for e in item.element_uses()]
    return {key for when in conditions for key in when}


def _options(situation: SituationDef) -> set[str]:
    return {o.value for o in situation.options}


def test_bundle_answers_reach_the_conditions_of_its_items():
    """A bundle asks each question once; every situation an item's materials or fields depend on
    must therefore be asked by the bundle too, with the same option values."""
    for bundle in bundles().values():
        asked = {s.code: _options(s) for s in bundle.situations}
        for entry in bundle.items:
            item = items()[entry.item]
            own = {s.code: _options(s) for s in item.situations}
            for key in _when_keys(item):
                assert key in asked, f"{bundle.code}/{item.code}: 一件事未询问情形 {key}"
                assert asked[key] == own[key], f"{bundle.code}/{item.code}: 情形 {key} 的选项不一致"


def test_a_shared_situation_code_means_the_same_everywhere():
    seen: dict[str, set[str]] = {}
    sources = [*items().values(), *bundles().values()]
    for definition in sources:
        for situation in definition.situations:
            options = _options(situation)
            assert seen.setdefault(situation.code, options) == options, situation.code


def test_a_shared_material_code_names_the_same_document():
    names: dict[str, str] = {}
    for item in items().values():
        for material in item.materials:
            assert names.setdefault(material.code, material.name) == material.name, material.code
    # the documents a 一件事 must ask for only once are shared across items
    for code in ("applicant_id_card", "household_register_book", "business_license"):
        assert sum(code in {m.code for m in i.materials} for i in items().values()) >= 3, code


def test_waivers_and_outputs_name_certificate_types_by_code():
    waived, issued = set(), set()
    for item in items().values():
        for material in item.materials:
            waived |= {w.certificate_type for w in material.waivable_by if w.kind == "certificate"}
        issued |= {o.certificate_type for o in item.outputs}
    assert all(SNAKE.match(t) for t in waived | issued)
    # the usual documents are spared by the e-certificate that proves them
    assert {
        "birth_medical_certificate",
        "resident_id_card",
        "household_register",
        "marriage_certificate",
        "business_license",
        "disability_certificate",
        "veteran_certificate",
    } <= waived
    assert {"household_register_entry", "social_security_card", "business_license"} <= issued


def test_every_item_asks_for_elements_and_bundles_have_both_kinds_of_waiver():
    assert all(item.elements for item in items().values())
    kinds = {w.kind for i in items().values() for m in i.materials for w in m.waivable_by}
    assert kinds == {"certificate", "data_source", "commitment"}


def test_outputs_of_the_birth_and_opening_flagships():
    by_name = _items_by_name()
    assert [(o.certificate_type, o.holder) for o in by_name["出生登记"].outputs] == [
        ("household_register_entry", "child")
    ]
    assert [(o.certificate_type, o.holder) for o in by_name["企业设立登记"].outputs] == [
        ("business_license", "enterprise")
    ]
    assert [o.certificate_type for o in by_name["社会保障卡申领"].outputs] == [
        "social_security_card"
    ]


@pytest.mark.django_db
def test_the_demo_catalog_loads_through_the_loader_and_every_bundle_keeps_its_promise():
    from django.conf import settings

    from tongban.catalog.services import catalog_load_directory

    report = catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    assert {kind: c.created for kind, c in report.counts.items()} == {
        "department": 19,
        "element": 174,
        "item": 56,
        "bundle": 8,
        "policy": 59,
    }
    again = catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    assert {kind: c.unchanged for kind, c in again.counts.items()} == {
        "department": 19,
        "element": 174,
        "item": 56,
        "bundle": 8,
        "policy": 59,
    }
