"""The applicant's case page and 我的办件 say plainly how the case ended, why, and what to do
next; invite a rating while one is open; and speak the applicant's words, not the desk's."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from tongban.cases import services
from tongban.cases.models import Task, TaskStatus
from tongban.cases.tests.conftest import birth_materials
from tongban.cases.tests.test_pages_applicant import submit
from tongban.reviews import services as review_services
from tongban.reviews.tests.conftest import (  # noqa: F401 — fixtures
    catalog,
    make_case,
    media,
    other_resident,
    people,
    resident,
    staff,
)

pytestmark = pytest.mark.django_db

REASON = "出生医学证明与申报的出生日期不符，请核对后重新申请"


def _page(client, case) -> str:
    return client.get(f"/me/cases/{case.receipt_no}/").content.decode()


def _top(html: str) -> str:
    """The page above 办理状态: what a person reads first."""
    return html[html.index('id="receipt-no"') : html.index('id="status-title"')]


def _awaiting_intake(resident):  # noqa: F811
    """A case that waits for a person at intake (容缺 keeps it from being accepted by itself)."""
    case = submit(resident, materials=birth_materials(photo="deferred"))
    assert case.status == "submitted"
    return case


def test_refused_case_states_the_refusal_and_its_reason_at_the_top(client, resident, staff):  # noqa: F811
    case = _awaiting_intake(resident)
    services.case_refuse_intake(
        actor=staff.acceptor["police"], receipt_no=case.receipt_no, reason=REASON
    )
    client.force_login(resident.user)
    html = _page(client, case)
    top = _top(html)
    assert '<h2 id="result-title">您的申请不予受理</h2>' in top
    assert f"<li>{REASON}</li>" in top
    assert '<a href="/bundles/birth/">重新申请</a>' in top
    assert "12345" in top
    # No longer the promise of a case that will be worked.
    assert "受理后，各部门将同时开始办理" not in html
    assert "本申请未受理，各部门不会办理。" in html
    assert "承诺办结日期" not in html


def test_denied_case_names_each_refused_item_and_its_reason(client, resident):  # noqa: F811
    case = make_case(
        resident, tasks=(("item_a", "事项甲", "police"), ("item_b", "事项乙", "health"))
    )
    case.outcome = "denied"
    case.status = "concluded"
    case.save(update_fields=["outcome", "status"])
    Task.objects.filter(case=case).update(status=TaskStatus.DENIED, reason="不符合受理条件")
    client.force_login(resident.user)
    top = _top(_page(client, case))
    assert '<h2 id="result-title">您的申请不予办理</h2>' in top
    assert re.findall(r"<li><strong>(.+?)</strong>：(.+?)</li>", top) == [
        ("事项甲", "不符合受理条件"),
        ("事项乙", "不符合受理条件"),
    ]


def test_partly_approved_case_lists_only_the_denied_items(client, resident):  # noqa: F811
    case = make_case(
        resident, tasks=(("item_a", "事项甲", "police"), ("item_b", "事项乙", "health"))
    )
    case.outcome = "partly_approved"
    case.save(update_fields=["outcome"])
    Task.objects.filter(case=case, item_code="item_b").update(
        status=TaskStatus.DENIED, reason="材料不全"
    )
    client.force_login(resident.user)
    top = _top(_page(client, case))
    assert "您的申请部分准予办理，以下事项不予办理" in top
    assert re.findall(r"<li><strong>(.+?)</strong>：(.+?)</li>", top) == [("事项乙", "材料不全")]


def test_approved_case_has_no_result_warning(client, resident):  # noqa: F811
    case = make_case(resident)
    client.force_login(resident.user)
    assert 'id="case-result"' not in _page(client, case)


def test_concluded_case_invites_a_rating_until_rated(client, resident, people):  # noqa: F811
    case = make_case(resident)
    client.force_login(resident.user)
    link = f'href="/reviews/rate/{case.receipt_no}/?subject=online"'
    assert f'<a class="button" id="rate-link" {link}>去评价</a>' in _page(client, case)
    mine = client.get("/me/cases/").content.decode()
    assert f'<a {link} class="rate-link">评价本次服务' in mine
    assert client.get(f"/reviews/rate/{case.receipt_no}/?subject=online").status_code == 200

    review_services.rating_create(rater=resident.user, receipt_no=case.receipt_no, level=5)
    assert "rate-link" not in _page(client, case)
    assert "rate-link" not in client.get("/me/cases/").content.decode()


def test_no_rating_invitation_once_the_window_has_closed(client, resident, settings):  # noqa: F811
    days = settings.TONGBAN_REVIEW_WINDOW_DAYS
    case = make_case(resident, concluded_at=timezone.now() - dt.timedelta(days=days + 1))
    client.force_login(resident.user)
    assert "rate-link" not in _page(client, case)
    assert "rate-link" not in client.get("/me/cases/").content.decode()


def test_no_rating_invitation_for_an_open_case_or_someone_elses(client, resident, other_resident):  # noqa: F811
    case = submit(resident)
    client.force_login(resident.user)
    assert "rate-link" not in _page(client, case)
    theirs = make_case(other_resident)
    assert client.get(f"/me/cases/{theirs.receipt_no}/").status_code == 404


def test_applicant_reads_task_states_in_their_own_words(client, resident, staff):  # noqa: F811
    case = _awaiting_intake(resident)
    services.case_accept(actor=staff.acceptor["police"], receipt_no=case.receipt_no)
    client.force_login(resident.user)
    html = _page(client, case)
    statuses = re.findall(
        r'<td data-label="状态">(待办理|办理中|等待前序事项办结|待认领|审核中)', html
    )
    assert statuses and "待认领" not in html and "审核中" not in html
    assert "待办理" in statuses and set(statuses) <= {"待办理", "等待前序事项办结"}
