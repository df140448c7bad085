"""Walking a journey in Chromium as the people in it do: each person in their own browser
window at the same width (a phone, 390×844, or a desktop, 1280 px), logging in as they do
(staff with their one-time code), going through the pages they use, and every page they see
looked at the way a reviewer looks at a screenshot: it does not scroll sideways (at either
width), it speaks Chinese, it has no placeholder, and axe finds nothing."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlencode

import pyotp
from django.utils import timezone

from tongban.accounts.models import ResidentProfile
from tongban.accounts.validators import make_credit_code
from tongban.cases.models import Application, Task
from tongban.cases.receipt import receipt_display
from tongban.catalog.guide import bundle_questions
from tongban.catalog.selectors import element_definitions
from tongban.demo.accounts import DEMO_PASSWORD, demo_totp_secret, department_slug
from tongban.demo.form_samples import sample_value
from tongban.tests.test_accessibility import AXE, _axe_violations

from .conftest import PDF

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Latin words a Chinese page may carry: file formats, and the service hotline's name.
_LATIN_ALLOWED = {"PDF", "JPG", "PNG", "JPEG", "QR"}
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9@._/-])[A-Za-z]{3,}(?![A-Za-z0-9@._/-])")


def answers_for(code: str, profile: ResidentProfile, **chosen: str) -> dict[str, str]:
    """The answers a person gives on the guide: `chosen` where given, else the first option of
    each question their profile does not already answer."""
    answers: dict[str, str] = {}
    while True:
        pending = [
            q
            for q in bundle_questions(code=code, answers=answers, applicant=profile)
            if q.applies and q.code not in answers and not q.known
        ]
        if not pending:
            return answers
        q = pending[0]
        answers[q.code] = chosen.get(q.code, q.options[0].value)


def fill_empty(page, within: str = ".apply-fields") -> None:
    """What a person types where nothing is filled in yet: each element's 示例值, or a value
    it accepts."""
    boxes = page.locator(
        f"{within} input[name^='field.']:not([type=radio]), {within} select[name^='field.']"
    ).all()
    codes = [b.get_attribute("name")[len("field.") :] for b in boxes]
    elements = element_definitions(codes)
    today = timezone.localdate()
    for n, (box, code) in enumerate(zip(boxes, codes, strict=True)):
        if box.input_value():
            continue
        value = sample_value(elements[code], n=n, today=today)
        if box.evaluate("e => e.tagName") == "SELECT":
            if value is None:  # 预约时段: the first hall and day, then its first time
                picker = page.locator(f"#{box.get_attribute('id')}-day")
                if picker.count():
                    picker.select_option(index=1)
                box.select_option(index=1)
                continue
            box.select_option("true" if value is True else str(value))
        else:
            box.fill(str(value))


def widths_scrolling_sideways(page, own: dict[str, int], other: dict[str, int]) -> list[int]:
    """The widths, of OWN and OTHER, at which PAGE scrolls sideways; it is left at OWN."""
    wide = []
    for size in (other, own):
        page.set_viewport_size(size)
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            wide.append(size["width"])
    return wide


class Walk:
    """The people of one journey, each in their own window of the same size."""

    def __init__(self, page, size: dict[str, int]):
        self.browser = page.context.browser
        self.base_url = page.base_url
        self.size = size
        self.other_size = DESKTOP if size == PHONE else PHONE
        self.pages: dict[str, object] = {}
        self.seen: list[str] = []  # every path looked at, for the test's own record

    # -------------------------------------------------------------- people and pages

    def _window(self):
        context = self.browser.new_context(
            locale="zh-CN", base_url=self.base_url, viewport=self.size
        )
        context.set_default_timeout(30_000)  # a journey's heavy pages on a slow machine
        return context.new_page()

    def _password(self, username: str):
        page = self._window()
        page.goto("/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        return page

    def resident(self, username: str):
        """The person's window, logged in with their password."""
        if username not in self.pages:
            page = self._password(username)
            page.wait_for_url("**/me/")
            self.look(page)
            self.pages[username] = page
        return self.pages[username]

    def staff(self, username: str):
        """A staff member's window, logged in with password and their 6-digit code."""
        if username not in self.pages:
            page = self._password(username)
            page.wait_for_url("**/accounts/login/code/**")
            code = page.get_by_label("6位动态验证码")
            code.fill(pyotp.TOTP(demo_totp_secret(username)).now())
            code.press("Enter")
            page.wait_for_url("**/staff/")
            self.look(page)
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()

    # -------------------------------------------------------------- looking at a page

    def look(self, page, *, axe: bool = False) -> str:
        """What a reviewer checks on a screenshot; returns the page's main text."""
        page.wait_for_load_state()
        path = page.url[len(self.base_url) :]
        self.seen.append(path)
        # Each journey is walked once, at the size its person uses; every page on the way is
        # laid out at the other size too, so neither a phone nor a desktop scrolls sideways
        # anywhere the journey goes.
        wide = widths_scrolling_sideways(page, self.size, self.other_size)
        assert not wide, f"{path} scrolls sideways at {wide} px"
        text = page.locator("main").inner_text()
        assert "即将上线" not in text, path
        latin = {w for w in _LATIN_WORD.findall(text) if w.upper() not in _LATIN_ALLOWED}
        assert not latin, f"{path} shows {sorted(latin)}"
        if axe and AXE.exists():
            assert _axe_violations(page) == [], path
        shots = os.environ.get("TONGBAN_WALK_SCREENSHOTS")
        if shots:  # for a person to look at: every page of the walk, in order
            name = f"{self.size['width']}-{len(self.seen):02d}-{re.sub(r'[^a-z0-9]+', '_', path)}"
            height = page.evaluate("document.documentElement.scrollHeight")
            width = self.size["width"]
            for n, top in enumerate(range(0, height, 1600)):  # a tall page in readable parts
                clip = {"x": 0, "y": top, "width": width, "height": min(1600, height - top)}
                out = Path(shots) / f"{name[:80]}-{n}.png"
                page.screenshot(path=str(out), full_page=True, clip=clip)
        return text

    def errors(self, page) -> str:
        summary = page.locator(".error-summary")
        return summary.inner_text() if summary.count() else ""

    # -------------------------------------------------------------- the applicant

    def apply(
        self,
        username: str,
        *,
        kind: str,
        code: str,
        answers: dict[str, str] | None,
        delivery: str,
        on_step=None,
        on_materials=None,
        uploads: str = "required",
    ) -> Application:
        """Fill the form step by step, as the person does, up to the confirmation.

        `on_step(page, step)` may look at or fill a step first; `on_materials(page)` sees the
        materials step before anything is uploaded. Every material still asked and required
        gets a file (`uploads="required"`): only what nothing spared."""
        page = self.resident(username)
        if answers is not None:  # else the person came here from the guide
            page.goto(f"/apply/{kind}/{code}/?{urlencode(answers)}")
        page.wait_for_url(f"**/apply/{kind}/{code}/?*")
        self.look(page, axe=True)
        page.get_by_role("link", name="开始填写").click()
        page.wait_for_url("**/step/*/")
        while "/check/" not in page.url:
            step = page.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
            self.look(page, axe=step in ("materials", "delivery"))
            if on_step is not None:
                on_step(page, step)
            if step == "materials":
                if on_materials is not None:
                    on_materials(page)
                for box in page.locator("input[type=file]").all():
                    material = box.get_attribute("name")[len("file.") :]
                    legend = page.locator(f"#material-{material} legend").inner_text()
                    if "非必需" in legend:
                        continue
                    box.set_input_files(
                        {"name": f"{material}.pdf", "mimeType": "application/pdf", "buffer": PDF}
                    )
            elif step == "delivery":
                page.get_by_label(delivery, exact=True).check()
                page.wait_for_load_state()
            fill_empty(page)
            page.get_by_role("button", name="保存并继续").click()
            page.wait_for_load_state()
            assert not self.errors(page), (step, self.errors(page))
        self.look(page, axe=True)
        before = Application.objects.count()
        page.get_by_role("button", name="提交申请").click()
        page.wait_for_url("**/submitted/")
        text = self.look(page, axe=True)
        assert Application.objects.count() == before + 1
        case = Application.objects.order_by("-pk").first()
        assert receipt_display(case.receipt_no) in text
        return case

    # -------------------------------------------------------------- the back office

    def accept(self, case: Application, acceptor: str) -> None:
        """The lead department's acceptor opens the case from the intake queue and accepts."""
        case.refresh_from_db()
        if case.status != "submitted":
            return  # every intake check machine-verifiable: accepted on submission
        page = self.staff(acceptor)
        page.goto("/staff/intake/")
        self.look(page)
        page.get_by_role("link", name=receipt_display(case.receipt_no)).click()
        self.look(page, axe=True)
        page.get_by_role("button", name="受理", exact=True).click()
        page.wait_for_url(f"**/staff/intake/{case.receipt_no}/")
        assert page.locator("#case-status").inner_text() == "已受理，办理中"
        case.refresh_from_db()
        assert case.status == "accepted"

    def review_all(self, case: Application, *, produced: dict[str, str] | None = None) -> None:
        """Each department's reviewer takes the case's task from their queue and approves it,
        wave after wave as the order of items allows, until none is pending. Data an item
        produces is recorded as offered (the suggested ID number) or from `produced`."""
        produced = produced or {}
        for _wave in range(10):
            pending = list(
                Task.objects.filter(case=case, status="pending").select_related("department")
            )
            if not pending:
                break
            for task in pending:
                reviewer = f"{department_slug(task.department.code)}_reviewer"
                page = self.staff(reviewer)
                page.goto("/staff/tasks/")
                self.look(page)
                row = page.locator("table tbody tr", has_text=task.item_name).filter(
                    has_text=receipt_display(case.receipt_no)
                )
                row.get_by_role("link", name=receipt_display(case.receipt_no)).click()
                page.wait_for_url(f"**/staff/tasks/{task.pk}/")
                self.look(page, axe=True)
                claim = page.get_by_role("button", name="认领任务")
                if claim.count():
                    claim.click()
                    page.wait_for_url(f"**/staff/tasks/{task.pk}/")
                page.get_by_label("通过（准予）").check()
                for box in page.locator("input[name^='produced.']").all():
                    element = box.get_attribute("name")[len("produced.") :]
                    if not box.input_value():
                        box.fill(produced[element])
                page.get_by_role("button", name="提交审核决定").click()
                page.wait_for_url(f"**/staff/tasks/{task.pk}/")
                assert page.get_by_text("审核决定已保存。").is_visible(), self.errors(page)
                self.look(page)
        assert not Task.objects.filter(case=case, status__in=["pending", "waiting"]).exists()

    def hand_out(self, case: Application, issuer: str, *, tracking: str = "") -> None:
        """The hall's issuer hands the results over the counter (or posts them, with the
        tracking number) and archives the case."""
        page = self.staff(issuer)
        page.goto("/staff/handout/")
        self.look(page)
        page.get_by_role("link", name=receipt_display(case.receipt_no)).click()
        self.look(page, axe=True)
        if case.delivery == "post":
            page.get_by_label("快递单号").fill(tracking)
        page.get_by_role("button", name="确认出件并归档").click()
        page.wait_for_url("**/staff/handout/")
        text = self.look(page)
        assert f"已出件，办件 {receipt_display(case.receipt_no)} 已归档。" in text
        case.refresh_from_db()
        assert case.status == "archived"

    # -------------------------------------------------------------- after

    def follow(self, username: str, case: Application) -> str:
        """The applicant's case page, reached from 我的办件."""
        page = self.resident(username)
        page.goto("/me/cases/")
        self.look(page)
        row = page.locator("table.my-cases tbody tr", has_text=receipt_display(case.receipt_no))
        row.locator("th a").click()
        page.wait_for_url(f"**/me/cases/{case.receipt_no}/")
        return self.look(page, axe=True)

    def wallet(self, username: str) -> str:
        page = self.resident(username)
        page.goto("/me/certificates/")
        return self.look(page, axe=True)

    def rate(self, username: str, case: Application, level: str = "非常满意") -> None:
        """From the case page's 去评价, every question answered, one comment."""
        page = self.resident(username)
        page.goto(f"/me/cases/{case.receipt_no}/")
        page.locator("#rate-link").click()
        page.wait_for_url(f"**/reviews/rate/{case.receipt_no}/**")
        self.look(page, axe=True)
        for group in page.locator("fieldset.question").all():
            group.get_by_label(level, exact=True).check()
        page.get_by_label("意见和建议（可选，最多500字）").fill("办理顺利，不用跑腿。")
        page.get_by_role("button", name="提交评价").click()
        page.wait_for_load_state()
        assert not self.errors(page)
        self.look(page)


def new_credit_code(seq: int) -> str:
    return make_credit_code(region="310115", seq=seq)
