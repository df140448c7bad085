"""The demo city's policies, loaded through the catalog and evaluated for one resident."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.catalog.errors import CatalogInvalid
from tongban.catalog.loader import read_definitions
from tongban.catalog.services import catalog_load_directory
from tongban.policies.models import Policy
from tongban.policies.selectors import policies_for_resident

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"
TODAY = dt.date(2026, 12, 3)


@pytest.fixture
def demo_catalog(db):
    report = catalog_load_directory(path=DEMO)
    assert report.policies.created == 59
    return report


def test_policies_are_loaded_as_versioned_definitions(demo_catalog):
    row = Policy.objects.get(code="SH-MZJ-P002")
    assert (row.name, row.mode, row.department.code, row.current.version) == (
        "老年综合津贴（70至79周岁）",
        "automatic",
        "SH-MZJ",
        1,
    )
    assert catalog_load_directory(path=DEMO).policies.unchanged == 59


def test_a_resident_of_72_gets_the_allowance_of_their_age_band_only(demo_catalog):
    profile = ResidentProfileFactory(birth_date=dt.date(1954, 6, 1), hukou_is_local=True)
    matches = {
        m.policy.code: m.outcome for m in policies_for_resident(profile=profile, today=TODAY)
    }
    assert (
        matches["SH-MZJ-P002"].explanation
        == "符合：年满70周岁（1954年出生）；未满80周岁（1954年出生）；本市户籍"
    )
    assert matches["SH-MZJ-P001"].explanation == "差一项：未满70周岁"
    assert matches["SH-MZJ-P003"].explanation == "差一项：年满80周岁"
    eligible = [code for code, outcome in matches.items() if outcome.holds]
    # Of the four age bands of 老年综合津贴 only 70–79; and what every local elder of 70 has.
    assert eligible == ["SH-MZJ-P002", "SH-MZJ-P016", "SH-WJW-P002", "SH-YBJ-P004"]


def test_a_severely_disabled_resident_on_the_allowance_is_found_for_both_subsidies(demo_catalog):
    profile = ResidentProfileFactory(
        birth_date=dt.date(1990, 1, 1),
        hukou_is_local=True,
        disability_grade=1,
        is_minimum_living_allowance=True,
    )
    matches = policies_for_resident(profile=profile, today=TODAY)
    eligible = [m.policy.code for m in matches if m.outcome.holds]
    assert eligible == [
        "SH-CL-P001", "SH-CL-P002", "SH-MZJ-P005", "SH-MZJ-P006", "SH-SFJ-P001", "SH-YBJ-P002",
    ]  # fmt: skip
    # Sensitive values (残疾等级, level 4) are not repeated in the explanation.
    assert matches[2].outcome.explanation == (
        "符合：持有残疾人证（一至四级）；最低生活保障对象；本市户籍"
    )


def test_answers_must_be_the_items_questions_and_options(tmp_path):
    import shutil

    folder = tmp_path / "defs"
    shutil.copytree(DEMO, folder)
    path = folder / "policies" / "SH-MZJ-P006.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("applicant_role: self", "applicant_role: 本人"),
        encoding="utf-8",
    )
    with pytest.raises(CatalogInvalid) as raised:
        read_definitions(folder)
    assert [str(p) for p in raised.value.problems] == [
        "policies/SH-MZJ-P006.yaml:18: answers.applicant_role: 情形 applicant_role 没有选项 本人"
    ]


def test_a_rule_naming_an_unknown_element_is_refused_with_file_and_line(tmp_path):
    import shutil

    folder = tmp_path / "defs"
    shutil.copytree(DEMO, folder)
    path = folder / "policies" / "SH-MZJ-P006.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("disability.grade", "disability.level"),
        encoding="utf-8",
    )
    with pytest.raises(CatalogInvalid) as raised:
        read_definitions(folder)
    assert [str(p) for p in raised.value.problems] == [
        "policies/SH-MZJ-P006.yaml:22: eligibility.all[0].element: 未知的数据元：disability.level"
    ]


def test_enterprise_policies_are_listed_by_industry_and_every_policy_by_department(
    demo_catalog, client
):
    from tongban.policies.selectors import industries_of

    rows = {p.code: p for p in Policy.objects.all()}
    limited = {
        code: industries_of(row.current.content["eligibility"]) for code, row in rows.items()
    }
    assert limited["SH-SCJ-P003"] == {"H"}  # 餐饮: 住宿和餐饮业
    assert limited["SH-MZJ-P015"] == {"Q"}  # 养老机构: 卫生和社会工作
    assert limited["SH-RSJ-P004"] == set()  # 稳岗返还: any industry

    listed = client.get("/api/v1/policies?industry=H").json()
    codes = {p["code"] for p in listed}
    assert "SH-SCJ-P003" in codes and "SH-RSJ-P004" in codes and "SH-MZJ-P015" not in codes
    assert {p["subject"] for p in listed} == {"enterprise"}
    page = client.get("/policies/?industry=H").content.decode()
    assert "适用于住宿和餐饮业企业的政策" in page and "适用行业：住宿和餐饮业" in page

    by_department = client.get("/api/v1/policies?department=SH-CL").json()
    assert {p["department_code"] for p in by_department} == {"SH-CL"}
    assert len(by_department) == 4
    assert client.get("/policies/?department=NOPE").status_code == 404
    assert client.get("/policies/?industry=Z").status_code == 404
    assert client.get("/api/v1/policies?industry=Z").status_code == 422
