"""减材料 by e-certificate: the guide spares a material a valid certificate of the applicant
proves, the case records which certificate, the submit checks again, the reviewer of an item
that needs the material sees the certificate verified now, and certificate claims prefill the
form. On the catalog test fixture's 出生一件事, with one certificate type loaded here."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import (
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
    StaffFactory,
)
from tongban.cases import services
from tongban.cases.errors import CaseFormInvalid
from tongban.cases.models import Application, MaterialSubmission, Task
from tongban.cases.selectors import case_detail, form_prefill, task_view_for_reviewer
from tongban.cases.services import MaterialInput, Upload
from tongban.cases.tests.conftest import BIRTH_ANSWERS, FIXTURES, PNG, birth_form
from tongban.catalog.guide import guide_for_bundle
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.certificates import evidence
from tongban.certificates import selectors as cert_selectors
from tongban.certificates.models import Certificate
from tongban.certificates.services import (
    certificate_issue,
    certificate_revoke,
    certificate_types_load,
)
from tongban.common.models import AuditEvent

# The demo's 出生医学证明, issued by the fixture's health department, valid ten years (the
# demo's never expires; a validity is needed to test expiry).
BIRTH_CERTIFICATE_TYPE = """\
code: birth_medical_certificate
name: 出生医学证明
department: health
holder: person
validity_days: 3650
claims:
  - {name: certificate_no, label: 出生医学证明编号}
  - {name: child_name, label: 新生儿姓名}
  - {name: birth_date, label: 出生日期, type: date}
  - {name: institution, label: 接生机构}
display: [certificate_no, child_name]
disclosable: [child_name, birth_date]
"""
NAME = "birth_medical_certificate"


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Keys and status lists live in the test's database, which is rolled back after it.
    cert_selectors.trust_list_cache_clear()
    cert_selectors.status_cache_clear()
    evidence.verified_cache_clear()
    yield
    cert_selectors.trust_list_cache_clear()
    evidence.verified_cache_clear()


@pytest.fixture
def types(catalog, tmp_path):
    folder = tmp_path / "certificate_types"
    folder.mkdir()
    (folder / f"{NAME}.yaml").write_text(BIRTH_CERTIFICATE_TYPE, encoding="utf-8")
    return certificate_types_load(directory=folder)


def issue(profile, *, days_ago: int = 0):
    claims = {
        "certificate_no": "示例O310000001",
        "child_name": "张小宝",
        "birth_date": "2026-11-20",
        "institution": "示例市第一妇婴保健院",
    }
    return certificate_issue(
        type_code=NAME,
        holder_profile=profile,
        claims=claims,
        actor_label="system:test",
        valid_from=timezone.now() - dt.timedelta(days=days_ago) if days_ago else None,
    )


def revoke(cert):
    issuer = StaffFactory(department=Department.objects.get(code="health"), role=StaffRole.ISSUER)
    return certificate_revoke(certificate=cert, actor=issuer, reason="示例：证照信息有误")


def material(guide, code=NAME):
    return next(m for m in guide.materials if m.code == code)


def expected_reason(cert) -> str:
    day = timezone.localtime(cert.expires_at).date()
    return (
        f"您已有电子证照「出生医学证明」（有效期至{day.year}年{day.month}月{day.day}日），无需提交"
    )


def photo_only() -> dict:
    return {"child_photo": MaterialInput(how="upload", files=(Upload("photo.png", PNG),))}


def submit(resident, materials, key="k1"):
    return services.case_submit(
        applicant=resident.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(resident),
        materials=materials,
        idempotency_key=key,
    )


# ---------------------------------------------------------------- the guide


def test_guide_spares_a_material_a_valid_certificate_proves(types, resident):
    cert = issue(resident)
    guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
    m = material(guide)
    assert (m.spared, m.spared_reason) == (True, expected_reason(cert))
    assert m.evidence == {
        "kind": "certificate",
        "type": NAME,
        "serial": cert.serial,
        "holder_role": "applicant",
    }
    # Expires ten years after issue, shown in Shanghai's calendar.
    assert cert.expires_at == cert.issued_at + dt.timedelta(days=3650)
    # Two items ask for it (出生登记, 预防接种证): one material, spared once.
    assert m.items == ["birth_registration", "vaccination_certificate"]
    assert guide.materials_spared == 3  # with the profile's 户口簿 and 身份证


def test_guide_does_not_spare_without_a_valid_certificate(types, resident, other_resident):
    def spared():
        guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
        return (material(guide).spared, material(guide).spared_reason, material(guide).evidence)

    assert spared() == (False, "", {})  # none at all
    issue(other_resident)
    assert spared() == (False, "", {})  # someone else's
    issue(resident, days_ago=3651)
    assert spared() == (False, "", {})  # expired
    cert = issue(resident)
    assert spared()[0] is True
    revoke(cert)
    assert spared() == (False, "", {})  # revoked: at once, whatever was verified before
    # Anonymous: no provider is asked, so nothing is spared and nothing is evidence.
    anonymous = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS)
    assert (material(anonymous).spared, material(anonymous).evidence) == (False, {})


def test_a_certificate_whose_signature_fails_spares_nothing(types, resident):
    cert = issue(resident)
    # A row whose stored text no longer verifies (altered after signing) proves nothing.
    tail = "AAAAAA" if not cert.text.endswith("AAAAAA") else "BBBBBB"
    cert.text = cert.text[:-6] + tail
    cert.save(update_fields=["text"])
    guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
    assert material(guide).spared is False


def test_one_certificate_query_per_guide_run(types, resident):
    issue(resident)
    guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)  # warm caches
    with CaptureQueriesContext(connection) as ctx:
        guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
    assert material(guide).spared is True
    on_certificates = [q for q in ctx.captured_queries if "certificates_" in q["sql"]]
    assert len(on_certificates) == 1


# ---------------------------------------------------------------- the case


def test_submit_records_the_certificate_and_the_counts(types, resident, staff):
    cert = issue(resident)
    case = submit(resident, photo_only())
    rows = sorted(
        MaterialSubmission.objects.filter(case=case).values_list(
            "material_code", "how", "certificate_serial", "note"
        )
    )
    assert rows == [
        (NAME, "waived", cert.serial, expected_reason(cert)),
        ("child_photo", "upload", "", ""),
        (
            "household_register",
            "waived",
            "",
            "您的居民档案中已有户籍所在区，由公安人口信息核验，无需提交",
        ),
        (
            "parent_id_card",
            "waived",
            "",
            "您的居民档案中已有身份证号码，由公安人口信息核验，无需提交",
        ),
    ]
    spared_by = next(m["spared_by"] for m in case.plan["materials"] if m["code"] == NAME)
    assert spared_by == {
        "kind": "certificate",
        "type": NAME,
        "serial": cert.serial,
        "holder_role": "applicant",
    }
    detail = case_detail(user=resident.user, receipt_no=case.receipt_no)
    assert detail["material_counts"] == {
        "required": 4,
        "submitted": 1,
        "waived": 3,
        "committed": 0,
        "deferred": 0,
        "source_retry": 0,
    }


def test_a_certificate_revoked_after_the_guide_does_not_waive_at_submit(types, resident, staff):
    cert = issue(resident)
    guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
    assert material(guide).spared is True
    revoke(cert)
    # The submit runs the guide again: the material is required once more.
    with pytest.raises(CaseFormInvalid) as caught:
        submit(resident, photo_only())
    assert caught.value.code == "CASE_FORM_INVALID"
    assert {"field": NAME, "message": "请提交出生医学证明"} in caught.value.details
    assert Application.objects.count() == 0
    assert MaterialSubmission.objects.count() == 0
    materials = {
        **photo_only(),
        NAME: MaterialInput(how="upload", files=(Upload("出生证明.png", PNG),)),
    }
    case = submit(resident, materials, key="k2")
    row = MaterialSubmission.objects.get(case=case, material_code=NAME)
    assert (row.how, row.certificate_serial) == ("upload", "")
    assert case_detail(user=resident.user, receipt_no=case.receipt_no)["material_counts"] == {
        "required": 4,
        "submitted": 2,
        "waived": 2,
        "committed": 0,
        "deferred": 0,
        "source_retry": 0,
    }


# ---------------------------------------------------------------- the reviewer


def test_reviewer_sees_the_certificate_verified_only_for_their_items_materials(
    types, resident, staff
):
    cert = issue(resident)
    case = submit(resident, photo_only())
    police_task = Task.objects.get(case=case, item_code="birth_registration")
    view = task_view_for_reviewer(user=staff.reviewer["police"], task_id=police_task.pk)
    shown = {m["code"]: m for m in view["spared_materials"]}
    assert shown[NAME]["reason"] == expected_reason(cert)
    assert shown[NAME]["certificate"] == {
        "serial": cert.serial,
        "type": NAME,
        "type_name": "出生医学证明",
        "issuer": "市卫生健康委员会",
        "issued_at": cert.issued_at,
        "expires_at": cert.expires_at,
        "validity": expected_reason(cert)[
            len("您已有电子证照「出生医学证明」（") : -len("），无需提交")
        ],
        "state": "valid",
        "verification": "valid",
        "verification_message": "证照有效：签名正确，在有效期内，未被撤销。",
        "verified": True,
        "claims": [
            {"name": "certificate_no", "label": "出生医学证明编号", "value": "示例O310000001"},
            {"name": "child_name", "label": "新生儿姓名", "value": "张小宝"},
            {"name": "birth_date", "label": "出生日期", "value": "2026-11-20"},
            {"name": "institution", "label": "接生机构", "value": "示例市第一妇婴保健院"},
        ],
    }
    assert shown["household_register"]["certificate"] is None  # the profile names no record
    # Waived materials are evidence, not submissions.
    assert [m["code"] for m in view["materials"]] == []
    read = AuditEvent.objects.filter(action="personal_data.read", object_id=case.receipt_no)
    assert read.get().data == {
        "task": police_task.pk,
        "fields": sorted(view["form"]),
        "certificates": [cert.serial],
        "post": "市公安局（审核岗）",
    }

    # 医保参保 does not need the birth certificate: its reviewer sees neither it nor its data.
    medicare_task = Task.objects.get(case=case, item_code="medical_insurance_enrolment")
    other = task_view_for_reviewer(user=staff.reviewer["medicare"], task_id=medicare_task.pk)
    assert NAME not in {m["code"] for m in other["spared_materials"]}
    assert all(m["certificate"] is None for m in other["spared_materials"])
    assert "certificates" not in read.exclude(data__task=police_task.pk).get().data

    # Revoked since: the reviewer sees it is no longer valid.
    revoke(cert)
    cert_selectors.status_cache_clear()
    again = task_view_for_reviewer(user=staff.reviewer["police"], task_id=police_task.pk)
    certificate = next(m for m in again["spared_materials"] if m["code"] == NAME)["certificate"]
    assert (certificate["state"], certificate["verification"], certificate["verified"]) == (
        "revoked",
        "revoked",
        False,
    )


def test_task_page_shows_the_certificate_table(client, types, resident, staff):
    cert = issue(resident)
    case = submit(resident, photo_only())
    task = Task.objects.get(case=case, item_code="birth_registration")
    client.force_login(staff.reviewer["police"])
    html = client.get(f"/staff/tasks/{task.pk}/").content.decode()
    assert f'<table class="fields certificate-evidence" id="evidence-{NAME}">' in html
    assert f"<code>{cert.serial}</code>" in html
    assert "证照有效：签名正确，在有效期内，未被撤销。" in html
    assert '<tr><th scope="row">新生儿姓名</th><td>张小宝</td></tr>' in html


def test_case_pages_show_the_material_counts(client, types, resident, staff):
    issue(resident)
    case = submit(resident, photo_only())
    expected = '<dd id="material-counts">共需 4 份；已上传 1 份，免提交 3 份</dd>'
    client.force_login(resident.user)
    assert expected in client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    body = client.get(f"/api/v1/cases/{case.receipt_no}").json()
    assert body["material_counts"] == {
        "required": 4,
        "submitted": 1,
        "waived": 3,
        "committed": 0,
        "deferred": 0,
        "source_retry": 0,
    }


# ---------------------------------------------------------------- prefill


def test_form_prefill_takes_a_certificate_claim(db, tmp_path):
    folder = tmp_path / "catalog"
    shutil.copytree(FIXTURES, folder)
    person = folder / "elements" / "person.yaml"
    text = person.read_text(encoding="utf-8")
    text = text.replace(
        "  - code: child.name\n    label: 新生儿姓名\n    type: text\n    sensitivity: 2\n",
        "  - code: child.name\n    label: 新生儿姓名\n    type: text\n    sensitivity: 2\n"
        "    prefill:\n      - {source: certificate, certificate_type: birth_medical_certificate,"
        " field: child_name}\n",
    )
    person.write_text(text, encoding="utf-8")
    catalog_load_directory(path=folder)
    types_folder = tmp_path / "certificate_types"
    types_folder.mkdir()
    (types_folder / f"{NAME}.yaml").write_text(BIRTH_CERTIFICATE_TYPE, encoding="utf-8")
    certificate_types_load(directory=types_folder)
    resident = ResidentProfileFactory()

    def prefill():
        return form_prefill(user=resident.user, kind="bundle", code="birth", answers=BIRTH_ANSWERS)

    assert "child.name" not in prefill()
    cert = issue(resident)
    values = prefill()
    assert values["child.name"] == "张小宝"
    assert values["applicant.name"] == resident.name  # the profile still fills its own
    revoke(cert)
    assert "child.name" not in prefill()


# ---------------------------------------------------------------- the demo city


def test_demo_catalog_id_card_certificate_comes_before_the_profile(db):
    from tongban.catalog.guide import guide_for_item
    from tongban.certificates.tests.conftest import DEMO_TYPES, id_card_claims

    catalog_load_directory(path=DEMO_TYPES.parent)
    certificate_types_load(directory=DEMO_TYPES)
    resident = ResidentProfileFactory()
    answers = {"applicant_role": "self"}

    def card():
        guide = guide_for_item(code="SH-CL-0101", answers=answers, applicant=resident)
        return material(guide, "applicant_id_card")

    # Without the certificate, the profile's ID number spares it (no record to link).
    assert (card().spared, card().evidence) == (True, {})
    assert card().spared_reason.startswith("您的居民档案中已有")
    cert = certificate_issue(
        type_code="resident_id_card",
        holder_profile=resident,
        claims=id_card_claims(resident),
        actor_label="system:test",
    )
    day = timezone.localtime(cert.expires_at).date()
    assert card().spared_reason == (
        f"您已有电子证照「居民身份证」（有效期至{day.year}年{day.month}月{day.day}日），无需提交"
    )
    assert card().evidence == {
        "kind": "certificate",
        "type": "resident_id_card",
        "serial": cert.serial,
        "holder_role": "applicant",
    }


def test_an_agent_is_spared_what_their_enterprise_already_holds(db):
    """企业经办人: the enterprise's own 营业执照 spares the licence for the enterprise it acts
    for — not for the person alone, and not for an enterprise they do not act for."""
    from tongban.accounts.tests.factories import EnterpriseFactory
    from tongban.catalog.guide import guide_for_item, item_questions
    from tongban.certificates.tests.conftest import DEMO_TYPES
    from tongban.demo.certificates import _enterprise_plan

    catalog_load_directory(path=DEMO_TYPES.parent)
    certificate_types_load(directory=DEMO_TYPES)
    agent = ResidentProfileFactory()
    company = EnterpriseFactory(agents=[agent.user])
    elsewhere = EnterpriseFactory()
    code, claims, _issued = next(_enterprise_plan(company))
    cert = certificate_issue(
        type_code=code, holder_enterprise=company, claims=claims, actor_label="system:test"
    )
    answers = {q.code: q.options[0].value for q in item_questions(code="SH-GA-0201")}

    def licence(enterprise):
        guide = guide_for_item(
            code="SH-GA-0201", answers=answers, applicant=agent, enterprise=enterprise
        )
        return material(guide, "business_license")

    acting = licence(company)
    assert acting.spared is True
    assert acting.spared_reason.startswith("企业已有电子证照「营业执照」")
    assert acting.evidence == {
        "kind": "certificate",
        "type": code,
        "serial": cert.serial,
        "holder_role": "enterprise",
    }
    assert licence(None).spared is False
    assert licence(elsewhere).spared is False


def test_a_certificate_held_for_an_older_child_never_spares_the_newborns(types, resident):
    """A parent's wallet holds the older child's 出生医学证明 (holder_user); applying for the
    newborn, the material is still asked for: the guide cannot tell which child it is about."""
    older_child = ResidentProfileFactory(user=None)
    cert = issue(older_child)
    Certificate.objects.filter(pk=cert.pk).update(holder_user=resident.user)
    guide = guide_for_bundle(code="birth", answers=BIRTH_ANSWERS, applicant=resident)
    assert material(guide).spared is False


def test_prefill_offers_an_agent_only_what_the_enterprise_page_shows_them(db):
    """一企一档 has one rule: a plain 经办人 sees the legal representative's name masked, so
    the form does not hand it to them in full either; the legal representative gets it."""
    from tongban.accounts.models import EnterpriseMembership
    from tongban.accounts.tests.factories import EnterpriseFactory
    from tongban.catalog.guide import item_questions
    from tongban.certificates.tests.conftest import DEMO_TYPES

    catalog_load_directory(path=DEMO_TYPES.parent)
    agent = ResidentProfileFactory()
    rep = ResidentProfileFactory()
    company = EnterpriseFactory(agents=[agent.user], legal_representative="张三丰")
    EnterpriseMembershipFactory(
        user=rep.user, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    answers = {q.code: q.options[0].value for q in item_questions(code="SH-SCJ-0102")}

    def prefill(who):
        return form_prefill(
            user=who.user, kind="item", code="SH-SCJ-0102", answers=answers, enterprise=company
        )

    as_agent = prefill(agent)
    assert as_agent["enterprise.name"] == company.name
    assert "enterprise.legal_representative" not in as_agent
    assert prefill(rep)["enterprise.legal_representative"] == "张三丰"
