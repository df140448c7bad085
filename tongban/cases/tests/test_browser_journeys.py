"""The flagship journeys walked end to end in Chromium, each on the screen its person uses
(a phone, 390×844, or a desktop, 1280 px), by the demo accounts they suit: the applicant
applies with only what they really hold, the lead department accepts, every department's
reviewer decides from their queue, the background worker issues the certificates, the hall
hands the results out where asked, and the applicant follows the case to its end, finds the
certificates in 我的证照 and rates the service. Every page anyone sees on the way is looked
at: no sideways scrolling at either size, no English or raw codes, no placeholder, and axe on
the pages that matter."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

from tongban.accounts.models import EnterpriseMembership, ResidentProfile
from tongban.appointments.models import Booking
from tongban.cases.models import Application, MaterialSubmission, Task
from tongban.cases.receipt import receipt_display
from tongban.catalog.selectors import item_definition
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.models import Certificate
from tongban.certificates.services import certificate_types_load
from tongban.demo.accounts import _FATHER, _MOTHER, department_slug, ensure_demo_accounts
from tongban.demo.certificates import ensure_demo_certificates
from tongban.reviews.models import Rating

from .samples import sample_slot
from .walk import DESKTOP, PDF, PHONE, Walk, answers_for, fill_empty, new_credit_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


# Each journey is walked at the size its person uses, once: a whole journey is about twenty
# seconds of a CPU, and walking each at both sizes made these tests a third of the suite's
# time. Every page a journey passes is still laid out at the other size (Walk.look).
def size_of(size: dict[str, int], name: str):
    return pytest.mark.parametrize("size", [size], ids=[name])


@pytest.fixture
def demo_city():
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    certificate_types_load()
    assert ensure_demo_certificates(max_residents=20, max_enterprises=0) > 0


def run_background_work() -> None:
    """What the platform's worker process does between requests (issuing, notices)."""
    call_command("tasks_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def certificates_due(case: Application) -> list[str]:
    """The certificate types the case's approved items entitle its applicant to, by definition."""
    due = []
    for task in Task.objects.filter(case=case, status="approved"):
        due += [
            o.certificate_type for o in item_definition(task.item_code, task.item_version).outputs
        ]
    return sorted(due)


def certificates_issued(case: Application) -> list[str]:
    return sorted(
        Certificate.objects.filter(source_receipt_no=case.receipt_no).values_list(
            "type__code", flat=True
        )
    )


@size_of(PHONE, "phone")
def test_a_mother_applies_for_her_newborn_and_gets_every_certificate(page, demo_city, size):
    walk = Walk(page, size)
    me = walk.resident("resident1")

    # The guide: she says who she is and what applies; the checklist follows.
    me.goto("/bundles/birth/")
    walk.look(me, axe=True)
    for question, option in (
        ("您是新生儿的？", "母亲"),
        ("新生儿父母的婚姻状况？", "已登记结婚"),
        ("新生儿是否在本市助产机构出生？", "是"),
        ("是否为多胞胎？", "否"),
        ("新生儿户口随父亲还是随母亲申报？", "随母亲"),
        ("申请人（母亲）生育时是否参加本市职工生育保险？", "是"),
    ):
        me.get_by_role("group", name=question).get_by_label(option, exact=True).check()
    me.get_by_role("button", name="生成材料清单").click()
    me.locator(".guide-result").wait_for()
    walk.look(me)
    # Her husband's card is his: the checklist says how it will be spared.
    row = me.locator("table.materials tr", has_text="父亲居民身份证")
    assert row.locator(".identify-by").inner_text().startswith("这是父亲的材料：申请时填写「")
    me.get_by_role("link", name="在线申请").click()
    me.wait_for_url("**/apply/bundle/birth/?*")
    answers = dict(pair.split("=", 1) for pair in me.url.split("?", 1)[1].split("&") if "=" in pair)

    def parents(page, step):
        # She is the mother: her own fields come from her 一人一档, her husband's from their
        # 结婚证 — and each says where it came from.
        if step == "parents":
            for role, person, source in (
                ("mother", _MOTHER, "已从您的档案填入"),
                ("father", _FATHER, "已从您的电子证照「结婚证」填入"),
            ):
                for field in ("name", "id_number"):
                    box = f"#field-{role}-{field}"
                    assert page.locator(box).input_value() == getattr(person, field)
                    assert page.locator(f"{box}-prefilled").inner_text() == source

    def materials(page):
        # Nothing the bundle produces, nothing her family's e-certificates prove.
        for code in ("birth_medical_certificate", "mother_id_card", "father_id_card"):
            assert "无需提交" in page.locator(f"#material-{code}").inner_text(), code

    case = walk.apply(
        "resident1",
        kind="bundle",
        code="birth",
        answers=answers,
        delivery="窗口领取",
        on_step=parents,
        on_materials=materials,
    )
    uploads = MaterialSubmission.objects.filter(case=case, how="upload")
    assert set(uploads.values_list("material_code", flat=True)) <= {"child_photo"}

    walk.accept(case, "wjw_acceptor")
    walk.review_all(case)  # 公安 records the child's ID number it is offered
    run_background_work()
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("concluded", "approved")
    due = certificates_due(case)
    assert "birth_medical_certificate" in due and "household_register_entry" in due
    assert certificates_issued(case) == due

    text = walk.follow("resident1", case)
    assert "待领取" in text
    walk.hand_out(case, "issuer")
    run_background_work()
    text = walk.follow("resident1", case)
    assert "已领取" in text

    # The child's certificates are in her wallet, held for the child.
    child = ResidentProfile.objects.get(name=case.form_data["child.name"])
    wallet = walk.wallet("resident1")
    for cert in Certificate.objects.filter(source_receipt_no=case.receipt_no):
        assert cert.holder_profile_id == child.pk
        assert cert.type.name in wallet

    # She can see who looked at her data on the way, by post, never by name.
    me.goto("/me/data-access/")
    text = walk.look(me, axe=True)
    assert "示例市卫生健康委员会（受理岗）" in text and "受理审查：核对申请人身份" in text

    walk.rate("resident1", case)
    rating = Rating.objects.get(case=case)
    assert rating.rater.username == "resident1"
    print(due, walk.seen)
    walk.close()


@size_of(DESKTOP, "desktop")
def test_a_founder_opens_a_company_and_its_licences_reach_the_enterprise(page, demo_city, size):
    walk = Walk(page, size)
    me = ResidentProfile.objects.get(user__username="agent1")
    # 银行开户预约: the partner bank's desk has places tomorrow; the form books one.
    bank_slot = sample_slot("SH-YH-0101")
    answers = answers_for(
        "enterprise_opening",
        me,
        founder_role="legal_representative",
        premises="leased",
        need_seal="yes",
        hire_employees="yes",
    )

    def as_founder(page, step):
        rep = page.locator("#field-enterprise-legal_rep_id_number")
        if rep.count():  # they will be the legal representative: not asked again
            assert rep.input_value() == me.id_number
        assert page.locator("#field-enterprise-uscc").count() == 0  # 设立登记 gives it

    def materials(page):
        licence = page.locator("#material-business_license").inner_text()
        assert "由本次办理的「企业设立登记」办结后生成，无需提交" in licence
        assert "无需提交" in page.locator("#material-legal_rep_id_card").inner_text()

    case = walk.apply(
        "agent1",
        kind="bundle",
        code="enterprise_opening",
        answers=answers,
        delivery="网上领取",
        on_step=as_founder,
        on_materials=materials,
    )
    asked = set(
        MaterialSubmission.objects.filter(case=case, how="upload").values_list(
            "material_code", flat=True
        )
    )
    assert "business_license" not in asked and "legal_rep_id_card" not in asked
    booked = Booking.objects.get(case=case)
    assert (booked.slot_id, booked.user_id, booked.status) == (bank_slot.pk, me.user_id, "booked")

    walk.accept(case, "scj_acceptor")
    uscc = new_credit_code(4242)
    walk.review_all(case, produced={"enterprise.uscc": uscc})
    run_background_work()
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("archived", "approved")  # online: nothing to collect
    due = certificates_due(case)
    assert "business_license" in due
    assert certificates_issued(case) == due
    held = Certificate.objects.filter(source_receipt_no=case.receipt_no)
    assert {c.holder_enterprise.uscc for c in held} == {uscc}
    # The founder now acts for the new enterprise, as the legal representative they said.
    membership = EnterpriseMembership.objects.get(enterprise__uscc=uscc)
    assert (membership.user.username, membership.role) == ("agent1", "legal_rep")

    text = walk.follow("agent1", case)
    assert "营业执照" in text
    wallet = walk.wallet("agent1")
    for cert in held:
        assert cert.type.name in wallet
    walk.rate("agent1", case)
    assert Rating.objects.get(case=case).rater.username == "agent1"
    walk.close()


@pytest.mark.parametrize(
    ("username", "bundle", "own_certificate", "delivery", "size"),
    [
        # resident3 at her computer; resident2 on her phone, in 长者版.
        ("resident3", "disability_services", "disability_certificate", "网上领取", DESKTOP),
        ("resident2", "elderly_care", "applicant_id_card", "邮寄送达", PHONE),
    ],
    ids=["disability-desktop", "elderly-phone"],
)
def test_a_resident_applies_with_what_they_hold_and_receives_the_results(
    page, demo_city, username, bundle, own_certificate, delivery, size
):
    walk = Walk(page, size)
    me = walk.resident(username)
    if username == "resident2":
        # 长者版 (on her account): the simple home, one question per screen, to the list.
        me.goto("/")
        walk.look(me)
        me.get_by_role("link", name="养老服务一件事").click()
        walk.look(me)
        me.get_by_role("link", name="开始回答").click()
        while me.locator("#step-next").count():
            walk.look(me)
            me.locator(".big-choice").first.click()
            me.locator("#step-next").click()
            me.wait_for_load_state()
        walk.look(me, axe=True)
        me.locator("#apply-online").click()
        answers = None
    else:
        answers = answers_for(bundle, ResidentProfile.objects.get(user__username=username))

    def materials(page):
        own = page.locator(f"#material-{own_certificate}").inner_text()
        assert "您已有电子证照" in own and "无需提交" in own

    case = walk.apply(
        username,
        kind="bundle",
        code=bundle,
        answers=answers,
        delivery=delivery,
        on_materials=materials,
    )
    waived = MaterialSubmission.objects.filter(case=case, how="waived")
    assert waived.filter(material_code=own_certificate).exclude(certificate_serial="").exists()

    walk.accept(case, f"{department_slug(case.lead_department.code)}_acceptor")
    walk.review_all(case)
    run_background_work()
    case.refresh_from_db()
    assert case.outcome == "approved"
    # resident3 holds her 残疾人证 already: her items are subsidies and services, which no
    # certificate records; resident2's 老年人优待卡 is one.
    due = certificates_due(case)
    assert bool(due) == (bundle == "elderly_care")
    assert certificates_issued(case) == due
    if case.delivery == "post":
        walk.hand_out(case, "issuer", tracking="SF1234567890")
        run_background_work()
    case.refresh_from_db()
    assert case.status == "archived"

    text = walk.follow(username, case)
    if case.delivery == "post":
        assert "已寄出" in text
    wallet = walk.wallet(username)
    for cert in Certificate.objects.filter(source_receipt_no=case.receipt_no):
        assert cert.holder_user.username == username
        assert cert.type.name in wallet
    walk.rate(username, case)
    assert Rating.objects.get(case=case).rater.username == username
    walk.close()


@size_of(DESKTOP, "desktop")
def test_a_resident_is_served_at_the_counter_and_collects_at_the_window(page, demo_city, size):
    """resident3 comes to the 市民中心 to renew her ID card: the clerk finds her by ID number,
    files 居民身份证申领 for her with what she brings, 公安 decides, the hall's issuer hands
    the card's result over, and she rates both visits from her phone."""
    walk = Walk(page, size)
    walker = ResidentProfile.objects.get(user__username="resident3")
    clerk = walk.staff("counter")
    clerk.goto("/staff/counter/")
    walk.look(clerk, axe=True)
    clerk.get_by_label("居民身份证号码").fill(walker.id_number)
    clerk.get_by_role("button", name="查找").click()
    walk.look(clerk, axe=True)
    clerk.get_by_role("link", name="居民身份证申领", exact=True).click()
    walk.look(clerk)
    clerk.get_by_role("group", name="申领类型？").get_by_label("有效期满换领").check()
    clerk.get_by_role("button", name="确定情形").click()
    text = walk.look(clerk)
    # What the platform holds of her is not asked, and the clerk reads why.
    assert "免提交：申请人已有电子证照「居民户口簿」" in text
    fill_empty(clerk, within=".form-row")  # what she tells the clerk
    for box in clerk.locator("input[type=file]").all():
        legend = box.locator("xpath=ancestor::fieldset/legend").inner_text()
        if "选填" not in legend:  # what she brought, scanned at the counter
            box.set_input_files(
                {"name": "扫描件.pdf", "mimeType": "application/pdf", "buffer": PDF}
            )
    walk.look(clerk, axe=True)
    clerk.get_by_role("button", name="代为提交申请").click()
    clerk.wait_for_url("**/staff/intake/*/")
    text = walk.look(clerk, axe=True)
    case = Application.objects.exclude(channel="auto").get()
    assert (case.channel, case.filed_by.username, case.applicant_id) == (
        "counter",
        "counter",
        walker.user_id,
    )
    assert f"已代为提交，受理编号 {receipt_display(case.receipt_no)}。" in text

    walk.accept(case, "counter")
    walk.review_all(case)
    run_background_work()
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("concluded", "approved")
    assert certificates_issued(case) == certificates_due(case) == ["resident_id_card"]
    walk.hand_out(case, "issuer")
    run_background_work()

    text = walk.follow("resident3", case)
    assert "已领取" in text and "综合窗口" in text
    # The renewed card replaces the one she had: one 居民身份证 in force.
    cards = Certificate.objects.filter(holder_profile=walker, type__code="resident_id_card")
    new = cards.get(source_receipt_no=case.receipt_no)
    assert [c.revocation_reason for c in cards.exclude(pk=new.pk)] == [
        f"已换发新证（证照编号 {new.serial}）"
    ]
    assert cards.filter(revoked_at__isnull=True).get() == new
    assert "居民身份证" in walk.wallet("resident3")
    walk.rate("resident3", case)
    assert Rating.objects.get(case=case).rater.username == "resident3"
    walk.close()
