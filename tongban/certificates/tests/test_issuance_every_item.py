"""统一发证 for every demo item: each item that declares outputs, applied for alone and approved,
is issued exactly those certificates. A type whose claims have no `source:` for some required
claim would be skipped silently ("缺少必填内容"); this test is what keeps the YAML honest."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.utils.timezone import localdate

from tongban.accounts.models import AssuranceLevel, District, StaffRole
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.accounts.validators import make_credit_code, make_id_number
from tongban.cases import services
from tongban.cases.models import Task
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.cases.tests.test_services_demo_catalog import DEMO
from tongban.catalog.guide import bundle_questions, guide_for_bundle, guide_for_item, item_questions
from tongban.catalog.models import Department
from tongban.catalog.selectors import bundle_definition, element_definitions, item_definition
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.issuance import case_certificates_issue
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_types_load
from tongban.demo.form_samples import sample_value

# Values an approving department creates when the item concludes (`produces:` in its YAML);
# anything else an item produces takes its element's sample value.
PRODUCED = {
    "child.id_number": make_id_number("310104", dt.date(2026, 11, 20), 2),
    "enterprise.uscc": make_credit_code(region=District.PUDONG.value, seq=987),
}


def _items_with_outputs() -> list[str]:
    codes = []
    for path in sorted((DEMO / "items").glob("*.yaml")):
        item = yaml.safe_load(path.read_text(encoding="utf-8"))
        if item.get("outputs"):
            codes.append(item["code"])
    return codes


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def demo(db, media):
    catalog_load_directory(path=DEMO)
    certificate_types_load(directory=DEMO / "certificate_types")


# 统一发证 cannot serve these items applied for alone: the holder is the newborn, whose ID
# number only 出生登记 creates. Inside the 出生一件事 they are issued (see
# test_gap_items_issue_inside_their_bundle). Items whose own approval creates a value
# (出生登记, 企业设立登记, 残疾人证办理) record it at approval, alone or in a bundle.
STANDALONE_GAPS = {
    "SH-WJW-0101": ("birth", "表单中没有持证人的公民身份号码"),
    "SH-WJW-0102": ("birth", "表单中没有持证人的公民身份号码"),
}
# Also issued inside their 一件事, with the value recorded by a reviewer there too.
PRODUCING_ITEMS = {
    "SH-CL-0101": "disability_services",
    "SH-GA-0101": "birth",
    "SH-SCJ-0101": "enterprise_opening",
}


# Answers that include the gap item in its 一件事 (first options do otherwise).
BUNDLE_ANSWERS = {"disability_services": {"has_disability_certificate": "no"}}


def _concluded_case(kind: str, code: str):
    resident = ResidentProfileFactory()
    # Registered online with 实名认证, as a person applying for 不动产登记 or 低保 online is.
    resident.user.assurance_level = AssuranceLevel.REAL_NAME
    resident.user.save(update_fields=["assurance_level"])
    if kind == "item":
        item = item_definition(code)
        subject, lead, founds = item.subject, item.department, "enterprise.uscc" in item.produces
        questions = item_questions(code=code)
    else:
        bundle = bundle_definition(code)
        subject, lead, founds = bundle.subject, bundle.lead_department, True
        questions = bundle_questions(code=code)
    # 企业开办 founds the enterprise it concerns; other enterprise items act for one the
    # applicant is 经办人 of.
    enterprise = None
    if subject == "enterprise" and not founds:
        enterprise = EnterpriseFactory(agents=[resident.user])
    answers = {q.code: q.options[0].value for q in questions}
    answers.update(BUNDLE_ANSWERS.get(code, {}) if kind == "bundle" else {})
    guide_for = guide_for_item if kind == "item" else guide_for_bundle
    guide = guide_for(code=code, answers=answers, applicant=resident)
    form = sample_form(guide)
    if enterprise is not None:
        # The form speaks of the enterprise the case is for, as the portal's prefill makes it.
        for name in ("uscc", "name", "legal_representative"):
            if f"enterprise.{name}" in form:
                form[f"enterprise.{name}"] = getattr(enterprise, name)
    materials = sample_uploads(guide)
    case = services.case_submit(
        applicant=resident.user,
        kind=kind,
        code=code,
        answers=guide.answers,
        form_data=form,
        materials=materials,
        idempotency_key=f"every-{code}",
        enterprise=enterprise,
    )
    if case.status == "submitted":
        acceptor = StaffFactory(
            department=Department.objects.get(code=lead), role=StaffRole.ACCEPTOR
        )
        services.case_accept(actor=acceptor, receipt_no=case.receipt_no)
    for _round in range(8):
        open_tasks = list(Task.objects.filter(case=case, status="pending"))
        if not open_tasks:
            break
        for task in open_tasks:
            wanted = [p["code"] for p in services.produced_by(case, task.item_code)]
            made = element_definitions(wanted)
            produced = {
                c: PRODUCED[c] if c in PRODUCED else sample_value(made[c], n=0, today=localdate())
                for c in wanted
            }
            services.task_decide(
                reviewer=StaffFactory(department=task.department, role=StaffRole.REVIEWER),
                task_id=task.pk,
                decision="approved",
                reason="",
                expected_row_version=task.row_version,
                produced=produced or None,
            )
    case.refresh_from_db()
    assert (case.outcome, case.concluded_at is not None) == ("approved", True)
    return case


@pytest.mark.parametrize("code", _items_with_outputs())
def test_every_demo_item_issues_its_outputs(demo, code):
    item = item_definition(code)
    case = _concluded_case("item", code)

    report = case_certificates_issue(receipt_no=case.receipt_no)

    expected = sorted(o.certificate_type for o in item.outputs)
    issued = sorted(
        Certificate.objects.filter(source_receipt_no=case.receipt_no).values_list(
            "type__code", flat=True
        )
    )
    if code in STANDALONE_GAPS:
        reason = STANDALONE_GAPS[code][1]
        assert (issued, sorted(s["type"] for s in report.skipped)) == ([], expected)
        assert {s["reason"] for s in report.skipped} == {reason}
        return
    assert report.skipped == []
    assert sorted(e["type"] for e in report.issued) == expected
    assert issued == expected


@pytest.mark.parametrize(
    ("code", "bundle"),
    sorted({**{c: b for c, (b, _r) in STANDALONE_GAPS.items()}, **PRODUCING_ITEMS}.items()),
)
def test_gap_items_issue_inside_their_bundle(demo, code, bundle):
    item = item_definition(code)
    case = _concluded_case("bundle", bundle)
    assert code in set(case.tasks.values_list("item_code", flat=True))

    report = case_certificates_issue(receipt_no=case.receipt_no)

    assert [s for s in report.skipped if s["item"] == code] == []
    expected = sorted(o.certificate_type for o in item.outputs)
    assert sorted(e["type"] for e in report.issued if e["item"] == code) == expected


def test_claims_take_choice_values_labels_and_the_holders_own_record(demo):
    case = _concluded_case("item", "SH-GJJ-0101")
    case_certificates_issue(receipt_no=case.receipt_no)
    cert = Certificate.objects.get(source_receipt_no=case.receipt_no)
    # An integer claim keeps the chosen value ("5"), not its label ("5%").
    assert cert.claims["contribution_rate"] == int(case.form_data["housing_fund.deposit_ratio"])
    assert cert.claims["uscc"] == case.enterprise.uscc
    assert cert.claims["unit_account_no"] == f"{case.receipt_no}-SH-GJJ-0101"
    assert cert.holder_enterprise_id == case.enterprise_id

    case = _concluded_case("item", "SH-GA-0201")
    case_certificates_issue(receipt_no=case.receipt_no)
    cert = Certificate.objects.get(source_receipt_no=case.receipt_no)
    # A text claim shows the choice's label.
    labels = {c.value: c.label for c in element_definitions(["seal.set"])["seal.set"].choices}
    assert cert.claims["seal_kinds"] == labels[case.form_data["seal.set"]]
    assert cert.claims["seal_kinds"] != case.form_data["seal.set"]
