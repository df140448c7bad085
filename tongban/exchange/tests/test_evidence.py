"""The data-source evidence provider inside the guide (一次告知): it spares a material only
with an answer about the person or body the material is about, for an item the source
authorises, asks each (source, subject) once per run, reuses a young answer, and says which
source could not be asked when one is down."""

from __future__ import annotations

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.catalog.guide import guide_for_item, item_questions
from tongban.exchange import breaker
from tongban.exchange.models import SourceLookup
from tongban.exchange.tests import platform_fixtures as pf
from tongban.exchange.tests.platform_fixtures import (
    FATHER_ID,
    MOTHER_ID,
    NOBODY_ID,
    USCC,
)

# The fixtures this module uses.
catalog, demo_server, exchange, registry = pf.catalog, pf.demo_server, pf.exchange, pf.registry

BIRTH_REGISTRATION = "SH-GA-0101"
PARENTS = {
    "mother.id_number": MOTHER_ID,
    "mother.name": "李静",
    "father.id_number": FATHER_ID,
    "father.name": "王强",
}


def answers_for(code):
    return {q.code: q.options[0].value for q in item_questions(code=code)}


def _birth(applicant, form=PARENTS):
    return guide_for_item(
        code=BIRTH_REGISTRATION,
        answers={"parents_marital": "married", "hukou_follows": "mother"},
        applicant=applicant,
        form_values=form,
    )


def _material(guide, code):
    return next(m for m in guide.materials if m.code == code)


def test_the_mothers_record_spares_her_card_and_never_the_fathers(exchange):
    guide = _birth(ResidentProfileFactory())
    hers, his = _material(guide, "mother_id_card"), _material(guide, "father_id_card")
    assert (hers.spared, hers.spared_reason) == (
        True,
        "已按母亲的身份信息由公安人口库核验（示例市公安局），无需提交",
    )
    lookup = SourceLookup.objects.get(pk=hers.evidence["lookup_id"])
    assert hers.evidence == {
        "kind": "data_source",
        "source": "t_population",
        "source_name": "公安人口库",
        "department": "示例市公安局",
        "answered_at": lookup.at.isoformat(),
        "value_hash": lookup.value_hash,
        "lookup_id": lookup.pk,
        "holder_role": "mother",
    }
    # His record says his card is not valid: not spared, and nobody claims it is down.
    assert (his.spared, his.evidence, his.unavailable_source) == (False, {}, "")
    # One question per person, each with only what the proofs need, for the item's department.
    rows = SourceLookup.objects.order_by("pk")
    assert [(r.elements, r.requester_department, r.requester_item) for r in rows] == [
        (["id_valid"], "SH-GA", BIRTH_REGISTRATION),
        (["id_valid"], "SH-GA", BIRTH_REGISTRATION),
    ]
    assert {r.purpose for r in rows} == {"办理「出生登记」核验申请材料"}


def test_an_unknown_father_is_not_found_and_spares_nothing(exchange):
    guide = _birth(ResidentProfileFactory(), {**PARENTS, "father.id_number": NOBODY_ID})
    his = _material(guide, "father_id_card")
    assert (his.spared, his.unavailable_source) == (False, "")
    assert set(SourceLookup.objects.values_list("outcome", flat=True)) == {"found", "not_found"}


def test_a_name_that_is_not_the_numbers_holders_spares_nothing(exchange):
    ResidentProfileFactory(id_number=MOTHER_ID, name="李静")
    guide = _birth(ResidentProfileFactory(), {**PARENTS, "mother.name": "张冒名"})
    assert _material(guide, "mother_id_card").spared is False
    # Her record was not even asked for.
    assert SourceLookup.objects.count() == 1


def test_rendering_the_guide_again_reuses_the_answer(exchange):
    applicant = ResidentProfileFactory()
    first = _material(_birth(applicant), "mother_id_card")
    again = _material(_birth(applicant), "mother_id_card")
    assert again.evidence["lookup_id"] == first.evidence["lookup_id"]
    assert SourceLookup.objects.count() == 2


def test_a_source_that_is_down_is_named_and_spares_nothing(exchange):
    exchange.set_fault("t_population", "error:503")
    guide = _birth(ResidentProfileFactory())
    hers = _material(guide, "mother_id_card")
    assert (hers.spared, hers.unavailable_source, hers.unavailable_source_code) == (
        False,
        "公安人口库",
        "t_population",
    )


def test_once_the_circuit_is_open_the_guide_does_not_wait_for_the_source(exchange):
    exchange.set_fault("t_population", "slow:3")
    applicant = ResidentProfileFactory()
    _birth(applicant)
    _birth(applicant)  # four timed-out questions: the circuit opens
    assert breaker.state("t_population") == "open"
    asked = SourceLookup.objects.count()
    guide = _birth(applicant)
    assert SourceLookup.objects.count() == asked  # nothing sent
    assert _material(guide, "mother_id_card").unavailable_source == "公安人口库"


def test_the_enterprise_is_asked_by_credit_code_for_an_authorised_item_only(exchange):
    agent = ResidentProfileFactory()
    enterprise = EnterpriseFactory(uscc=USCC, agents=[agent.user])
    guide = guide_for_item(
        code="SH-SWJ-0101",
        answers=answers_for("SH-SWJ-0101"),
        applicant=agent,
        enterprise=enterprise,
    )
    licence = _material(guide, "business_license")
    assert (licence.spared, licence.evidence["source"], licence.evidence["holder_role"]) == (
        True,
        "t_market",
        "enterprise",
    )
    row = SourceLookup.objects.get(source="t_market")
    assert (row.subject_enterprise_id, row.subject_profile_id) == (enterprise.pk, None)
    # 住房公积金 is not in the market register's scenario list: not asked, not spared.
    guide = guide_for_item(
        code="SH-GJJ-0101",
        answers=answers_for("SH-GJJ-0101"),
        applicant=agent,
        enterprise=enterprise,
    )
    assert _material(guide, "business_license").spared is False
    assert SourceLookup.objects.filter(source="t_market").count() == 1


def test_two_sources_of_one_name_are_told_apart_by_the_subjects_key(exchange):
    agent = ResidentProfileFactory()
    enterprise = EnterpriseFactory(uscc=USCC, agents=[agent.user])
    guide = guide_for_item(
        code="SH-RSJ-0501",
        answers=answers_for("SH-RSJ-0501"),
        applicant=agent,
        enterprise=enterprise,
    )
    record = _material(guide, "insurance_payment_record")
    assert (record.spared, record.evidence["source"]) == (True, "t_insured_unit")
    assert not SourceLookup.objects.filter(source="t_insured_person").exists()


def test_in_process_household_economy_source(exchange):
    from decimal import Decimal

    from tongban.accounts.models import Household

    home = Household.objects.create(number="示例户001")
    applicant = ResidentProfileFactory(household=home, monthly_income=Decimal("3000.00"))
    ResidentProfileFactory(household=home, monthly_income=Decimal("1000.00"))
    guide = guide_for_item(
        code="SH-MZJ-0101", answers=answers_for("SH-MZJ-0101"), applicant=applicant
    )
    proof = _material(guide, "household_income_proof")
    assert (proof.spared, proof.evidence["source"]) == (True, "t_household_economy")
    from tongban.exchange.services import Requester, source_query

    answer = source_query(
        source="t_household_economy",
        key=applicant.id_number,
        elements=["household_size", "per_capita_monthly_income", "economy_checked"],
        requester=Requester(
            department="SH-MZJ",
            purpose="核对",
            legal_basis="《社会救助暂行办法》（示例）",
            item="SH-MZJ-0101",
        ),
    )
    assert answer.values == {
        "household_size": 2,
        "per_capita_monthly_income": "2000.00",
        "economy_checked": True,
    }


def test_an_income_nobody_reported_does_not_spare_the_proof(exchange):
    applicant = ResidentProfileFactory(monthly_income=None)
    guide = guide_for_item(
        code="SH-MZJ-0101", answers=answers_for("SH-MZJ-0101"), applicant=applicant
    )
    assert _material(guide, "household_income_proof").spared is False


def test_disabled_exchange_changes_nothing(exchange, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = False
    guide = _birth(ResidentProfileFactory())
    hers = _material(guide, "mother_id_card")
    assert (hers.spared, hers.unavailable_source) == (False, "")
    assert SourceLookup.objects.count() == 0


def test_legal_representative_is_asked_by_the_enterprises_record_and_other_by_nobody(exchange):
    agent = ResidentProfileFactory()
    enterprise = EnterpriseFactory(
        uscc=USCC,
        agents=[agent.user],
        legal_representative="李静",
        legal_representative_id_number=MOTHER_ID,
    )
    guide = guide_for_item(
        code="SH-SCJ-0101",
        answers=answers_for("SH-SCJ-0101"),
        applicant=agent,
        enterprise=enterprise,
    )
    card = _material(guide, "legal_rep_id_card")
    assert (card.spared, card.evidence["holder_role"]) == (True, "legal_representative")
    # 股东主体资格证明 (about: other) names no one the platform can ask about.
    investors = _material(guide, "investor_identity_proof")
    assert (investors.spared, investors.unavailable_source) == (False, "")
    assert list(SourceLookup.objects.values_list("source", flat=True)) == ["t_population"]
