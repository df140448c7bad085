"""The rule engine alone: checks at load, evaluation, explanations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tongban.policies.rules import (
    HOUSEHOLD,
    ElementInfo,
    age_reference,
    condition_texts,
    elements_used,
    evaluate,
    formula_problems,
    formula_value,
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
    "resident.monthly_income": ElementInfo("个人月收入（元）", "decimal", 3),
    "enterprise.insured_headcount": ElementInfo("参保职工人数", "integer", 2),
    "enterprise.founded_on": ElementInfo("成立日期", "date", 1),
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
        (
            {"household": {"mean": "resident.hukou_is_local"}, "op": "le", "value": 1, "text": "t"},
            "mean 需要数字类数据元，resident.hukou_is_local 是 boolean",
        ),
        (
            {"household": {"count": "all", "sum": "x"}, "op": "ge", "value": 1, "text": "t"},
            "household 应为 count、sum、mean 三者之一",
        ),
        (
            {"household": {"count": "all"}, "op": "in", "value": 1, "text": "t"},
            "家庭成员统计不支持运算 in",
        ),
        (
            {
                "household": {
                    "count": {"household": {"count": "all"}, "op": "ge", "value": 1, "text": "t"}
                },
                "op": "ge",
                "value": 1,
                "text": "t",
            },
            "家庭成员的条件中不能再统计家庭",
        ),
        (
            {
                "age_of": "applicant.birth_date",
                "as_of": "02-30",
                "op": "ge",
                "value": 6,
                "text": "t",
            },
            'as_of 应为带引号的月-日，如 "08-31"（当日或其后最近的这一天）',
        ),
    ],
)
def test_unsound_rules_are_refused_with_the_reason(rule, problem):
    assert problem in [message for _, message in rule_problems(rule, ELEMENTS)]


INCOME_PER_HEAD = {
    "household": {"mean": "resident.monthly_income"},
    "op": "le",
    "value": 1510,
    "text": "家庭人均月收入不高于1510元",
}
CHILD_AT_HOME = {
    "household": {
        "count": {"age_of": "applicant.birth_date", "op": "lt", "value": 18, "text": "未成年"}
    },
    "op": "ge",
    "value": 1,
    "text": "家中有未成年子女",
}


def test_household_conditions_count_and_average_over_the_members_and_mask_income():
    members = [
        {"resident.monthly_income": Decimal("3000"), "applicant.birth_date": dt.date(1990, 1, 1)},
        {"resident.monthly_income": Decimal("0"), "applicant.birth_date": dt.date(1992, 5, 1)},
        {"resident.monthly_income": Decimal("0"), "applicant.birth_date": dt.date(2015, 7, 1)},
    ]
    facts = {**members[0], HOUSEHOLD: members}
    both = {"all": [INCOME_PER_HEAD, CHILD_AT_HOME]}
    assert evaluate(both, facts, ELEMENTS, TODAY).explanation == (
        "符合：家庭人均月收入不高于1510元；家中有未成年子女（1人）"
    )
    members[1]["resident.monthly_income"] = Decimal("1600")  # 4,600 / 3 > 1,510
    assert (
        evaluate(both, facts, ELEMENTS, TODAY).explanation == "差一项：家庭人均月收入不高于1510元"
    )
    members[1]["resident.monthly_income"] = None
    assert evaluate(INCOME_PER_HEAD, facts, ELEMENTS, TODAY).unknown
    no_household = {**members[0], HOUSEHOLD: None}
    assert evaluate(CHILD_AT_HOME, no_household, ELEMENTS, TODAY).explanation == (
        "尚无法判断：家中有未成年子女"
    )


def test_an_age_on_a_day_of_the_year_is_taken_on_its_next_occurrence():
    assert age_reference({"as_of": "08-31"}, dt.date(2026, 12, 3)) == dt.date(2027, 8, 31)
    assert age_reference({"as_of": "08-31"}, dt.date(2026, 8, 31)) == dt.date(2026, 8, 31)
    assert age_reference({"as_of": "02-29"}, dt.date(2026, 12, 3)) == dt.date(2027, 3, 1)
    six = {
        "age_of": "applicant.birth_date",
        "as_of": "08-31",
        "op": "eq",
        "value": 6,
        "text": "满6",
    }
    # Six on 31 August 2027: born 1 September 2020 to 31 August 2021.
    for birth, holds in [
        (dt.date(2020, 8, 31), False),
        (dt.date(2020, 9, 1), True),
        (dt.date(2021, 8, 31), True),
        (dt.date(2021, 9, 1), False),
    ]:
        facts = {"applicant.birth_date": birth}
        assert evaluate(six, facts, ELEMENTS, TODAY).holds is holds, birth


def test_a_founding_date_reads_as_the_year_founded():
    rule = {"age_of": "enterprise.founded_on", "op": "ge", "value": 3, "text": "成立满3年"}
    facts = {"enterprise.founded_on": dt.date(2019, 4, 1)}
    assert evaluate(rule, facts, ELEMENTS, TODAY).explanation == "符合：成立满3年（2019年成立）"


def test_amount_formulas_are_checked_and_worked_out_to_the_fen():
    formula = {"min": [{"mul": [{"element": "enterprise.insured_headcount"}, 500.5]}, 100000]}
    assert formula_problems(formula, ELEMENTS) == []
    assert formula_value(formula, {"enterprise.insured_headcount": 3}) == Decimal("1501.50")
    assert formula_value(formula, {"enterprise.insured_headcount": 900}) == Decimal("100000.00")
    assert formula_value(formula, {"enterprise.insured_headcount": None}) is None
    assert formula_value({"sub": [100, {"element": "x"}]}, {"x": 300}) == Decimal("0.00")
    assert formula_problems({"pow": [1, 2]}, ELEMENTS) == [((), "未知的金额运算：pow")]
    assert formula_problems({"mul": [{"element": "enterprise.founded_on"}, 2]}, ELEMENTS) == [
        (("mul", 0, "element"), "金额公式需要数字类数据元，enterprise.founded_on 是 date")
    ]


def test_a_formula_may_count_and_average_over_the_household():
    # 低保 差额: (标准 − 家庭月人均收入) × 家庭人口
    formula = {
        "mul": [
            {"sub": [1420, {"household": {"mean": "resident.monthly_income"}}]},
            {"household": {"count": "all"}},
        ]
    }
    assert formula_problems(formula, ELEMENTS) == []
    members = [
        {"resident.monthly_income": Decimal("2000")},
        {"resident.monthly_income": Decimal("400")},
    ]
    assert formula_value(formula, {HOUSEHOLD: members}) == Decimal("440.00")
    assert formula_value(formula, {HOUSEHOLD: None}) is None  # no household recorded
    unknown = [*members, {"resident.monthly_income": None}]
    assert formula_value(formula, {HOUSEHOLD: unknown}) is None  # one income unknown
    assert formula_problems({"household": {"median": "resident.monthly_income"}}, ELEMENTS) == [
        (("household",), "household 应为 count、sum、mean 三者之一")
    ]
    assert formula_problems({"household": {"sum": "applicant.birth_date"}}, ELEMENTS) == [
        (("household", "sum"), "sum 需要数字类数据元，applicant.birth_date 是 date")
    ]
