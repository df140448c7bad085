"""The rule engine alone: checks at load, evaluation, explanations."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.policies.rules import (
    ElementInfo,
    condition_texts,
    elements_used,
    evaluate,
    rule_problems,
)

ELEMENTS = {
    "applicant.birth_date": ElementInfo("申请人出生日期", "date", 3),
    "applicant.hukou_district": ElementInfo(
        "户籍所在区", "choice", 2, {"310101": "黄浦区", "310104": "徐汇区"}
    ),
    "resident.hukou_is_local": ElementInfo("本市户籍", "boolean", 2),
    "resident.is_low_income": ElementInfo("低收入家庭成员", "boolean", 3),
    "resident.is_minimum_living_allowance": ElementInfo("最低生活保障对象", "boolean", 3),
    "household.size": ElementInfo("家庭人口", "integer", 3),
}
TODAY = dt.date(2026, 12, 3)
ELDER = {
    "all": [
        {"age_of": "applicant.birth_date", "op": "ge", "value": 65, "text": "年满65周岁"},
        {
            "element": "applicant.hukou_district",
            "op": "in",
            "value": ["310101"],
            "text": "户籍在黄浦区",
        },
        {"element": "resident.hukou_is_local", "op": "is_true", "text": "本市户籍"},
    ]
}


def test_a_sound_rule_has_no_problems_and_names_what_it_reads():
    assert rule_problems(ELDER, ELEMENTS) == []
    assert elements_used(ELDER) == {
        "applicant.birth_date",
        "applicant.hukou_district",
        "resident.hukou_is_local",
    }


def test_eligible_explains_every_condition_with_what_may_be_shown():
    facts = {
        "applicant.birth_date": dt.date(1958, 12, 3),
        "applicant.hukou_district": "310101",
        "resident.hukou_is_local": True,
    }
    outcome = evaluate(ELDER, facts, ELEMENTS, TODAY)
    assert outcome.holds
    assert outcome.explanation == "符合：年满65周岁（1958年出生）；户籍在黄浦区（黄浦区）；本市户籍"


def test_one_day_short_of_the_age_is_the_first_unmet_condition():
    facts = {
        "applicant.birth_date": dt.date(1961, 12, 4),
        "applicant.hukou_district": "310101",
        "resident.hukou_is_local": True,
    }
    outcome = evaluate(ELDER, facts, ELEMENTS, TODAY)
    assert (outcome.holds, outcome.explanation) == (False, "差一项：年满65周岁")
    # One condition short, but an age: nothing the person can do, so not "nearly".
    assert (outcome.missing, outcome.hint, outcome.nearly) == (1, "", False)
    elsewhere = evaluate(ELDER, {**facts, "applicant.hukou_district": "310104"}, ELEMENTS, TODAY)
    assert elsewhere.explanation == "不符合：年满65周岁（共2项条件未满足）"
    assert not elsewhere.nearly


def test_unknown_data_is_said_to_be_unknown_never_taken_as_no():
    facts = {"applicant.birth_date": dt.date(1950, 1, 1), "applicant.hukou_district": "310101"}
    outcome = evaluate(ELDER, facts, ELEMENTS, TODAY)
    assert (outcome.holds, outcome.unknown, outcome.explanation) == (
        False,
        True,
        "尚无法判断：本市户籍",
    )


def test_any_and_not():
    rule = {
        "all": [
            {
                "any": [
                    {
                        "element": "resident.is_low_income",
                        "op": "is_true",
                        "text": "低收入家庭成员",
                    },
                    {"element": "household.size", "op": "ge", "value": 5, "text": "五口以上之家"},
                ],
                "hint": "可申请低收入家庭认定",
            },
            {
                "not": {
                    "element": "resident.is_minimum_living_allowance",
                    "op": "is_true",
                    "text": "低保对象",
                },
                "text": "未享受最低生活保障",
            },
        ]
    }
    assert rule_problems(rule, ELEMENTS) == []
    base = {"resident.is_minimum_living_allowance": False, "household.size": 2}
    low = {**base, "resident.is_low_income": True}
    assert evaluate(rule, low, ELEMENTS, TODAY).explanation == (
        "符合：低收入家庭成员；未享受最低生活保障"
    )
    neither = {**base, "resident.is_low_income": False}
    assert evaluate(rule, neither, ELEMENTS, TODAY).explanation == (
        "差一项：以下任一项：低收入家庭成员或五口以上之家"
    )
    assert evaluate(rule, neither, ELEMENTS, TODAY).hint == "可申请低收入家庭认定"
    assert evaluate(rule, neither, ELEMENTS, TODAY).nearly
    on_allowance = {**low, "resident.is_minimum_living_allowance": True}
    assert evaluate(rule, on_allowance, ELEMENTS, TODAY).explanation == "差一项：未享受最低生活保障"


def test_the_conditions_read_one_per_line():
    assert condition_texts(ELDER) == ["年满65周岁", "户籍在黄浦区", "本市户籍"]


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (
            {"element": "nobody.knows", "op": "eq", "value": "x", "text": "t"},
            "未知的数据元：nobody.knows",
        ),
        (
            {"element": "resident.hukou_is_local", "op": "ge", "value": 1, "text": "t"},
            "resident.hukou_is_local（boolean）不支持运算 ge，可用：is_false、is_true",
        ),
        (
            {"element": "applicant.hukou_district", "op": "eq", "value": "999999", "text": "t"},
            "值 999999 不在 户籍所在区 的可选值中：310101、310104",
        ),
        (
            {"element": "household.size", "op": "ge", "value": "5", "text": "t"},
            "值 '5' 不是数字（家庭人口）",
        ),
        (
            {"age_of": "household.size", "op": "ge", "value": 5, "text": "t"},
            "age_of 需要日期类数据元，household.size 是 integer",
        ),
        (
            {"element": "resident.hukou_is_local", "op": "is_true"},
            "每个条件都要写明 text（给市民看的说明）",
        ),
        ({"all": []}, "all 需要至少一个条件"),
        (
            {"not": {"element": "resident.hukou_is_local", "op": "is_true", "text": "t"}},
            "not 节点必须写明 text（如何说明这项条件）",
        ),
        (
            {"element": "resident.hukou_is_local", "op": "is_true", "text": "t", "eval": "1"},
            "未知的键：eval",
        ),
    ],
)
def test_unsound_rules_are_refused_with_the_reason(rule, problem):
    assert problem in [message for _, message in rule_problems(rule, ELEMENTS)]
