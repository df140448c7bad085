"""政策兑现 for staff: figures by department, and reviews of lost eligibility decided by the
policy's department only, with the person's data read through a logged use."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tongban.accounts.models import ResidentProfile, StaffAssignment
from tongban.accounts.tests.factories import ResidentProfileFactory, UserFactory
from tongban.catalog.models import Department
from tongban.catalog.services import catalog_load_directory
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice
from tongban.policies import services
from tongban.policies.errors import ReviewNotFound
from tongban.policies.models import EligibilityReview, PolicyGrant

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)


def _staff(code: str, role: str):
    user = UserFactory()
    StaffAssignment.objects.create(
        user=user, department=Department.objects.get(code=code), role=role
    )
    return user


@pytest.fixture
def review(db, eight_policies):
    catalog_load_directory(path=eight_policies)
    elder = ResidentProfileFactory(
        user=UserFactory(), name="王示例", birth_date=dt.date(1950, 5, 1), hukou_is_local=True
    )
    services.policy_match_run(today=TODAY, triggered_by="test")
    ResidentProfile.objects.filter(pk=elder.pk).update(hukou_is_local=False)
    services.policy_match_run(today=dt.date(2027, 1, 4), triggered_by="test")
    return EligibilityReview.objects.get()


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_department_sees_figures_and_the_review_and_reading_it_is_logged(client, review):
    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    html = _text(client.get("/staff/policies/"))
    assert "老年综合津贴（70至79周岁）" in html and "资格复核（1件待处理）" in html
    assert "差一项：本市户籍" in html
    # What the decision needs (the use's fields), nothing more: no ID number, phone, address.
    assert "<dt>姓名</dt><dd>王示例</dd> <dt>出生日期</dt><dd>1950年5月1日</dd>" in html
    assert "身份证" not in html and "手机" not in html
    read = AuditEvent.objects.get(action="personal_data.read")
    assert (read.subject_resident_id, read.data["use"]) == (
        review.match.profile_id,
        "eligibility_review",
    )
    assert "退役军人优待证" not in html  # another department's policy
    assert 'href="/staff/policies/"' in _text(client.get("/staff/"))


def test_stopping_needs_a_reason_ends_the_benefit_and_tells_the_person(client, review):
    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    refused = client.post(f"/staff/policies/reviews/{review.pk}/", {"decision": "stopped"})
    assert refused.status_code == 422 and "停止享受须写明理由" in _text(refused)
    review.refresh_from_db()
    assert review.status == "pending"
    response = client.post(
        f"/staff/policies/reviews/{review.pk}/",
        {"decision": "stopped", "note": "户籍已迁出本市"},
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.note) == ("stopped", "户籍已迁出本市")
    assert review.match.ended_at is not None
    person = review.match.profile
    notice = Notice.objects.get(recipient=person.user, category="policy_stopped")
    assert "理由：户籍已迁出本市" in notice.body
    services.policy_match_run(today=dt.date(2027, 2, 3), triggered_by="test")
    assert not PolicyGrant.objects.filter(profile=person, period="2027-02").exists()


def test_continuing_keeps_the_benefit(review):
    reviewer = _staff("SH-MZJ", "reviewer")
    services.eligibility_review_decide(actor=reviewer, review_id=review.pk, decision="continued")
    services.policy_match_run(today=dt.date(2027, 2, 3), triggered_by="test")
    assert PolicyGrant.objects.filter(profile=review.match.profile, period="2027-02").exists()
    assert EligibilityReview.objects.count() == 1  # not asked again


@pytest.mark.parametrize(
    ("department", "role"), [("SH-GA", "department_lead"), ("SH-MZJ", "acceptor")]
)
def test_anyone_else_cannot_decide_and_nothing_changes(client, review, department, role):
    other = _staff(department, role)
    with pytest.raises(ReviewNotFound):
        services.eligibility_review_decide(
            actor=other, review_id=review.pk, decision="stopped", note="x"
        )
    client.force_login(other)
    response = client.post(
        f"/staff/policies/reviews/{review.pk}/", {"decision": "stopped", "note": "x"}
    )
    assert response.status_code == 404
    review.refresh_from_db()
    assert review.status == "pending" and review.match.ended_at is None
    assert not AuditEvent.objects.filter(action="policies.review_decide").exists()


def test_residents_do_not_get_the_staff_page(client, review):
    client.force_login(review.match.profile.user)
    assert client.get("/staff/policies/").status_code == 404
    assert (
        client.post(f"/staff/policies/reviews/{review.pk}/", {"decision": "continued"}).status_code
        == 404
    )


def test_one_policy_by_district_and_month_for_its_department_only(client, review):
    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    html = _text(client.get("/staff/policies/SH-MZJ-P002/"))
    person = review.match.profile
    district = dict(person._meta.get_field("hukou_district").choices)[person.hukou_district]
    assert (
        f'<th scope="row" data-label="户籍区">{district}</th><td data-label="符合">1</td>' in html
    )
    assert '<th scope="row" data-label="月份">2026年12月</th>' in html
    assert '<th scope="row" data-label="月份">2027年1月</th>' in html
    assert "王示例" not in html  # aggregates only
    client.force_login(_staff("SH-GA", "department_lead"))
    assert client.get("/staff/policies/SH-MZJ-P002/").status_code == 404
    client.force_login(_staff("SH-ZWFW", "city_operator"))
    assert client.get("/staff/policies/SH-MZJ-P002/").status_code == 200
    assert client.get("/staff/policies/NOPE/").status_code == 404


def test_the_figures_count_who_applied_after_being_found(client, eight_policies):
    from django.utils import timezone

    from tongban.cases.models import Application
    from tongban.catalog.models import Department

    catalog_load_directory(path=eight_policies)
    found = ResidentProfileFactory(
        birth_date=dt.date(1980, 1, 1), disability_grade=1, is_low_income=True
    )
    services.policy_match_run(today=TODAY, triggered_by="test")
    for n, profile in enumerate([found, ResidentProfileFactory()]):
        # 困难残疾人生活补贴 is applied for through SH-MZJ-0201: one by whom it found, one by
        # somebody else (who does not count).
        Application.objects.create(
            receipt_no=f"T{n:012d}", kind="item", code="SH-MZJ-0201", version=1,
            name="困难残疾人生活补贴", applicant=profile.user, applicant_profile=profile,
            lead_department=Department.objects.get(code="SH-MZJ"), status="submitted",
            idempotency_key=f"k{n}", request_fingerprint="f", submitted_at=timezone.now(),
        )  # fmt: skip
    client.force_login(_staff("SH-MZJ", "department_lead"))
    html = _text(client.get("/staff/policies/"))
    row = html.split('href="/staff/policies/SH-MZJ-P005/"')[1].split("</tr>")[0]
    cells = re.findall(r'data-label="([^"]+)">([^<]*)<', row)
    assert cells == [
        ("兑现方式", "精准推送"), ("符合", "1"), ("已告知", "1"), ("已申请", "1"),
        ("自动办理", "0"), ("本人放弃", "0"), ("待复核", "0"),
    ]  # fmt: skip


def test_the_owner_previews_a_new_version_on_a_page_and_nothing_changes(client, review):
    from tongban.policies.models import PolicyMatch

    lead = _staff("SH-MZJ", "department_lead")
    client.force_login(lead)
    url = "/staff/policies/SH-MZJ-P002/whatif/"
    assert 'href="/staff/policies/SH-MZJ-P002/whatif/"' in _text(
        client.get("/staff/policies/SH-MZJ-P002/")
    )
    current = client.get(url).content.decode()
    assert "code: SH-MZJ-P002" in current
    source = re.search(r'<textarea id="whatif-definition"[^>]*>(.*?)</textarea>', current, re.S)
    text = html.unescape(source.group(1))
    # 70–79 opened to non-local residents: the reviewed elder qualifies again.
    wider = text.replace("op: is_true\n    text: 本市户籍", "op: is_false\n    text: 非本市户籍")
    assert wider != text
    matches = PolicyMatch.objects.count()
    shown = _text(client.post(url, {"definition": wider}))
    assert (
        "按新版本，现在符合 <strong>1</strong>人："
        "新增 <strong>0</strong>，不再符合 <strong>0</strong>" in shown
    )
    assert PolicyMatch.objects.count() == matches
    assert AuditEvent.objects.filter(action="policies.whatif", actor=lead).count() == 1

    broken = text.replace("resident.hukou_is_local", "resident.no_such_thing")
    refused = client.post(url, {"definition": broken})
    assert refused.status_code == 422
    assert re.search(r"第\d+行：eligibility.*未知的数据元：resident.no_such_thing", _text(refused))
    other = client.post(url, {"definition": text.replace("SH-MZJ-P002", "SH-MZJ-P099")})
    assert other.status_code == 422 and "定义中的 code 应为 SH-MZJ-P002" in _text(other)

    client.force_login(_staff("SH-GA", "department_lead"))
    assert client.get(url).status_code == 404
    assert client.post(url, {"definition": wider}).status_code == 404


def test_a_reviewer_holding_the_case_sees_the_applicants_policy_explanation(
    client, db, eight_policies
):
    from django.utils import timezone as tz

    from tongban.cases.models import Application, Task
    from tongban.cases.receipt import receipt_new

    catalog_load_directory(path=eight_policies)
    elder = ResidentProfileFactory(
        user=UserFactory(), birth_date=dt.date(1950, 5, 1), hukou_is_local=True
    )
    department = Department.objects.get(code="SH-MZJ")
    case = Application.objects.create(
        receipt_no=receipt_new(on=tz.localdate()), kind="item", code="SH-MZJ-0302", version=1,
        name="老年综合津贴申领", applicant=elder.user, applicant_profile=elder,
        lead_department=department, status="accepted", idempotency_key="k",
        request_fingerprint="f", submitted_at=tz.now(),
    )  # fmt: skip
    task = Task.objects.create(
        case=case, item_code="SH-MZJ-0302", item_version=1, item_name="老年综合津贴申领",
        department=department, status="pending",
    )  # fmt: skip
    outsider = _staff("SH-GA", "reviewer")
    client.force_login(outsider)
    assert client.get(f"/staff/tasks/{task.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(purpose__endswith="核对政策资格").exists()

    client.force_login(_staff("SH-MZJ", "reviewer"))
    page = _text(client.get(f"/staff/tasks/{task.pk}/"))
    assert (
        "<li><strong>老年综合津贴（70至79周岁）</strong>：符合：年满70周岁（1950年出生）；"
        "未满80周岁（1950年出生）；本市户籍</li>"
    ) in page
    assert "<li><strong>老年综合津贴（65至69周岁）</strong>：差一项：未满70周岁</li>" in page
    read = AuditEvent.objects.get(purpose="审核老年综合津贴申领：核对政策资格")
    assert (read.subject_resident_id, read.object_id) == (elder.pk, case.receipt_no)
