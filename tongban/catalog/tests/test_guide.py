from __future__ import annotations

from types import SimpleNamespace

import pytest

from tongban.catalog.errors import BundleNotFound, GuideAnswersInvalid, ItemNotFound
from tongban.catalog.guide import (
    EvidenceProvider,
    ProfileEvidence,
    bundle_questions,
    guide_for_bundle,
    guide_for_item,
)
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import edit

pytestmark = pytest.mark.usefixtures("loaded")

BORN_HERE_MARRIED_LOCALLY = {
    "born_in_city": "yes",
    "want_sscard": "no",
    "parents_married": "yes",
    "marriage_local": "yes",
}
BORN_ELSEWHERE_UNMARRIED_CARD_BY_MAIL = {
    "born_in_city": "no",
    "want_sscard": "yes",
    "parents_married": "no",
    "card_delivery": "mail",
}


def codes(rows) -> list[str]:
    return [r.code for r in rows]


def test_born_here_married_locally():
    result = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY)

    assert (result.kind, result.code, result.name, result.version) == (
        "bundle",
        "birth",
        "出生一件事",
        1,
    )
    assert [(i.code, i.stage, i.after) for i in result.items] == [
        ("birth_registration", 1, []),
        ("vaccination_certificate", 1, []),
        ("medical_insurance_enrolment", 2, ["birth_registration"]),
    ]
    assert [(m.code, m.items, m.copies, m.form) for m in result.materials] == [
        ("birth_medical_certificate", ["birth_registration", "vaccination_certificate"], 1, "原件"),
        ("household_register", ["birth_registration", "medical_insurance_enrolment"], 1, "原件"),
        ("parent_id_card", ["birth_registration"], 2, "原件及复印件"),
    ]
    assert [[w.text for w in m.waivers] for m in result.materials] == [
        ["可免提交：通过电子证照『出生医学证明』核验"],
        ["可免提交：由公安人口信息核验"],
        ["可免提交：由公安人口信息核验"],
    ]
    all_three = ["birth_registration", "vaccination_certificate", "medical_insurance_enrolment"]
    assert [(f.code, f.required, f.items) for f in result.fields] == [
        ("applicant.name", True, all_three),
        ("applicant.id_number", True, ["birth_registration", "medical_insurance_enrolment"]),
        ("applicant.phone", True, ["birth_registration", "vaccination_certificate"]),
        ("child.name", True, all_three),
        ("child.birth_date", True, all_three),
        ("child.sex", True, ["birth_registration"]),
        ("marriage.certificate_no", True, ["birth_registration"]),
    ]
    sex = result.fields[5]
    assert (sex.label, sex.type, [(c.value, c.label) for c in sex.choices]) == (
        "新生儿性别",
        "choice",
        [("M", "男"), ("F", "女")],
    )
    assert result.fields[0].prefill_from == ["居民档案（一人一档）"]
    assert result.fields[0].prefill_available is False
    assert (result.promised_days, result.critical_path_days) == (10, 8)
    assert result.critical_path == ["birth_registration", "medical_insurance_enrolment"]
    assert result.critical_path_names == ["出生登记", "城乡居民医保参保登记"]
    assert result.max_visits == 1
    assert (result.all_free, result.fees) == (True, [])
    assert result.channels == []  # vaccination is counter-only, medical insurance has no counter
    assert (result.materials_total, result.materials_required, result.materials_spared) == (3, 3, 0)
    assert (result.materials_to_submit, result.materials_waivable) == (3, 3)
    assert result.answers == BORN_HERE_MARRIED_LOCALLY


def test_born_elsewhere_unmarried_with_card_by_mail():
    result = guide_for_bundle(code="birth", answers=BORN_ELSEWHERE_UNMARRIED_CARD_BY_MAIL)

    assert [(i.code, i.stage) for i in result.items] == [
        ("birth_registration", 1),
        ("medical_insurance_enrolment", 2),
        ("social_security_card", 2),
    ]
    assert codes(result.materials) == [
        "birth_medical_certificate",
        "household_register",
        "parent_id_card",
        "non_marital_statement",
        "child_photo",
    ]
    assert [w.text for w in result.materials[3].waivers] == ["可签署告知承诺书代替"]
    assert result.materials[4].waivers == []
    assert codes(result.fields) == [
        "applicant.name",
        "applicant.id_number",
        "applicant.phone",
        "child.name",
        "child.birth_date",
        "child.sex",
        "applicant.mail_address",
    ]
    assert result.fields[2].items == ["birth_registration", "social_security_card"]
    # The bundle promises 5 days for the card where the item alone promises 10 (减时间).
    assert (result.critical_path_days, result.critical_path) == (
        10,
        ["birth_registration", "social_security_card"],
    )
    card = next(i for i in result.items if i.code == "social_security_card")
    assert (card.promised_days, card.standalone_promised_days) == (5, 10)
    assert result.max_visits == 0
    assert result.all_free is False
    assert [(f.item, f.description) for f in result.fees] == [
        ("social_security_card", "首次申领免费，补卡每张20元")
    ]
    assert result.channels == ["online"]
    assert (result.materials_total, result.materials_to_submit, result.materials_waivable) == (
        5,
        5,
        4,
    )


def test_a_marriage_registered_elsewhere_needs_the_certificate():
    answers = {**BORN_HERE_MARRIED_LOCALLY, "marriage_local": "no"}
    result = guide_for_bundle(code="birth", answers=answers)
    marriage = next(m for m in result.materials if m.code == "marriage_certificate")
    assert [w.text for w in marriage.waivers] == ["可免提交：通过电子证照『结婚证』核验"]
    assert codes(result.materials)[-1] == "marriage_certificate"


def test_questions_before_any_answer():
    questions = bundle_questions(code="birth")
    assert [(q.code, q.applies, q.asked_for) for q in questions] == [
        ("born_in_city", True, ["bundle"]),
        ("want_sscard", True, ["bundle"]),
        ("parents_married", True, ["birth_registration"]),
        ("marriage_local", False, ["birth_registration"]),
        ("card_delivery", False, ["social_security_card"]),
    ]
    assert questions[3].condition == "仅当「孩子父母是否已登记结婚？」选择「已登记结婚」时回答"
    assert questions[4].condition == "仅当「是否同时为孩子申领社会保障卡？」选择「申领」时回答"
    assert [(o.value, o.label) for o in questions[0].options] == [("yes", "是"), ("no", "否")]


def test_missing_answers_are_each_named():
    with pytest.raises(GuideAnswersInvalid) as caught:
        guide_for_bundle(code="birth", answers={})
    assert caught.value.code == "GUIDE_ANSWERS_INVALID"
    assert caught.value.http_status == 422
    assert caught.value.details == [
        {"field": "born_in_city", "message": "请选择：孩子是否在本市医疗机构出生？"},
        {"field": "want_sscard", "message": "请选择：是否同时为孩子申领社会保障卡？"},
        {"field": "parents_married", "message": "请选择：孩子父母是否已登记结婚？"},
    ]
    assert [q.error for q in caught.value.questions][3:] == ["", ""]


def test_follow_up_questions_become_required_once_they_apply():
    with pytest.raises(GuideAnswersInvalid) as caught:
        guide_for_bundle(
            code="birth",
            answers={"born_in_city": "yes", "want_sscard": "yes", "parents_married": "yes"},
        )
    assert caught.value.details == [
        {"field": "marriage_local", "message": "请选择：结婚登记是否在本市办理？"},
        {"field": "card_delivery", "message": "请选择：社会保障卡如何领取？"},
    ]


def test_invalid_values_and_unknown_questions_are_errors():
    answers = {**BORN_HERE_MARRIED_LOCALLY, "born_in_city": "maybe", "shoe_size": "42"}
    with pytest.raises(GuideAnswersInvalid) as caught:
        guide_for_bundle(code="birth", answers=answers)
    assert caught.value.details == [
        {
            "field": "born_in_city",
            "message": "所选答案无效，请重新选择：孩子是否在本市医疗机构出生？",
        },
        {"field": "shoe_size", "message": "没有名为 shoe_size 的问题"},
    ]


def test_an_answer_to_a_question_that_does_not_apply_is_ignored():
    answers = {**BORN_HERE_MARRIED_LOCALLY, "card_delivery": "mail"}
    result = guide_for_bundle(code="birth", answers=answers)
    assert "card_delivery" not in result.answers
    assert "applicant.mail_address" not in codes(result.fields)
    assert "social_security_card" not in codes(result.items)


def test_item_guide_asks_only_the_items_questions():
    result = guide_for_item(code="birth_registration", answers={"parents_married": "no"})
    assert (result.kind, result.promised_days, result.critical_path_days) == ("item", 5, 5)
    assert codes(result.items) == ["birth_registration"]
    assert codes(result.materials) == [
        "birth_medical_certificate",
        "household_register",
        "parent_id_card",
        "non_marital_statement",
    ]
    assert "marriage.certificate_no" not in codes(result.fields)
    assert result.channels == ["online", "counter"]


def test_enterprise_bundle_orders_items_after_the_licence():
    result = guide_for_bundle(code="enterprise_opening", answers={"need_invoice": "yes"})
    assert [(i.code, i.stage, i.after_names) for i in result.items] == [
        ("enterprise_establishment", 1, []),
        ("seal_engraving", 2, ["企业设立登记"]),
        ("invoice_application", 2, ["企业设立登记"]),
    ]
    assert (result.promised_days, result.critical_path_days) == (1, 1)
    without = guide_for_bundle(code="enterprise_opening", answers={"need_invoice": "no"})
    assert codes(without.items) == ["enterprise_establishment", "seal_engraving"]


def test_materials_are_spared_by_the_applicants_profile(resident):
    profile, _ = resident
    result = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY, applicant=profile)

    spared = {m.code: m.spared_reason for m in result.materials if m.spared}
    assert spared == {
        "household_register": "您的居民档案中已有户籍所在区，由公安人口信息核验，无需提交",
        "parent_id_card": "您的居民档案中已有身份证号码，由公安人口信息核验，无需提交",
    }
    assert (result.materials_spared, result.materials_to_submit, result.materials_waivable) == (
        2,
        1,
        1,
    )
    assert result.applicant_considered is True
    prefilled = {f.code: f.prefill_available for f in result.fields}
    assert prefilled == {
        "applicant.name": True,
        "applicant.id_number": True,
        "applicant.phone": True,
        "child.name": False,
        "child.birth_date": False,
        "child.sex": False,
        "marriage.certificate_no": False,
    }


def test_an_empty_profile_field_spares_nothing():
    applicant = SimpleNamespace(
        hukou_district="", id_number="310104199005171234", phone="", name="李"
    )
    result = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY, applicant=applicant)
    assert [m.code for m in result.materials if m.spared] == ["parent_id_card"]
    # Not a model: the field name is the label.
    assert (
        result.materials[2].spared_reason
        == "您的居民档案中已有id_number，由公安人口信息核验，无需提交"
    )
    assert {f.code: f.prefill_available for f in result.fields}["applicant.phone"] is False


class WalletStub:
    """Stands in for the certificates app: the applicant holds these certificate types."""

    def __init__(self, types: set[str]):
        self.types = types

    def spares(self, *, waiver, material, applicant):
        if waiver.kind == "certificate" and waiver.certificate_type in self.types:
            return f"已关联您的电子证照『{material.name}』"
        return None


def test_evidence_providers_plug_in(resident):
    profile, _ = resident
    wallet = WalletStub({"birth_medical_certificate"})
    assert isinstance(wallet, EvidenceProvider)
    result = guide_for_bundle(
        code="birth",
        answers=BORN_HERE_MARRIED_LOCALLY,
        applicant=profile,
        providers=[ProfileEvidence(), wallet],
    )
    assert [(m.code, m.spared) for m in result.materials] == [
        ("birth_medical_certificate", True),
        ("household_register", True),
        ("parent_id_card", True),
    ]
    assert result.materials[0].spared_reason == "已关联您的电子证照『出生医学证明』"
    assert result.materials_to_submit == 0


def test_without_applicant_nothing_is_spared():
    result = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY)
    assert not any(m.spared for m in result.materials)
    assert result.applicant_considered is False


def test_unknown_codes():
    with pytest.raises(BundleNotFound):
        guide_for_bundle(code="nope", answers={})
    with pytest.raises(ItemNotFound):
        guide_for_item(code="nope", answers={})


def test_an_item_left_out_passes_on_its_prerequisites(catalog_dir):
    (catalog_dir / "bundles/enterprise_opening.yaml").write_text(
        """code: enterprise_opening
name: 企业开办一件事
lead_department: market
subject: enterprise
promised_days: 1
situations:
  - code: need_invoice
    question: 是否需要申领发票？
    options: [{value: "yes", label: 需要}, {value: "no", label: 暂不需要}]
  - code: need_seal
    question: 是否需要刻制公章？
    options: [{value: "yes", label: 需要}, {value: "no", label: 不需要}]
items:
  - item: enterprise_establishment
  - item: seal_engraving
    when: {need_seal: "yes"}
    after: [enterprise_establishment]
  - item: invoice_application
    when: {need_invoice: "yes"}
    after: [seal_engraving]
""",
        encoding="utf-8",
    )
    catalog_load_directory(path=catalog_dir)

    result = guide_for_bundle(
        code="enterprise_opening", answers={"need_invoice": "yes", "need_seal": "no"}
    )
    assert result.version == 2
    assert [(i.code, i.stage, i.after) for i in result.items] == [
        ("enterprise_establishment", 1, []),
        ("invoice_application", 2, ["enterprise_establishment"]),
    ]
    with_seal = guide_for_bundle(
        code="enterprise_opening", answers={"need_invoice": "yes", "need_seal": "yes"}
    )
    assert [(i.code, i.stage) for i in with_seal.items] == [
        ("enterprise_establishment", 1),
        ("seal_engraving", 2),
        ("invoice_application", 3),
    ]


def test_anonymous_results_are_reused_until_the_catalog_changes(
    resident, catalog_dir, django_assert_num_queries
):
    first = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY)
    # Same answers in another order: the same result, without touching the database again
    # beyond the one catalog check every call makes in tests.
    with django_assert_num_queries(1):
        again = guide_for_bundle(
            code="birth", answers=dict(reversed(BORN_HERE_MARRIED_LOCALLY.items()))
        )
    assert again is first

    # A resident's result depends on their profile: never taken from, nor put in, the memo.
    profile, _ = resident
    personal = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY, applicant=profile)
    assert personal is not first and personal.materials_spared == 2
    assert guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY) is first

    # Loading a changed catalog drops every memoised result.
    catalog_load_directory(path=catalog_dir)  # same content, but a new snapshot
    edit(catalog_dir / "bundles/birth.yaml", "promised_days: 10", "promised_days: 12")
    catalog_load_directory(path=catalog_dir)
    changed = guide_for_bundle(code="birth", answers=BORN_HERE_MARRIED_LOCALLY)
    assert changed is not first
    assert (first.promised_days, changed.promised_days) == (10, 12)
