"""我可能符合哪些政策: anonymous answers, only the questions the rules need, nothing stored."""

from __future__ import annotations

import re

import pytest

from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.policies.models import PolicyMatch, PolicyRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def demo_catalog(db, eight_policies):
    catalog_load_directory(path=eight_policies)


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_questions_are_those_the_rules_read(client):
    questions = client.get("/api/v1/policies/questions").json()
    assert [(q["code"], q["kind"]) for q in questions] == [
        ("age", "age"),
        ("disability.grade", "choice"),
        ("resident.hukou_is_local", "boolean"),
        ("resident.is_low_income", "boolean"),
        ("resident.is_minimum_living_allowance", "boolean"),
        ("resident.is_veteran", "boolean"),
    ]
    assert questions[1]["choices"][0] == ["1", "一级"]


def test_answers_find_policies_and_unanswered_is_unknown(client):
    audit_before = AuditEvent.objects.count()
    body = client.post(
        "/api/v1/policies/check",
        {"answers": {"age": 72, "resident.hukou_is_local": True}},
        content_type="application/json",
    ).json()
    by_code = {r["policy"]["code"]: (r["result"], r["explanation"]) for r in body}
    # The age told is what is repeated, not a birth year the asker never gave.
    assert by_code["SH-MZJ-P002"] == (
        "eligible",
        "符合：年满70周岁（72周岁）；未满80周岁（72周岁）；本市户籍",
    )
    assert by_code["SH-MZJ-P001"] == ("not_eligible", "差一项：未满70周岁")
    assert by_code["SH-MZJ-P006"] == ("unknown", "尚无法判断：残疾等级为一级或二级")
    assert body[0]["policy"]["code"] == "SH-MZJ-P002"  # eligible first
    # Nothing about the asker is kept.
    assert AuditEvent.objects.count() == audit_before
    assert not PolicyMatch.objects.exists() and not PolicyRun.objects.exists()


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"age": 200}, "age"),
        ({"age": "seventy"}, "age"),
        ({"resident.is_veteran": "maybe"}, "resident.is_veteran"),
        ({"disability.grade": "9"}, "disability.grade"),
        ({"household.size": 3}, "household.size"),
    ],
)
def test_answers_that_are_not_the_questions_are_refused(client, answers, field):
    response = client.post(
        "/api/v1/policies/check", {"answers": answers}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"
    assert [d["field"] for d in response.json()["details"]] == [field]


def test_the_page_asks_keeps_answers_and_shows_results(client):
    html = _text(client.get("/policies/check/"))
    assert '<label for="q-age">您的年龄（周岁）</label>' in html
    assert "<legend>您是否为本市户籍？</legend>" in html
    response = client.post(
        "/policies/check/", {"age": "81", "resident.hukou_is_local": "yes", "disability.grade": ""}
    )
    html = _text(response)
    assert response.status_code == 200
    assert "您可能符合的政策（1项）" in html and "老年综合津贴（80至89周岁）" in html
    assert "还需了解更多情况的政策" in html
    assert 'value="81"' in html and 'value="yes" checked' in html
    bad = client.post("/policies/check/", {"age": "abc"})
    assert bad.status_code == 422
    assert "年龄应为 0 至 150 的整数" in _text(bad)


def test_a_household_condition_is_asked_as_itself_and_answered_for_the_family(client, tmp_path):
    from tongban.policies.rules import household_key
    from tongban.policies.selectors import current_definition, current_policies
    from tongban.policies.tests.conftest import demo_definitions

    catalog_load_directory(path=demo_definitions(tmp_path / "d", keep={"SH-WJW-P003"}))
    ((_, definition),) = [
        (p, current_definition(p)) for p, _ in current_policies() if p.code == "SH-WJW-P003"
    ]
    key = household_key(definition.eligibility["all"][1])
    questions = client.get("/api/v1/policies/questions").json()
    asked = {q["code"]: (q["label"], q["kind"]) for q in questions}
    assert asked[key] == ("家庭情况：家中有子女将于入学当年8月31日前年满6周岁？", "boolean")

    def result(answers):
        body = client.post(
            "/api/v1/policies/check", {"answers": answers}, content_type="application/json"
        ).json()
        return {r["policy"]["code"]: (r["result"], r["explanation"]) for r in body}["SH-WJW-P003"]

    parent = {"resident.household_relation": "head"}
    assert result(parent) == ("unknown", "尚无法判断：家中有子女将于入学当年8月31日前年满6周岁")
    assert result({**parent, key: True}) == (
        "eligible",
        "符合：户主或其配偶（子女的父母）（户主）；家中有子女将于入学当年8月31日前年满6周岁",
    )
    assert result({**parent, key: False}) == (
        "not_eligible",
        "差一项：家中有子女将于入学当年8月31日前年满6周岁",
    )
    page = _text(client.post("/policies/check/", {**parent, key: "yes"}))
    assert "家庭情况：家中有子女将于入学当年8月31日前年满6周岁？" in page
    assert 'id="policy-SH-WJW-P003"' in page.split('id="check-eligible-title"')[1].split("</ul>")[0]
