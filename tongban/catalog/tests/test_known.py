"""Answers the platform already knows (known_from): the schema refuses anything but one
declared test on one profile fact, and the guide fills such answers for a logged-in applicant
instead of asking (养老服务一件事 for the 80-year-old resident2, 残疾人服务一件事 for resident3)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.conf import settings
from pydantic import ValidationError

from tongban.accounts.models import ResidentProfile, User
from tongban.catalog.errors import GuideAnswersInvalid
from tongban.catalog.guide import bundle_questions, guide_for_bundle, guide_for_item
from tongban.catalog.known import profile_fact
from tongban.catalog.schemas import BundleDef, KnownFrom, SituationDef
from tongban.catalog.services import catalog_load_directory
from tongban.demo.accounts import ensure_demo_accounts

YES_NO = [{"value": "yes", "label": "是"}, {"value": "no", "label": "否"}]


def _situation(**known_from):
    return SituationDef(
        code="age_65_plus", question="老人是否年满65周岁？", options=YES_NO, known_from=known_from
    )


def _errors(exc: pytest.ExceptionInfo) -> list[str]:
    return [e["msg"] for e in exc.value.errors()]


class TestSchema:
    def test_one_rule_may_be_written_without_a_list_and_defaults_to_yes_and_no(self):
        s = _situation(profile="age", at_least=65, says={"yes": "年满65周岁", "no": "未满65周岁"})
        assert s.known_from == [
            KnownFrom(profile="age", at_least=65, says={"yes": "年满65周岁", "no": "未满65周岁"})
        ]
        rule = s.known_from[0]
        assert (rule.then, rule.otherwise, rule.when) == ("yes", "no", {})
        assert [rule.answer(v) for v in (64, 65, 80, None)] == ["no", "yes", "yes", "no"]

    def test_yaml_booleans_become_option_values_and_null_means_ask(self):
        rule = KnownFrom.model_validate(
            {"profile": "is_low_income", "equals": True, "then": True, "otherwise": None,
             "says": {True: "低收入家庭"}}
        )  # fmt: skip
        assert (rule.then, rule.otherwise, rule.says) == ("yes", "", {"yes": "低收入家庭"})
        assert [rule.answer(v) for v in (True, False, None)] == ["yes", "", ""]

    def test_unknown_fields_and_unknown_tests_are_refused(self):
        with pytest.raises(ValidationError) as exc:
            _situation(profile="age", greater_than=65, says={"yes": "年满", "no": "未满"})
        assert [e["loc"] for e in exc.value.errors()] == [("known_from", 0, "greater_than")]
        assert exc.value.errors()[0]["type"] == "extra_forbidden"

    def test_unknown_profile_facts_are_refused(self):
        with pytest.raises(ValidationError) as exc:
            _situation(profile="income", equals=True, says={"yes": "是", "no": "否"})
        assert [(e["loc"], e["type"]) for e in exc.value.errors()] == [
            (("known_from", 0, "profile"), "literal_error")
        ]

    @pytest.mark.parametrize(
        ("rule", "message"),
        [
            (
                {"profile": "age", "says": {"yes": "是", "no": "否"}},
                "known_from 必须且只能给出一种判断：at_least/at_most、equals、one_of 或 is_set",
            ),
            (
                {
                    "profile": "age",
                    "at_least": 65,
                    "is_set": True,
                    "says": {"yes": "是", "no": "否"},
                },
                "known_from 必须且只能给出一种判断：at_least/at_most、equals、one_of 或 is_set",
            ),
            (
                {"profile": "hukou_is_local", "at_least": 1, "says": {"yes": "是", "no": "否"}},
                "档案项 hukou_is_local 不是数值，不能用 at_least/at_most 判断",
            ),
            (
                {"profile": "age", "equals": "65", "says": {"yes": "是", "no": "否"}},
                "档案项 age 是数值，请用 at_least/at_most 判断",
            ),
            (
                {"profile": "hukou_is_local", "equals": "yes", "says": {"yes": "是", "no": "否"}},
                "档案项 hukou_is_local 的 equals 应为true 或 false",
            ),
            (
                {"profile": "is_veteran", "one_of": ["a"], "says": {"yes": "是", "no": "否"}},
                "档案项 is_veteran 不能用 one_of 判断",
            ),
            (
                {"profile": "age", "at_least": 65, "says": {"yes": "年满65周岁"}},
                "says 缺少答案 no 的说明",
            ),
            (
                {
                    "profile": "age",
                    "at_least": 65,
                    "otherwise": "",
                    "says": {"yes": "是", "no": "否"},
                },
                "says 中的答案 no 不会由本规则得出",
            ),
        ],
    )
    def test_a_rule_must_be_exactly_one_fitting_test_with_a_statement_per_answer(
        self, rule, message
    ):
        with pytest.raises(ValidationError) as exc:
            _situation(**rule)
        assert _errors(exc) == [f"Value error, {message}"]

    def test_answers_must_be_options_and_the_condition_not_the_question_itself(self):
        with pytest.raises(ValidationError) as exc:
            _situation(profile="age", at_least=65, then="maybe", says={"maybe": "?", "no": "否"})
        assert _errors(exc) == [
            "Value error, 情形 age_65_plus 的 known_from 答案 maybe 不是它的选项"
        ]
        with pytest.raises(ValidationError) as exc:
            _situation(
                profile="age",
                at_least=65,
                when={"age_65_plus": "yes"},
                says={"yes": "是", "no": "否"},
            )
        assert _errors(exc) == ["Value error, 情形 age_65_plus 的 known_from 条件不能引用自身"]

    def test_a_rule_condition_must_name_a_situation_of_the_definition(self):
        with pytest.raises(ValidationError) as exc:
            BundleDef(
                code="b", name="示例一件事", lead_department="D", promised_days=5,
                items=[{"item": "A"}, {"item": "B"}],
                situations=[{
                    "code": "age_65_plus", "question": "老人是否年满65周岁？", "options": YES_NO,
                    "known_from": {"profile": "age", "at_least": 65, "when": {"role": "self"},
                                   "says": {"yes": "是", "no": "否"}},
                }],
            )  # fmt: skip
        assert [(e["loc"], e["msg"]) for e in exc.value.errors()] == [
            (("situations", 0, "known_from", 0, "when", "role"), "条件引用了未定义的情形：role")
        ]


def test_age_is_whole_years_on_the_day():
    person = SimpleNamespace(birth_date=dt.date(1961, 3, 1))
    assert profile_fact(person, "age", today=dt.date(2026, 2, 28)) == 64
    assert profile_fact(person, "age", today=dt.date(2026, 3, 1)) == 65
    assert profile_fact(SimpleNamespace(disability_grade=None), "disability_grade") is None


@pytest.fixture
def demo(db):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()


def _profile(username: str) -> ResidentProfile:
    return ResidentProfile.objects.get(user__username=username)


@pytest.mark.usefixtures("demo")
class TestGuide:
    def test_the_80_year_old_is_not_asked_her_age_or_hukou(self):
        elder = _profile("resident2")
        result = guide_for_bundle(
            code="elderly_care", answers={"applicant_role": "self", "need_care": "no"},
            applicant=elder,
        )  # fmt: skip
        assert result.answers == {
            "applicant_role": "self",
            "hukou_local": "yes",
            "age_65_plus": "yes",
            "need_care": "no",
        }
        assert [(q.code, q.applies, q.answer, q.known) for q in result.questions] == [
            ("applicant_role", True, "self", ""),
            ("hukou_local", True, "yes", "已根据您的居民档案确定：本市户籍"),
            ("age_65_plus", True, "yes", "已根据您的居民档案确定：年满65周岁"),
            ("need_care", True, "no", ""),
            ("low_income", False, None, ""),
            ("want_institution", False, None, ""),
        ]
        assert [i.name for i in result.items] == ["老年人优待卡申领", "老年综合津贴申领"]

    def test_a_given_answer_the_profile_contradicts_does_not_count(self):
        result = guide_for_bundle(
            code="elderly_care",
            answers={"applicant_role": "self", "age_65_plus": "no", "need_care": "no"},
            applicant=_profile("resident2"),
        )
        assert result.answers["age_65_plus"] == "yes"

    def test_low_income_is_asked_when_the_profile_cannot_say_yes(self):
        with pytest.raises(GuideAnswersInvalid) as exc:
            guide_for_bundle(
                code="elderly_care", answers={"applicant_role": "self", "need_care": "yes"},
                applicant=_profile("resident2"),
            )  # fmt: skip
        assert exc.value.details == [
            {
                "field": "low_income",
                "message": "请选择：是否属于最低生活保障或低收入等经济困难家庭？",
            },
            {"field": "want_institution", "message": "请选择：是否希望入住养老机构？"},
        ]
        # The form shown again still says what is known rather than asking it.
        known = {q.code: q.known for q in exc.value.questions if q.known}
        assert known == {
            "hukou_local": "已根据您的居民档案确定：本市户籍",
            "age_65_plus": "已根据您的居民档案确定：年满65周岁",
        }
        profile = _profile("resident2")
        profile.is_low_income = True
        result = guide_for_bundle(
            code="elderly_care",
            answers={"applicant_role": "self", "need_care": "yes", "want_institution": "no"},
            applicant=profile,
        )
        assert result.answers["low_income"] == "yes"
        assert result.questions[4].known == "已根据您的居民档案确定：低收入家庭"

    def test_a_family_member_applying_is_asked_everything_about_the_elder(self):
        with pytest.raises(GuideAnswersInvalid) as exc:
            guide_for_bundle(
                code="elderly_care", answers={"applicant_role": "agent", "need_care": "no"},
                applicant=_profile("resident2"),
            )  # fmt: skip
        assert [d["field"] for d in exc.value.details] == ["hukou_local"]
        assert [q.known for q in exc.value.questions] == [""] * 6

    def test_before_the_role_is_given_the_form_says_which_answers_will_be_known(self):
        questions = bundle_questions(code="elderly_care", applicant=_profile("resident2"))
        hint = "如「由谁提出申请？」选择「本人申请」，本题无需回答，将根据您的居民档案确定"
        assert [(q.code, q.known, q.known_if) for q in questions] == [
            ("applicant_role", "", ""),
            ("hukou_local", "", hint),
            ("age_65_plus", "", hint),
            ("need_care", "", ""),
            ("low_income", "", ""),  # not on the rolls: the profile could only say yes
            ("want_institution", "", ""),
        ]
        answered = bundle_questions(
            code="elderly_care", answers={"applicant_role": "self"}, applicant=_profile("resident2")
        )
        assert [q.code for q in answered if q.applies and not q.known] == [
            "applicant_role",
            "need_care",
        ]

    def test_anonymous_visitors_are_asked_everything(self):
        with pytest.raises(GuideAnswersInvalid) as exc:
            guide_for_bundle(
                code="elderly_care", answers={"applicant_role": "self", "need_care": "no"}
            )
        assert [d["field"] for d in exc.value.details] == ["hukou_local"]
        assert [(q.known, q.known_if) for q in bundle_questions(code="elderly_care")] == [
            ("", "")
        ] * 6

    def test_resident3s_disability_certificate_and_grade_come_from_the_profile(self):
        result = guide_for_bundle(
            code="disability_services",
            answers={
                "applicant_role": "self",
                "low_income": "no",  # not on the 低保/低收入 rolls: only the person can say
                "need_assistive_device": "yes",
                "need_rehabilitation": "no",
            },
            applicant=_profile("resident3"),
        )
        assert result.answers == {
            "has_disability_certificate": "yes",
            "applicant_role": "self",
            "low_income": "no",
            "severe_disability": "yes",
            "need_assistive_device": "yes",
            "need_rehabilitation": "no",
        }
        known = [(q.code, q.known) for q in result.questions if q.known]
        assert known == [
            ("has_disability_certificate", "已根据您的居民档案确定：已持有本市残疾人证"),
            ("severe_disability", "已根据您的居民档案确定：残疾等级为二级及以上"),
        ]

    def test_an_item_alone_uses_its_own_rules(self):
        result = guide_for_item(
            code="SH-MZJ-0303", answers={"applicant_role": "self"}, applicant=_profile("resident2")
        )
        assert result.answers == {"hukou_local": "yes", "applicant_role": "self"}
        # 公共租赁住房: no role to ask, the profile is the applicant's own.
        result = guide_for_item(code="SH-FGJ-0201", answers={}, applicant=_profile("agent2"))
        assert result.answers == {"hukou_local": "no"}
        assert result.questions[0].known == "已根据您的居民档案确定：非本市户籍"


@pytest.mark.usefixtures("demo")
def test_the_api_guide_fills_and_states_known_answers_for_the_logged_in_applicant(client):
    client.force_login(User.objects.get(username="resident2"))
    response = client.post(
        "/api/v1/catalog/bundles/elderly_care/guide",
        {"answers": {"applicant_role": "self", "need_care": "no"}},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["answers"] == {
        "applicant_role": "self",
        "hukou_local": "yes",
        "age_65_plus": "yes",
        "need_care": "no",
    }
    assert [(q["code"], q["known"]) for q in body["questions"] if q["known"]] == [
        ("hukou_local", "已根据您的居民档案确定：本市户籍"),
        ("age_65_plus", "已根据您的居民档案确定：年满65周岁"),
    ]
