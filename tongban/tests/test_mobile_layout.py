"""Phones first, in Chromium: at 360×740 and 390×844 no page of the demo city scrolls sideways
(public, resident, enterprise agent, staff; the resident's pages in 长者版 too), tables turn
into labelled stacked rows, touch targets are at least 44 px, text at least 16 px, axe finds
no WCAG 2.1 AA fault in the phone layout, and the 电子证照 and 随申码 QR codes fit the screen
whole, quiet zone included. One browser, one live server, the pages in a loop."""

from __future__ import annotations

import json

import pyotp
import pytest
from django.conf import settings

from tongban.accounts.models import ResidentProfile, User
from tongban.cases import services
from tongban.cases.models import Application, Task
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import bundle_questions, guide_for_bundle
from tongban.catalog.services import catalog_load_directory
from tongban.certificates.services import certificate_types_load
from tongban.demo.accounts import DEMO_PASSWORD, demo_totp_secret, ensure_demo_accounts
from tongban.demo.certificates import ensure_demo_certificates
from tongban.demo.reviews import ensure_demo_reviews
from tongban.tests.test_accessibility import AXE, _axe_violations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONES = [(360, 740), (390, 844)]
BIRTH_ANSWERS = (
    "parents_marital=married&born_in_city=yes&multiple_birth=no&hukou_follows=mother"
    "&maternity_insured=yes"
)

# What one page looks like to the test: how wide it is, and what on it breaks the phone rules.
MEASURE = """() => {
  const W = window.innerWidth;
  const box = e => e.getBoundingClientRect();
  const shown = e => { const r = box(e); return r.width > 0 && r.height > 0
    && getComputedStyle(e).visibility !== 'hidden'; };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className
       ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
    + ' «' + (e.textContent || '').trim().slice(0, 12) + '»';
  // A chart scrolls in its own box; visually hidden text (column headers of stacked rows)
  // is clipped.
  const inside = e => !e.closest('.chart-scroll, .sr-only, table.stack > thead');
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => shown(e) && inside(e) && box(e).right > W + 0.5).slice(0, 5).map(name);
  const targets = [
    ...document.querySelectorAll('header nav a, header nav button, button, a.button'),
    ...[...document.querySelectorAll('input[type=radio], input[type=checkbox]')]
      .map(i => i.labels && i.labels[0]).filter(Boolean),
  ];
  const small = targets.filter(e => shown(e) && box(e).height < 44).slice(0, 5).map(name);
  const stacked = [...document.querySelectorAll('table.stack')];
  const unlabelled = stacked.flatMap(t => [...t.querySelectorAll(':scope > tbody > tr > td')])
    .filter(td => !td.dataset.label).slice(0, 5).map(name);
  const flat = stacked.filter(t => getComputedStyle(t).display !== 'block').length;
  return {
    scrollWidth: document.documentElement.scrollWidth, innerWidth: W,
    fontSize: parseFloat(getComputedStyle(document.body).fontSize),
    wide, small, unlabelled, flat,
  };
}"""

# Where a QR code's SVG sits, whether it keeps its proportions, and whether anything covers it.
QR_BOX = """sel => {
  const svg = document.querySelector(sel);
  const r = svg.getBoundingClientRect();
  const frame = svg.parentElement.getBoundingClientRect();
  const vb = svg.viewBox.baseVal;
  const probes = [[0.5, 0.5], [0.05, 0.05], [0.95, 0.95], [0.05, 0.95], [0.95, 0.05]];
  const covered = probes.filter(([fx, fy]) => {
    const x = r.left + fx * r.width, y = r.top + fy * r.height;
    if (y < 0 || y >= window.innerHeight) return false;  // below the fold: scrolled to below
    const hit = document.elementFromPoint(x, y);
    return !(hit && (hit === svg || svg.contains(hit)));
  }).length;
  return {left: r.left, right: r.right, width: r.width, height: r.height,
          innerWidth: window.innerWidth, viewBox: vb ? vb.width : 0,
          inFrame: r.left >= frame.left - 0.5 && r.right <= frame.right + 0.5
                   && r.top >= frame.top - 0.5 && r.bottom <= frame.bottom + 0.5,
          covered};
}"""


def _birth_case(profile: ResidentProfile, key: str) -> Application:
    answers = {q.code: q.options[0].value for q in bundle_questions(code="birth")}
    answers.update(born_in_city="yes", maternity_insured="yes")
    guide = guide_for_bundle(code="birth", answers=answers, applicant=profile)
    form = sample_form(guide)
    # The form names the parents: the materials are those of the persons it names.
    guide = guide_for_bundle(code="birth", answers=answers, applicant=profile, form_values=form)
    return services.case_submit(
        applicant=profile.user,
        kind="bundle",
        code="birth",
        answers=guide.answers,
        form_data=form,
        materials=sample_uploads(guide),
        idempotency_key=key,
        # Two cases of one sample child: the second is knowingly filed again.
        acknowledge_duplicate=True,
    )


@pytest.fixture
def phone_city(transactional_db):
    """The demo city with what the pages need to show their tables: resident1's certificates,
    two 出生一件事 (one waiting at intake, one accepted with tasks) and public ratings."""
    catalog_load_directory(path=settings.TONGBAN_CATALOG_DIR)
    ensure_demo_accounts()
    certificate_types_load()
    ensure_demo_certificates(max_residents=0, max_enterprises=0)
    assert ensure_demo_reviews() > 0
    profile = ResidentProfile.objects.get(user__username="resident1")
    accepted = _birth_case(profile, "phone-accepted")
    if accepted.status == "submitted":
        services.case_accept(
            actor=User.objects.get(username="wjw_acceptor"), receipt_no=accepted.receipt_no
        )
    waiting = _birth_case(profile, "phone-waiting")
    return {"accepted": accepted, "waiting": waiting}


def _problems(got: dict) -> bool:
    return bool(
        got["scrollWidth"] > got["innerWidth"]
        or got["wide"]
        or got["small"]
        or got["unlabelled"]
        or got["flat"]
        or got["fontSize"] < 16
    )


def _log_in(page, username: str, next_path: str) -> None:
    page.context.clear_cookies()
    page.goto(f"/accounts/login/?next={next_path}")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    if username.startswith("resident") or username.startswith("agent"):
        page.wait_for_url(f"**{next_path}")
        return
    page.wait_for_url("**/accounts/login/code/**")
    page.get_by_label("6位动态验证码").fill(pyotp.TOTP(demo_totp_secret(username)).now())
    page.get_by_label("6位动态验证码").press("Enter")
    page.wait_for_url(f"**{next_path}")


def test_no_page_scrolls_sideways_on_a_phone_and_qr_codes_fit(phone_city, page):
    waiting: Application = phone_city["waiting"]
    accepted: Application = phone_city["accepted"]
    task = Task.objects.filter(case=accepted, department__code="SH-WJW").order_by("pk").first()
    intake = [f"/staff/intake/{waiting.receipt_no}/"] if waiting.status == "submitted" else []
    plan: list[tuple[str | None, str, list[str]]] = [
        (
            None,
            "/",
            [
                "/",
                "/search?q=上户口",
                "/items/SH-GA-0401/",
                f"/bundles/birth/?{BIRTH_ANSWERS}",
                "/reviews/",
                "/accounts/login/",
                "/accounts/register/",
                "/accounts/reset/",
                "/accounts/demo-sms/",
                "/items/SH-GHZY-0101/",
                "/assistant/",
                "/helpdesk/",
                "/figures/",
                "/opendata/",
                "/opendata/service-items/",
            ],
        ),
        (
            "resident1",
            "/me/",
            [
                "/me/",
                "/me/cases/",
                f"/me/cases/{accepted.receipt_no}/",
                f"/apply/bundle/birth/?{BIRTH_ANSWERS}",
                "/me/certificates/",
                "CERTIFICATE",
                "/me/idcode/",
                "/complaints/new/",
                "/me/complaints/",
                "/opendata/developers/",
            ],
        ),
        ("agent1", "/enterprise/", ["/enterprise/"]),
        ("wjw_acceptor", "/staff/", ["/staff/", "/staff/intake/", *intake]),
        (
            "wjw_reviewer",
            "/staff/",
            ["/staff/tasks/", f"/staff/tasks/{task.pk}/", "/staff/assistant/?q=接种证要带什么材料"],
        ),
        ("operator", "/staff/", ["/staff/metrics/", "/staff/metrics/?by=hall"]),
    ]
    page.set_viewport_size({"width": PHONES[0][0], "height": PHONES[0][1]})
    problems: dict[str, dict] = {}
    qr_boxes: dict[str, dict] = {}
    seen = 0
    for username, home, paths in plan:
        if username:
            _log_in(page, username, home)
        else:
            page.context.clear_cookies()
        for path in paths:
            if path == "CERTIFICATE":
                page.goto("/me/certificates/")
                path = page.get_by_role("link", name="居民身份证").get_attribute("href")
            for width, height in PHONES:
                page.set_viewport_size({"width": width, "height": height})
                response = page.goto(path)
                assert response.ok, (path, response.status)
                got = page.evaluate(MEASURE)
                seen += 1
                where = f"{username or '访客'} {path} @{width}"
                if _problems(got):
                    problems[where] = got
                if width == 390 and AXE.exists() and (found := _axe_violations(page)):
                    problems[f"{where} axe"] = found
                for sel in ("figure.qr svg", "#idcode-qr svg"):
                    if page.locator(sel).count():
                        qr_boxes[where] = page.evaluate(QR_BOX, sel)
    # 长者版 (larger type) at the narrowest phone, the resident's own pages.
    resident_paths = [p for u, _, paths in plan if u == "resident1" for p in paths]
    _log_in(page, "resident1", "/me/")
    page.context.add_cookies([{"name": "tongban_elder", "value": "1", "url": page.base_url}])
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ["/", f"/bundles/birth/?{BIRTH_ANSWERS}", *resident_paths]:
        if path == "CERTIFICATE":
            continue
        page.goto(path)
        assert page.locator("body.elder").count() == 1
        got = page.evaluate(MEASURE)
        seen += 1
        if _problems(got) or got["fontSize"] < 18:
            problems[f"长者版 {path} @360"] = got

    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
    assert seen == 2 * sum(len(p) for _, _, p in plan) + len(resident_paths) + 1

    # Both QR codes were seen at both sizes; each lies within the screen and its own frame,
    # keeps its square shape (the viewBox scales the quiet zone with it), is not covered by
    # the label or text box, and still fills most of a phone's width rather than shrinking.
    assert len(qr_boxes) == 4, sorted(qr_boxes)
    for where, qr in qr_boxes.items():
        assert qr["viewBox"] > 0, where
        assert qr["left"] >= 0 and qr["right"] <= qr["innerWidth"], (where, qr)
        assert qr["inFrame"] and qr["covered"] == 0, (where, qr)
        assert abs(qr["width"] - qr["height"]) < 1, (where, qr)
        assert qr["width"] >= 0.7 * qr["innerWidth"], (where, qr)


def test_tables_are_tables_again_on_a_desktop(phone_city, page):
    """The stacked rows are a phone layout only: at 1280 px 我的办件 is a real table with its
    column headers, and the certificate QR is drawn at its natural size."""
    _log_in(page, "resident1", "/me/")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/me/cases/")
    table = page.locator("table.my-cases")
    assert table.evaluate("t => getComputedStyle(t).display") == "table"
    assert page.get_by_role("columnheader", name="受理编号").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 360, "height": 740})
    assert table.evaluate("t => getComputedStyle(t).display") == "block"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/me/certificates/")
    page.get_by_role("link", name="居民身份证").click()
    page.wait_for_load_state()
    svg = page.locator("figure.qr svg")
    drawn = svg.evaluate("s => [s.getBoundingClientRect().width, s.width.baseVal.value]")
    assert drawn[0] == drawn[1]
