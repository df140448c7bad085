"""Evidence belongs to a person: a certificate spares a material only when it is held by the
person or body the material is about (`about`), and what an earlier item of the same 一件事
issues is never asked of the applicant. On the demo catalog and certificate types."""

from __future__ import annotations

import itertools

import pytest

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.catalog.guide import bundle_questions, guide_for_bundle, guide_for_item
from tongban.catalog.models import Bundle
from tongban.catalog.selectors import bundle_definition, item_definition
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_issue
from tongban.certificates.tests.conftest import DEMO_TYPES, id_card_claims, license_claims

BIRTH = {
    "applicant_relation": "mother",
    "parents_marital": "married",
    "born_in_city": "yes",
    "multiple_birth": "no",
    "hukou_follows": "mother",
    "maternity_insured": "yes",
}


@pytest.fixture
def demo(types):
    catalog_load_directory(path=DEMO_TYPES.parent)


def _id_card(profile):
    return certificate_issue(
        type_code="resident_id_card",
        holder_profile=profile,
        claims=id_card_claims(profile),
        actor_label="system:test",
    )


def _material(guide, code):
    return next(m for m in guide.materials if m.code == code)


def _parents(demo):
    mother = ResidentProfileFactory(name="李静", sex="F")
    father = ResidentProfileFactory(name="王强", sex="M")
    return mother, _id_card(mother), father, _id_card(father)


def test_the_mothers_card_never_spares_the_fathers(demo):
    mother, mother_card, _father, _card = _parents(demo)
    known = {"mother.id_number": mother.id_number, "mother.name": mother.name}
    guide = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother, form_values=known)
    own, his = _material(guide, "mother_id_card"), _material(guide, "father_id_card")
    assert (own.spared, own.evidence["serial"], own.evidence["holder_role"]) == (
        True,
        mother_card.serial,
        "mother",
    )
    assert (his.spared, his.evidence, his.about) == (False, {}, "father")
    # Not known yet: the form asks for his number first, then checks.
    assert his.identify_by == "父亲公民身份号码"


def test_the_fathers_own_card_spares_his_material_once_the_form_names_him(demo):
    mother, _mc, father, father_card = _parents(demo)
    known = {
        "mother.id_number": mother.id_number,
        "mother.name": mother.name,
        "father.id_number": father.id_number.lower(),  # a typed lower-case x still matches
        "father.name": father.name,
    }
    guide = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother, form_values=known)
    his = _material(guide, "father_id_card")
    assert (his.spared, his.evidence["serial"], his.identify_by) == (True, father_card.serial, "")
    assert his.spared_reason.startswith("已按父亲的公民身份号码核验其电子证照「居民身份证」")


@pytest.mark.parametrize(
    "typed",
    [
        {"father.name": "王刚"},  # right number, someone else's name
        {"father.id_number": "110101199001011234"},  # not a valid number
        {"father.id_number": ""},
    ],
)
def test_a_person_not_identified_exactly_spares_nothing(demo, typed):
    mother, _mc, father, _fc = _parents(demo)
    known = {
        "mother.id_number": mother.id_number,
        "father.id_number": father.id_number,
        "father.name": father.name,
        **typed,
    }
    guide = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother, form_values=known)
    assert _material(guide, "father_id_card").spared is False


def test_the_applicant_who_is_not_the_mother_does_not_spare_the_mothers_card(demo):
    _mother, _mc, father, _fc = _parents(demo)
    # The father applies and leaves the mother's number empty: his card is not hers.
    guide = guide_for_bundle(
        code="birth",
        answers={**BIRTH, "applicant_relation": "father"},
        applicant=father,
        form_values={"father.id_number": father.id_number, "father.name": father.name},
    )
    assert _material(guide, "mother_id_card").spared is False
    assert _material(guide, "father_id_card").spared is True


def test_what_the_bundle_issues_is_never_asked(demo):
    mother, *_ = _parents(demo)
    guide = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother)
    produced = {m.code: (m.produced_by, m.spared, m.evidence) for m in guide.materials}
    assert produced["birth_medical_certificate"] == (
        "SH-WJW-0101",
        True,
        {
            "kind": "produced",
            "item": "SH-WJW-0101",
            "certificate_type": "birth_medical_certificate",
        },
    )
    assert produced["child_household_register_page"][:2] == ("SH-GA-0101", True)
    assert _material(guide, "birth_medical_certificate").spared_reason == (
        "由本次办理的「出生医学证明签发」办结后生成，无需提交"
    )
    # Born elsewhere: no item of this case issues the 出生医学证明, so it is asked for.
    elsewhere = guide_for_bundle(
        code="birth", answers={**BIRTH, "born_in_city": "no"}, applicant=mother
    )
    m = _material(elsewhere, "birth_medical_certificate")
    assert (m.produced_by, m.spared) == ("", False)


def test_an_agents_own_card_never_spares_the_legal_representatives(demo):
    agent = ResidentProfileFactory(name="赵经办")
    _id_card(agent)
    rep = ResidentProfileFactory(name="钱法人")
    company = EnterpriseFactory(
        agents=[agent.user],
        legal_representative=rep.name,
        legal_representative_id_number=rep.id_number,
    )
    certificate_issue(
        type_code="business_license",
        holder_enterprise=company,
        claims=license_claims(company),
        actor_label="system:test",
    )
    answers = {}

    def rep_card(enterprise):
        guide = guide_for_item(
            code="SH-GA-0201", answers=answers, applicant=agent, enterprise=enterprise
        )
        return _material(guide, "legal_rep_id_card")

    assert rep_card(company).spared is False  # the representative holds no e-card yet
    rep_cert = _id_card(rep)
    found = rep_card(company)
    assert (found.spared, found.evidence["serial"]) == (True, rep_cert.serial)
    assert found.evidence["holder_role"] == "legal_representative"
    assert rep_card(None).spared is False


def _combinations(code):
    questions = bundle_questions(code=code)
    for values in itertools.product(*[[o.value for o in q.options] for q in questions]):
        yield dict(zip([q.code for q in questions], values, strict=True))


def test_every_demo_bundle_spares_only_with_the_holders_own_evidence(demo):
    """For every bundle and every set of answers, with a demo resident who holds certificates
    of every person type and acts for an enterprise holding a licence: nothing a bundle
    issues is asked of the applicant, and every certificate that spares a material is held by
    the person or body the material is about."""
    resident = ResidentProfileFactory(name="孙示例")
    company = EnterpriseFactory(agents=[resident.user])
    _id_card(resident)
    certificate_issue(
        type_code="business_license",
        holder_enterprise=company,
        claims=license_claims(company),
        actor_label="system:test",
    )
    someone = ResidentProfileFactory(name="周他人")
    _id_card(someone)
    checked = 0
    for bundle in Bundle.objects.order_by("code"):
        definition = bundle_definition(bundle.code)
        enterprise = company if definition.subject == "enterprise" else None
        for answers in _combinations(bundle.code):
            try:
                guide = guide_for_bundle(
                    code=bundle.code, answers=answers, applicant=resident, enterprise=enterprise
                )
            except Exception:  # noqa: S112 - an answer set the guide refuses is not a case
                continue
            after = {i.code: set(i.after) for i in guide.items}

            def earlier(code, after=after):
                seen, todo = set(), list(after.get(code, ()))
                while todo:
                    current = todo.pop()
                    if current not in seen:
                        seen.add(current)
                        todo.extend(after.get(current, ()))
                return seen

            issued = {
                (o.certificate_type, o.holder): i.code
                for i in guide.items
                for o in item_definition(i.code, i.version).outputs
            }
            for m in guide.materials:
                about_types = {
                    w.certificate_type
                    for code in m.items
                    for mat in item_definition(code).materials
                    if mat.code == m.code
                    for w in mat.waivable_by
                    if w.kind == "certificate"
                }
                for t in about_types:
                    by = issued.get((t, m.about))
                    if by is not None and all(by in earlier(c) for c in m.items):
                        assert m.evidence.get("kind") == "produced", (bundle.code, m.code)
                        assert m.spared and m.produced_by == by, (bundle.code, m.code)
                if m.evidence.get("kind") == "certificate":
                    cert = Certificate.objects.get(serial=m.evidence["serial"])
                    if m.about == "enterprise":
                        assert cert.holder_enterprise_id == company.pk, (bundle.code, m.code)
                    else:
                        # Their own, for themself or for the person they said they are.
                        said = answers.get(definition.applicant_person_question or "", "")
                        assert m.about in ("applicant", said), (bundle.code, m.code)
                        assert cert.holder_profile_id == resident.pk, (bundle.code, m.code)
                checked += 1
    assert checked > 500


def test_every_demo_output_can_be_issued_and_an_optional_source_is_refused(demo, tmp_path):
    """预防接种证's 接种单位 comes from the form: an item that leaves it optional could end
    approved without its certificate, so loading the types says so and changes nothing."""
    import shutil

    from tongban.catalog.services import catalog_load_directory as load
    from tongban.certificates.errors import CertificateTypesInvalid
    from tongban.certificates.loader import read_certificate_types

    assert len(read_certificate_types(DEMO_TYPES)) == 29
    folder = tmp_path / "definitions"
    shutil.copytree(DEMO_TYPES.parent, folder)
    item = folder / "items" / "SH-WJW-0102.yaml"
    text = item.read_text(encoding="utf-8")
    item.write_text(
        text.replace(
            "  - vaccination.clinic\n", "  - code: vaccination.clinic\n    required: false\n"
        ),
        encoding="utf-8",
    )
    load(path=folder)
    with pytest.raises(CertificateTypesInvalid) as caught:
        read_certificate_types(folder / "certificate_types")
    assert [str(p) for p in caught.value.problems] == [
        "vaccination_certificate.yaml:12: claims[4].source: 事项 SH-WJW-0102 签发本证照时无法取得"
        "必填内容「接种单位」：来源数据元须在该事项中必填，或由审批产生"
    ]


def test_the_birth_confirmation_is_the_form_itself(demo):
    """新生儿出生信息确认单 is the birth data the form asks (在线填写): nothing to upload, and the
    fields say the 助产机构 holds the true values."""
    mother, *_ = _parents(demo)
    guide = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother)
    m = _material(guide, "birth_record_confirmation")
    assert (m.spared, m.evidence["kind"]) == (True, "form")
    assert m.spared_reason == (
        "已在本申请表中在线填写（子女出生日期、出生时间、子女性别、出生体重（克）等），无需另行提交"
    )
    hospital = {f.code for f in guide.fields if f.supplied_by == "助产机构"}
    assert hospital == {
        "child.birth_time",
        "child.birth_hospital",
        "child.birth_weight",
        "child.birth_length",
        "child.gestational_weeks",
    }


def _married(profile, spouse):
    return certificate_issue(
        type_code="marriage_certificate",
        holder_profile=profile,
        claims={
            "certificate_no": f"J310104-{profile.pk:08d}",
            "holder_name": profile.name,
            "holder_id_number": profile.id_number,
            "spouse_name": spouse.name,
            "spouse_id_number": spouse.id_number,
            "registered_on": "2020-05-20",
            "registry": "示例市徐汇区民政局婚姻登记处",
        },
        actor_label="system:test",
    )


@pytest.mark.parametrize("who", ["mother", "father"])
def test_the_applicant_fills_their_own_persons_fields_and_the_spouse_comes_from_the_marriage(
    demo, who
):
    """The mother applying is not asked her own name and number again, and her 结婚证 names
    the father; the father applying, the other way round. Nobody's data lands in another's
    fields, and with both identified each parent's own ID card spares their material."""
    from tongban.cases.selectors import form_prefill

    mother, mother_card, father, father_card = _parents(demo)
    _married(mother, father)
    _married(father, mother)
    applicant = mother if who == "mother" else father
    answers = {**BIRTH, "applicant_relation": who}
    values = form_prefill(user=applicant.user, kind="bundle", code="birth", answers=answers)
    assert (values["mother.name"], values["mother.id_number"]) == (mother.name, mother.id_number)
    assert (values["father.name"], values["father.id_number"]) == (father.name, father.id_number)
    guide = guide_for_bundle(code="birth", answers=answers, applicant=applicant, form_values=values)
    asked = {f.code for f in guide.fields}
    assert "mother.phone" in asked and "father.phone" not in asked
    # Her own phone is hers to prefill; his is not on her record.
    assert values.get("mother.phone") == (mother.phone if who == "mother" else None)
    assert _material(guide, "mother_id_card").evidence["serial"] == mother_card.serial
    assert _material(guide, "father_id_card").evidence["serial"] == father_card.serial


def test_a_guardian_applying_gets_neither_parents_fields(demo):
    from tongban.cases.selectors import form_prefill

    mother, *_ = _parents(demo)
    answers = {**BIRTH, "applicant_relation": "guardian"}
    values = form_prefill(user=mother.user, kind="bundle", code="birth", answers=answers)
    assert not {k for k in values if k.startswith(("mother.", "father."))}
    assert values["applicant.name"] == mother.name


def test_the_guide_counts_the_applicants_own_card_for_the_person_they_said_they_are(demo):
    """Before any form: the mother who answered 您是新生儿的？母亲 is spared her own ID card
    as 母亲居民身份证; answering 其他监护人, she is not (her card is not the mother's)."""
    mother, card, *_ = _parents(demo)
    as_mother = guide_for_bundle(code="birth", answers=BIRTH, applicant=mother)
    assert _material(as_mother, "mother_id_card").evidence["serial"] == card.serial
    assert _material(as_mother, "father_id_card").spared is False
    as_guardian = guide_for_bundle(
        code="birth", answers={**BIRTH, "applicant_relation": "guardian"}, applicant=mother
    )
    assert _material(as_guardian, "mother_id_card").spared is False


def test_a_record_value_the_field_would_refuse_is_not_offered(demo):
    """A 结婚证 of the synthetic population names no spouse: nothing invalid is prefilled."""
    from tongban.cases.selectors import form_prefill

    mother, *_ = _parents(demo)
    certificate_issue(
        type_code="marriage_certificate",
        holder_profile=mother,
        claims={
            "certificate_no": "J310104-00000001",
            "holder_name": mother.name,
            "holder_id_number": mother.id_number,
            "spouse_name": "（示例）配偶",
            "spouse_id_number": "（示例）未登记",
            "registered_on": "2020-05-20",
            "registry": "示例市徐汇区民政局婚姻登记处",
        },
        actor_label="system:test",
    )
    values = form_prefill(user=mother.user, kind="bundle", code="birth", answers=BIRTH)
    assert values["father.name"] == "（示例）配偶"
    assert "father.id_number" not in values
