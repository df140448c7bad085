from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tongban.catalog.errors import CatalogInvalid, ItemNotFound
from tongban.catalog.loader import read_definitions
from tongban.catalog.models import (
    Bundle,
    CatalogRevision,
    DataElement,
    DefinitionVersion,
    Department,
    ServiceItem,
)
from tongban.catalog.selectors import item_definition, item_list, item_versions
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES, edit, line_of
from tongban.common.models import AuditEvent

pytestmark = pytest.mark.django_db


def counts(report) -> dict:
    return {kind: vars(c) for kind, c in report.counts.items()}


def db_state() -> dict:
    return {
        "versions": DefinitionVersion.objects.count(),
        "departments": Department.objects.count(),
        "elements": DataElement.objects.count(),
        "items": ServiceItem.objects.count(),
        "active_items": ServiceItem.objects.filter(is_active=True).count(),
        "bundles": Bundle.objects.count(),
        "audits": AuditEvent.objects.filter(action="catalog.load").count(),
        "revisions": list(CatalogRevision.objects.values_list("token", flat=True)),
        "br_promised": list(
            ServiceItem.objects.filter(code="birth_registration").values_list(
                "promised_days", "current__version"
            )
        ),
    }


def created(n: int) -> dict:
    return {"created": n, "changed": 0, "unchanged": 0, "deactivated": 0, "reactivated": 0}


def unchanged(n: int) -> dict:
    return {"created": 0, "changed": 0, "unchanged": n, "deactivated": 0, "reactivated": 0}


def test_first_load_creates_a_version_and_an_index_row_per_definition():
    report = catalog_load_directory(path=FIXTURES)

    assert counts(report) == {
        "department": created(6),
        "element": created(12),
        "item": created(7),
        "bundle": created(2),
        "policy": created(0),  # the fixture catalog has no policies folder
    }
    assert DefinitionVersion.objects.count() == 27
    assert set(DefinitionVersion.objects.values_list("version", flat=True)) == {1}
    item = ServiceItem.objects.select_related("department", "current").get(
        code="birth_registration"
    )
    assert (item.name, item.item_type, item.subject, item.department.code) == (
        "出生登记",
        "行政确认",
        "person",
        "police",
    )
    assert (item.handling, item.promised_days, item.visits, item.online) == ("promised", 5, 0, True)
    assert item.current.source_file == "items/birth_registration.yaml"
    assert item.current.loaded_by == "system:catalog_load"
    assert "上户口" in item.search_text
    bundle = Bundle.objects.get(code="birth")
    assert (bundle.lead_department.code, bundle.promised_days, bundle.is_active) == (
        "police",
        10,
        True,
    )
    assert DataElement.objects.get(code="child.sex").value_type == "choice"
    audit = AuditEvent.objects.get(action="catalog.load")
    assert audit.actor_label == "system:catalog_load"
    assert audit.data["counts"]["item"]["created"] == 7
    assert audit.data["dry_run"] is False
    assert CatalogRevision.objects.count() == 1


def test_a_database_that_cannot_return_ids_of_a_bulk_insert_gets_the_same_catalog(monkeypatch):
    from django.db import connection

    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    report = catalog_load_directory(path=FIXTURES)

    assert counts(report)["item"] == created(7)
    assert DefinitionVersion.objects.count() == 27
    item = ServiceItem.objects.select_related("department", "current").get(
        code="birth_registration"
    )
    assert (item.department.code, item.current.version, item.current.code) == (
        "police",
        1,
        "birth_registration",
    )
    assert Bundle.objects.get(code="birth").lead_department.code == "police"


def test_yaml_booleans_in_conditions_are_stored_as_option_values():
    catalog_load_directory(path=FIXTURES)
    content = DefinitionVersion.objects.get(kind="item", code="birth_registration").content
    assert content["materials"][3]["when"] == {"parents_married": "yes", "marriage_local": "no"}


def test_reloading_unchanged_definitions_creates_no_version():
    catalog_load_directory(path=FIXTURES)
    token = CatalogRevision.objects.get().token

    report = catalog_load_directory(path=FIXTURES, actor_label="system:test")

    assert counts(report) == {
        "department": unchanged(6),
        "element": unchanged(12),
        "item": unchanged(7),
        "bundle": unchanged(2),
        "policy": unchanged(0),
    }
    assert DefinitionVersion.objects.count() == 27
    assert AuditEvent.objects.filter(action="catalog.load").count() == 2
    # Nothing changed, so caches keyed on the revision stay valid.
    assert CatalogRevision.objects.get().token == token


def test_a_changed_item_becomes_version_2_and_version_1_stays_readable(catalog_dir):
    catalog_load_directory(path=catalog_dir)
    edit(catalog_dir / "items/birth_registration.yaml", "promised_days: 5", "promised_days: 4")

    report = catalog_load_directory(path=catalog_dir)

    assert vars(report.items) == {
        "created": 0,
        "changed": 1,
        "unchanged": 6,
        "deactivated": 0,
        "reactivated": 0,
    }
    assert vars(report.bundles)["unchanged"] == 2
    assert DefinitionVersion.objects.count() == 28
    row = ServiceItem.objects.select_related("current").get(code="birth_registration")
    assert (row.promised_days, row.current.version) == (4, 2)
    assert item_definition("birth_registration").time_limit.promised_days == 4
    assert item_definition("birth_registration", version=2).time_limit.promised_days == 4
    assert item_definition("birth_registration", version=1).time_limit.promised_days == 5
    assert [(v.version, v.is_current) for v in item_versions("birth_registration")] == [
        (1, False),
        (2, True),
    ]
    with pytest.raises(ItemNotFound):
        item_definition("birth_registration", version=3)


def test_a_folder_is_parsed_again_only_when_a_file_in_it_changes(catalog_dir, tmp_path):
    first = read_definitions(catalog_dir)
    assert read_definitions(catalog_dir) is first
    # A copy reads as the same folder: nothing read keeps the folder's own path.
    copy = tmp_path / "copy"
    shutil.copytree(catalog_dir, copy)
    assert read_definitions(copy) is first

    edit(copy / "items/birth_registration.yaml", "promised_days: 5", "promised_days: 4")
    edited = read_definitions(copy)
    assert edited is not first
    assert edited.items["birth_registration"].definition.time_limit.promised_days == 4
    assert first.items["birth_registration"].definition.time_limit.promised_days == 5

    # A new file counts, even one the loader would not read.
    (copy / "notes.txt").write_text("说明", encoding="utf-8")
    assert read_definitions(copy) is not edited

    # A folder that failed is read again every time, so the fix is seen at once.
    edit(copy / "items/birth_registration.yaml", "promised_days: 4", "promised_days: 四")
    with pytest.raises(CatalogInvalid):
        read_definitions(copy)
    edit(copy / "items/birth_registration.yaml", "promised_days: 四", "promised_days: 4")
    assert (
        read_definitions(copy).items["birth_registration"].definition.time_limit.promised_days == 4
    )


def test_a_definition_removed_from_the_folder_is_deactivated_not_deleted(catalog_dir):
    catalog_load_directory(path=catalog_dir)
    (catalog_dir / "items/invoice_application.yaml").unlink()
    edit(
        catalog_dir / "bundles/enterprise_opening.yaml",
        "  - item: invoice_application\n"
        '    when: {need_invoice: "yes"}\n'
        "    after: [enterprise_establishment]\n",
        "",
    )
    edit(
        catalog_dir / "departments.yaml",
        '  - code: tax\n    name: 市税务局\n    short_name: 税务局\n    region_code: "310000"\n',
        "",
    )

    report = catalog_load_directory(path=catalog_dir)

    assert report.items.deactivated == 1
    assert report.departments.deactivated == 1
    assert report.bundles.changed == 1
    row = ServiceItem.objects.get(code="invoice_application")
    assert row.is_active is False
    assert Department.objects.get(code="tax").is_active is False
    assert "invoice_application" not in [i.code for i in item_list()]
    with pytest.raises(ItemNotFound):
        item_definition("invoice_application")
    assert item_definition("invoice_application", version=1).name == "发票申领"

    again = catalog_load_directory(path=FIXTURES)
    assert vars(again.items) == {
        "created": 0,
        "changed": 0,
        "unchanged": 6,
        "deactivated": 0,
        "reactivated": 1,
    }
    assert again.departments.reactivated == 1
    # Back to the first content: the bundle is a new version whose content equals version 1.
    assert again.bundles.changed == 1
    assert ServiceItem.objects.get(code="invoice_application").is_active is True


def test_a_malformed_file_is_refused_naming_file_line_and_field_and_nothing_changes(catalog_dir):
    catalog_load_directory(path=FIXTURES)
    before = db_state()
    item_file = catalog_dir / "items/birth_registration.yaml"
    edit(item_file, "    copies: 2\n", "    copies: 两份\n")
    edit(item_file, "promised_days: 5", "promised_days: 4")  # a valid change, also not applied
    edit(catalog_dir / "elements/enterprise.yaml", "    label: 住所\n", "")

    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)

    address_line = line_of(catalog_dir / "elements/enterprise.yaml", "enterprise.address")
    assert [str(p) for p in caught.value.problems] == [
        f"elements/enterprise.yaml:{address_line}: elements[2].label: 缺少必填字段",
        f"items/birth_registration.yaml:{line_of(item_file, '两份')}: "
        "materials[2].copies: 输入应为整数",
    ]
    assert caught.value.code == "CATALOG_INVALID"
    assert caught.value.details[1] == {
        "file": "items/birth_registration.yaml",
        "line": line_of(item_file, "两份"),
        "field": "materials[2].copies",
        "message": "输入应为整数",
    }
    assert db_state() == before


def test_a_malformed_file_on_an_empty_database_writes_nothing(catalog_dir):
    edit(catalog_dir / "items/seal_engraving.yaml", "handling: instant", "handling: soon")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    line = line_of(catalog_dir / "items/seal_engraving.yaml", "handling: soon")
    assert [str(p) for p in caught.value.problems] == [
        f"items/seal_engraving.yaml:{line}: handling: 应为以下之一：instant、promised"
    ]
    assert DefinitionVersion.objects.count() == 0
    assert Department.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_unknown_department_element_and_bundle_item_are_named(catalog_dir):
    edit(
        catalog_dir / "items/vaccination_certificate.yaml", "department: health", "department: nope"
    )
    edit(
        catalog_dir / "items/medical_insurance_enrolment.yaml",
        "elements: [applicant.name,",
        "elements: [child.nickname, applicant.name,",
    )
    edit(
        catalog_dir / "bundles/birth.yaml",
        "  - item: vaccination_certificate\n",
        "  - item: no_such_item\n  - item: vaccination_certificate\n",
    )
    edit(
        catalog_dir / "bundles/enterprise_opening.yaml",
        "lead_department: market",
        "lead_department: mkt",
    )

    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)

    def at(file: str, needle: str) -> str:
        return f"{file}:{line_of(catalog_dir / file, needle)}"

    assert [str(p) for p in caught.value.problems] == [
        f"{at('bundles/birth.yaml', 'no_such_item')}: items[1].item: 事项 no_such_item 未定义",
        f"{at('bundles/enterprise_opening.yaml', 'mkt')}: lead_department: "
        "部门 mkt 未在 departments.yaml 中定义",
        f"{at('items/medical_insurance_enrolment.yaml', 'child.nickname')}: elements[0]: "
        "数据元 child.nickname 未在 elements 中定义",
        f"{at('items/vaccination_certificate.yaml', 'department: nope')}: department: "
        "部门 nope 未在 departments.yaml 中定义",
    ]
    assert DefinitionVersion.objects.count() == 0


def test_a_cycle_in_after_is_refused(catalog_dir):
    bundle = catalog_dir / "bundles/birth.yaml"
    edit(
        bundle,
        "  - item: birth_registration\n",
        "  - item: birth_registration\n    after: [medical_insurance_enrolment]\n",
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"bundles/birth.yaml:{line_of(bundle, 'after: [medical_insurance_enrolment]')}: "
        "items[0].after: 事项先后顺序存在循环："
        "birth_registration → medical_insurance_enrolment → birth_registration"
    ]


def test_conditions_must_name_situations_and_options(catalog_dir):
    item = catalog_dir / "items/birth_registration.yaml"
    edit(item, 'when: {parents_married: "no"}', 'when: {parents_maried: "no"}')
    edit(
        item,
        '    when: {parents_married: "yes"}\n    options:',
        "    when: {parents_married: maybe}\n    options:",
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"items/birth_registration.yaml:{line_of(item, 'parents_maried')}: "
        "materials[4].when.parents_maried: 条件引用了未定义的情形：parents_maried",
        f"items/birth_registration.yaml:{line_of(item, 'maybe')}: "
        "situations[1].when.parents_married: 情形 parents_married 的取值 maybe 不是它的选项",
    ]


def test_yaml_syntax_duplicate_keys_unknown_fields_and_profile_fields_are_reported(catalog_dir):
    (catalog_dir / "items/zz_broken.yaml").write_text("code: x\n  name: [\n", encoding="utf-8")
    (catalog_dir / "items/zz_dup.yaml").write_text("code: a\ncode: b\n", encoding="utf-8")
    item = catalog_dir / "items/seal_engraving.yaml"
    edit(item, "aliases: [刻章]", "aliases: [刻章]\nalias: 刻公章")
    edit(
        catalog_dir / "items/enterprise_establishment.yaml",
        "profile_field: id_number",
        "profile_field: id_no",
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    establishment = catalog_dir / "items/enterprise_establishment.yaml"
    assert [str(p) for p in caught.value.problems] == [
        f"items/enterprise_establishment.yaml:{line_of(establishment, 'id_no')}: "
        "materials[1].waivable_by[0].profile_field: 居民档案中没有字段 id_no",
        f"items/seal_engraving.yaml:{line_of(item, 'alias: 刻公章')}: "
        "alias: 不认识的字段（请检查拼写）",
        "items/zz_broken.yaml:2: YAML 格式错误：mapping values are not allowed here",
        "items/zz_dup.yaml:2: code: 键重复（后一个会覆盖前一个）",
    ]  # fmt: skip


def test_a_situation_shared_by_bundle_and_item_must_offer_the_same_options(catalog_dir):
    edit(
        catalog_dir / "bundles/birth.yaml",
        "  - code: want_sscard\n",
        "  - code: card_delivery\n    question: 社保卡怎么领？\n    options:\n"
        "      - {value: mail, label: 邮寄}\n      - {value: pick_up, label: 自取}\n"
        "  - code: want_sscard\n",
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [p.message for p in caught.value.problems] == [
        "事项 social_security_card 的情形 card_delivery 与一件事本身中同名情形的选项不一致"
    ]


def test_duplicate_codes_across_files_are_refused(catalog_dir):
    dup = catalog_dir / "items/zz_copy.yaml"
    dup.write_text(
        (catalog_dir / "items/seal_engraving.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [str(p) for p in caught.value.problems] == [
        "items/zz_copy.yaml:1: code: "
        "事项编码重复：seal_engraving，已在 items/seal_engraving.yaml:1 定义"
    ]


def test_dry_run_reports_and_writes_nothing():
    report = catalog_load_directory(path=FIXTURES, dry_run=True)
    assert report.items.created == 7
    assert DefinitionVersion.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_command_prints_a_chinese_summary():
    out = StringIO()
    call_command("catalog_load", str(FIXTURES), stdout=out)
    assert out.getvalue().splitlines() == [
        f"事项库加载完成：{FIXTURES}",
        "  部门：新增 6，变更 0，未变 0，停用 0",
        "  数据元：新增 12，变更 0，未变 0，停用 0",
        "  事项：新增 7，变更 0，未变 0，停用 0",
        "  一件事：新增 2，变更 0，未变 0，停用 0",
        "  政策：新增 0，变更 0，未变 0，停用 0",
    ]
    assert ServiceItem.objects.count() == 7


def test_command_fails_with_the_error_list(catalog_dir):
    edit(catalog_dir / "items/seal_engraving.yaml", "visits: 0", "visits: 9")
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("catalog_load", str(catalog_dir), stderr=err)
    line = line_of(catalog_dir / "items/seal_engraving.yaml", "visits: 9")
    assert err.getvalue().splitlines() == [
        f"items/seal_engraving.yaml:{line}: visits: 应小于或等于 5"
    ]
    assert "未做任何更改" in str(caught.value)
    assert caught.value.returncode == 1
    assert ServiceItem.objects.count() == 0


def test_command_dry_run_and_default_path(settings):
    settings.TONGBAN_CATALOG_DIR = FIXTURES
    out = StringIO()
    call_command("catalog_load", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[0] == f"试加载（未写入数据库）：{FIXTURES}"
    assert ServiceItem.objects.count() == 0


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=tmp_path / "nope")
    assert [p.message for p in caught.value.problems] == ["定义目录不存在"]


def test_a_bundle_promise_its_item_chain_cannot_keep_is_refused(catalog_dir):
    bundle_file = catalog_dir / "bundles/birth.yaml"
    edit(bundle_file, "    promised_days: 5\n", "")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"bundles/birth.yaml:{line_of(bundle_file, 'promised_days: 10')}: promised_days: "
        "一件事承诺 10 个工作日，但事项按先后顺序办理最长需要 15 个工作日"
        "（出生登记 → 社会保障卡申领）；请缩短相关事项在本一件事中的 promised_days"
    ]
    assert DefinitionVersion.objects.count() == 0


def test_an_in_bundle_promise_longer_than_the_item_alone_is_refused(catalog_dir):
    bundle_file = catalog_dir / "bundles/birth.yaml"
    edit(bundle_file, "    promised_days: 5\n", "    promised_days: 11\n")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"bundles/birth.yaml:{line_of(bundle_file, 'promised_days: 10')}: promised_days: "
        "一件事承诺 10 个工作日，但事项按先后顺序办理最长需要 16 个工作日"
        "（出生登记 → 社会保障卡申领）；请缩短相关事项在本一件事中的 promised_days",
        f"bundles/birth.yaml:{line_of(bundle_file, 'promised_days: 11')}: "
        "items[3].promised_days: 一件事内的承诺时限 11 个工作日长于事项 social_security_card"
        " 单独办理的 10 个工作日",
    ]
    assert DefinitionVersion.objects.count() == 0


def test_spelling_out_a_default_is_not_a_new_version(catalog_dir):
    catalog_load_directory(path=catalog_dir)
    edit(
        catalog_dir / "items/vaccination_certificate.yaml",
        "handling: instant\n",
        "handling: instant\nis_example: true\n",
    )
    report = catalog_load_directory(path=catalog_dir)
    assert report.counts["item"].changed == 0
    assert item_versions("vaccination_certificate")[0].version == 1


@pytest.mark.parametrize(
    ("produces", "message"),
    [
        ("child.name", "produces[0]: 数据元 child.name 由本事项产生，不应同时向申请人收集"),
        ("child.nickname", "produces[0]: 数据元 child.nickname 未在 elements 中定义"),
    ],
)
def test_produced_elements_must_exist_and_not_be_asked_by_the_same_item(
    catalog_dir, produces, message
):
    item = catalog_dir / "items/birth_registration.yaml"
    edit(item, "outputs:", f"produces: [{produces}]\noutputs:")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=catalog_dir)
    line = line_of(item, "produces:")
    assert [str(p) for p in caught.value.problems] == [
        f"items/birth_registration.yaml:{line}: {message}"
    ]
    assert DefinitionVersion.objects.count() == 0


@pytest.fixture
def demo_dir(tmp_path):
    import shutil
    from pathlib import Path

    target = tmp_path / "demo"
    shutil.copytree(Path(__file__).resolve().parents[2] / "demo" / "definitions", target)
    return target


def test_a_bundle_demanding_what_its_own_item_issues_is_refused(demo_dir):
    """出生一件事 issues the 出生医学证明 (SH-WJW-0101); 预防接种证办理 asks for it, so it must
    come after that item or the applicant would be asked for a document the case produces."""
    bundle = demo_dir / "bundles/birth.yaml"
    line = "    after: [SH-WJW-0101]  # 出生医学证明由本一件事签发，预防接种证在其后办理\n"
    edit(bundle, line, "")
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=demo_dir)
    assert [str(p) for p in caught.value.problems] == [
        f"bundles/birth.yaml:{line_of(bundle, '- item: SH-WJW-0102')}: items[1]: "
        "事项 SH-WJW-0102 要求的材料「出生医学证明」由本一件事中的事项 SH-WJW-0101 签发，"
        "应在 after 中排在 SH-WJW-0101 之后，不得向申请人索要"
    ]
    assert DefinitionVersion.objects.count() == 0


def test_a_certificate_cannot_spare_a_document_of_nobody_in_particular(demo_dir):
    item = demo_dir / "items/SH-SCJ-0101.yaml"
    edit(
        item,
        "      - kind: data_source\n        data_source: 公安人口库、市场主体登记库\n",
        "      - kind: certificate\n        certificate_type: resident_id_card\n",
    )
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=demo_dir)
    [problem] = caught.value.problems
    assert str(problem).endswith(
        "waivable_by[0].kind: 材料不属于可识别的人（about: other），电子证照无法核验其持证人"
    )
    assert str(problem).startswith("items/SH-SCJ-0101.yaml:")


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        ("    example: 3350\n", "    example: 200\n", "示例值 200 小于最小值 300"),
        ('    example: "08:30"\n', '    example: "8点半"\n', "示例值 8点半 不符合格式"),
        ("    example: 39\n", '    example: "三十九"\n', "示例值 三十九 不是整数"),
    ],
)
def test_an_example_value_the_element_itself_refuses_is_refused(demo_dir, before, after, message):
    """Demo cases and tests type an element's 示例值; one its own rules refuse would file
    applications no person could."""
    elements = demo_dir / "elements/family.yaml"
    edit(elements, before, after)
    with pytest.raises(CatalogInvalid) as caught:
        catalog_load_directory(path=demo_dir)
    [problem] = caught.value.problems
    assert str(problem).startswith("elements/family.yaml:")
    assert message in str(problem)
    assert DefinitionVersion.objects.count() == 0
