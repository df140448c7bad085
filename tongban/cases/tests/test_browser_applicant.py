"""A new mother applies for 出生一件事 on her phone (390×844, Chromium): guide → task list →
one short page per step → 申请材料 (only what she really holds) → 送达方式 → 核对信息 →
submit → confirmation → her case."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tongban.cases.models import Application, MaterialSubmission
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.services import certificate_types_load
from tongban.demo.accounts import _FATHER, _MOTHER, DEMO_PASSWORD, ensure_demo_accounts
from tongban.demo.certificates import ensure_demo_certificates
from tongban.tests.test_accessibility import AXE, _axe_violations

from .walk import fill_empty


def axe(page) -> list[str]:
    """axe-core's WCAG 2.1 A/AA findings (none checked when it is not installed)."""
    return _axe_violations(page) if AXE.exists() else []


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_new_mother_applies_for_the_birth_bundle_on_her_phone(page):
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    # Her family's e-certificates, as the demo city issues them (her husband's too).
    certificate_types_load()
    assert ensure_demo_certificates(max_residents=20, max_enterprises=0) > 0
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill("resident1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    page.goto("/bundles/birth/")

    def answer(question: str, option: str) -> None:
        page.get_by_role("group", name=question).get_by_label(option, exact=True).check()

    answer("您是新生儿的？", "母亲")
    answer("新生儿父母的婚姻状况？", "已登记结婚")
    answer("新生儿是否在本市助产机构出生？", "是")
    answer("是否为多胞胎？", "否")
    answer("新生儿户口随父亲还是随母亲申报？", "随母亲")
    answer("申请人（母亲）生育时是否参加本市职工生育保险？", "是")
    page.get_by_role("button", name="生成材料清单").click()
    page.locator(".guide-result").wait_for()
    page.get_by_role("link", name="在线申请").click()
    page.wait_for_url("**/apply/bundle/birth/?*")

    # The task list: every step, none started.
    tasks = page.locator("ol.task-list > li")
    titles = [t.split("\n")[0] for t in tasks.all_inner_texts()]
    assert titles[:3] == ["申请人信息", "关于子女", "关于父母"]
    assert titles[-3:] == ["申请材料", "送达方式", "核对信息并提交"]
    assert page.locator(".task-state").all_inner_texts()[:-1] == ["未开始"] * (len(titles) - 1)
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("link", name="开始填写").click()

    # 申请人信息: what her 一人一档 holds is already there, and says so.
    page.wait_for_url("**/step/applicant/")
    assert page.locator("#field-applicant-name").input_value() == "李静"
    assert page.locator("#field-applicant-name-prefilled").inner_text() == "已从您的档案填入"
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()

    # 关于子女: sent on empty, every problem is listed and linked; hospital data is marked.
    page.wait_for_url("**/step/child/")
    assert page.locator("#field-child-id_number").count() == 0  # 出生登记 gives it
    assert "子女公民身份号码：由「出生登记」办结时生成" in page.locator("#produced").inner_text()
    assert (
        page.locator("#field-child-birth_weight-supplied").inner_text()
        == "由助产机构提供：请按出院记录填写"
    )
    assert no_sideways_scroll(page) and axe(page) == []
    page.get_by_role("button", name="保存并继续").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "请填写子女姓名" in summary.inner_text()
    summary.get_by_role("link", name="请填写子女姓名").click()
    assert page.evaluate("document.activeElement.id") == "field-child-name"
    assert axe(page) == []
    page.locator("#field-child-name").fill("王小宝")
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()

    # 关于父母: she is the mother, so her own fields come from her 一人一档; whose ID
    # numbers let their own e-certificates spare their ID cards.
    page.wait_for_url("**/step/parents/")
    assert page.locator("#field-mother-id_number").input_value() == _MOTHER.id_number
    for role, person in (("mother", _MOTHER), ("father", _FATHER)):
        page.locator(f"#field-{role}-name").fill(person.name)
        page.locator(f"#field-{role}-id_number").fill(person.id_number)
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()

    # The other short steps, whatever the answers made of them.
    while "/step/materials/" not in page.url:
        page.wait_for_load_state()
        assert no_sideways_scroll(page)
        fill_empty(page)
        page.get_by_role("button", name="保存并继续").click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 0, page.locator("main").inner_text()

    # 申请材料: worked out with what she said. Nothing the bundle produces, nothing her
    # family's e-certificates prove; only the child's photo is hers to give (and optional).
    page.wait_for_url("**/step/materials/")
    assert no_sideways_scroll(page) and axe(page) == []
    produced = "由本次办理的「出生医学证明签发」办结后生成，无需提交"
    assert page.locator("#material-birth_medical_certificate .spared").inner_text() == produced
    for code in ("mother_id_card", "father_id_card", "marriage_certificate"):
        assert "无需提交" in page.locator(f"#material-{code}").inner_text(), code
    asked = [
        n.get_attribute("name")[len("file.") :] for n in page.locator("input[type=file]").all()
    ]
    assert asked == ["child_photo", "residence_permit"]
    # A wrong file beside the right one: the right one is kept, the wrong one named.
    page.locator("#material-child_photo-file").set_input_files(
        [
            {"name": "宝宝照片.png", "mimeType": "image/png", "buffer": PNG},
            {"name": "说明.txt", "mimeType": "text/plain", "buffer": b"not an image"},
        ]
    )
    page.get_by_role("button", name="保存并继续").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert "文件“说明.txt”不是PDF、JPG或PNG格式" in summary.inner_text()
    assert "请重新选择" not in page.locator("main").inner_text()
    assert page.locator("#material-child_photo .file-name").all_inner_texts() == ["宝宝照片.png"]
    assert axe(page) == []
    page.get_by_role("button", name="保存并继续").click()

    page.wait_for_url("**/step/delivery/")
    page.get_by_label("窗口领取").check()
    fill_empty(page)
    page.get_by_role("button", name="保存并继续").click()

    # 核对信息: every answer in words, each group with 修改.
    page.wait_for_url("**/check/")
    main = page.locator("main").inner_text()
    assert "王小宝" in main and "窗口领取" in main
    assert "已上传 宝宝照片.png" in main
    assert re.search(r"母亲居民身份证\s+免交：", main)
    assert no_sideways_scroll(page) and axe(page) == []
    page.locator("#check-group-child .change-link").click()
    page.wait_for_url("**/step/child/?from=check")
    page.locator("#field-child-name").fill("王小乐")
    page.get_by_role("button", name="保存并返回核对信息").click()
    page.wait_for_url("**/check/")
    assert "王小乐" in page.locator("#check-group-child").inner_text()
    assert Application.objects.exclude(channel="auto").count() == 0
    page.get_by_role("button", name="提交申请").click()

    # The confirmation: the number to read aloud, what happens next, where to follow it.
    page.wait_for_url("**/submitted/")
    case = Application.objects.exclude(channel="auto").get()
    shown = page.locator("#receipt-no").inner_text()
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d", shown)
    assert shown.replace(" ", "") == case.receipt_no
    assert case.delivery == "counter" and case.form_data["child.name"] == "王小乐"
    assert no_sideways_scroll(page) and axe(page) == []
    uploads = MaterialSubmission.objects.filter(case=case, how="upload")
    assert list(uploads.values_list("material_code", "original_name")) == [
        ("child_photo", "宝宝照片.png")
    ]
    page.get_by_role("link", name="查看办件详情和进度").click()
    page.wait_for_url(f"**/me/cases/{case.receipt_no}/")
    assert page.locator("h1").inner_text() == "出生一件事"
    page.get_by_role("link", name="返回我的办件").click()
    page.wait_for_url("**/me/cases/")
    row = page.locator("table.my-cases tbody tr")
    assert row.count() == 1
    assert "出生一件事" in row.inner_text() and shown in row.inner_text()
