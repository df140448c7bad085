"""Halls: who accepts a case (lead department, or the clerks of the hall it was filed at),
walk-in residents at the counter, and 统一窗口出件 (hand-out). Permission tests are matrices
and every refusal asserts that nothing happened."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tongban.accounts.models import ResidentProfile, StaffRole, User
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.accounts.validators import make_id_number
from tongban.cases import services
from tongban.cases.errors import (
    CaseAlreadyHandedOut,
    CaseNotAwaitingHandout,
    CounterHallRequired,
    NotAnAcceptor,
    NotAnIssuer,
)
from tongban.cases.models import Application, SupplementRequest, Task, TaskStatus
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, birth_form, birth_materials
from tongban.catalog.models import Department
from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice


def submit(resident, key="k1", **kwargs):
    args = {
        "applicant": resident.user,
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": birth_form(resident),
        "materials": birth_materials(photo="deferred"),  # 容缺: waits for a person
        "idempotency_key": key,
    }
    args.update(kwargs)
    return services.case_submit(**args)


def snapshot(case):
    """What a refused request must leave as it was."""
    case.refresh_from_db()
    return (
        case.status,
        case.events.count(),
        Task.objects.filter(case=case).count(),
        SupplementRequest.objects.filter(case=case).count(),
        case.handed_out_at,
        case.handout_note,
        Notice.objects.filter(recipient=case.applicant).count(),
    )


def conclude(case, staff):
    """Every department approves its task, in order, as its reviewer."""
    for _ in range(10):
        open_tasks = Task.objects.filter(
            case=case, status__in=(TaskStatus.PENDING, TaskStatus.CLAIMED)
        ).select_related("department")
        if not open_tasks:
            break
        for task in open_tasks:
            services.task_decide(
                reviewer=staff.reviewer[task.department.code],
                task_id=task.pk,
                decision="approved",
                reason="核验通过",
                expected_row_version=task.row_version,
            )
    case.refresh_from_db()
    return case


def actor_of(name, staff, resident):
    return {
        "lead_acceptor": lambda: staff.acceptor["police"],
        "other_acceptor": lambda: staff.acceptor["health"],
        "hall_clerk": lambda: staff.clerk,
        "other_clerk": lambda: staff.other_clerk,
        "hall_issuer": lambda: staff.issuer,
        "other_issuer": lambda: staff.other_issuer,
        "reviewer": lambda: staff.reviewer["police"],
        "resident": lambda: resident.user,
        "anonymous": AnonymousUser,
    }[name]()


# ---------------------------------------------------------------- intake matrix

INTAKE_ALLOWED = {"lead_acceptor", "hall_clerk"}
INTAKE_ACTORS = ["lead_acceptor", "other_acceptor", "hall_clerk", "other_clerk", "reviewer",
                 "resident", "anonymous"]  # fmt: skip
INTAKE_ACTIONS = ["accept", "refuse", "supplement"]


def _intake_by_service(action, actor, case):
    if action == "accept":
        services.case_accept(actor=actor, receipt_no=case.receipt_no)
    elif action == "refuse":
        services.case_refuse_intake(actor=actor, receipt_no=case.receipt_no, reason="不符合条件")
    else:
        services.case_request_supplement(
            actor=actor,
            receipt_no=case.receipt_no,
            material_codes=["child_photo"],
            field_codes=[],
            reason="请补交照片",
        )


def _intake_by_api(client, action, case):
    path, body = {
        "accept": ("accept", {}),
        "refuse": ("refuse", {"reason": "不符合条件"}),
        "supplement": ("supplement-request", {"materials": ["child_photo"], "reason": "请补交"}),
    }[action]
    return client.post(
        f"/api/v1/cases/{case.receipt_no}/{path}",
        data=json.dumps(body),
        content_type="application/json",
    )


EXPECTED_STATUS = {"accept": "accepted", "refuse": "refused", "supplement": "supplement_requested"}


@pytest.mark.parametrize("action", INTAKE_ACTIONS)
@pytest.mark.parametrize("who", INTAKE_ACTORS)
def test_intake_of_a_counter_case_by_service(who, action, resident, staff):
    case = submit(resident, channel="counter", filed_by=staff.clerk)
    assert (case.status, case.hall) == ("submitted", staff.hall)
    actor = actor_of(who, staff, resident)
    before = snapshot(case)
    if who in INTAKE_ALLOWED:
        _intake_by_service(action, actor, case)
        case.refresh_from_db()
        assert case.status == EXPECTED_STATUS[action]
        assert case.events.order_by("-seq").filter(actor=actor).exists()
    else:
        with pytest.raises(NotAnAcceptor):
            _intake_by_service(action, actor, case)
        assert snapshot(case) == before


# Through the API, someone who may not see the case gets 404 (its existence does not leak);
# the applicant sees it but is no acceptor (403); anonymous is 401.
API_REFUSAL = {"other_acceptor": 404, "other_clerk": 404, "reviewer": 404, "resident": 403,
               "anonymous": 401}  # fmt: skip


@pytest.mark.parametrize("action", INTAKE_ACTIONS)
@pytest.mark.parametrize("who", INTAKE_ACTORS)
def test_intake_of_a_counter_case_by_api(who, action, client, resident, staff):
    case = submit(resident, channel="counter", filed_by=staff.clerk)
    actor = actor_of(who, staff, resident)
    if actor.is_authenticated:
        client.force_login(actor)
    before = snapshot(case)
    response = _intake_by_api(client, action, case)
    if who in INTAKE_ALLOWED:
        assert response.status_code == 200, response.content
        assert response.json()["status"] == EXPECTED_STATUS[action]
    else:
        assert response.status_code == API_REFUSAL[who], response.content
        assert snapshot(case) == before


@pytest.mark.parametrize("action", INTAKE_ACTIONS)
def test_an_online_case_is_no_clerks_business(action, client, resident, staff):
    case = submit(resident)
    assert (case.channel, case.hall) == ("online", None)
    before = snapshot(case)
    for clerk in (staff.clerk, staff.other_clerk):
        with pytest.raises(NotAnAcceptor):
            _intake_by_service(action, clerk, case)
        client.force_login(clerk)
        assert _intake_by_api(client, action, case).status_code == 404
    assert snapshot(case) == before
    _intake_by_service(action, staff.acceptor["police"], case)
    case.refresh_from_db()
    assert case.status == EXPECTED_STATUS[action]


def test_a_clerk_without_a_hall_cannot_file_and_nothing_is_created(resident, staff):
    homeless = StaffFactory(
        department=Department.objects.get(code="police"), role=StaffRole.COUNTER_CLERK
    )
    with pytest.raises(CounterHallRequired) as info:
        submit(resident, channel="counter", filed_by=homeless)
    assert info.value.code == "COUNTER_HALL_REQUIRED"
    assert Application.objects.count() == 0
    # A hall the clerk does not sit in cannot be named either.
    with pytest.raises(CounterHallRequired):
        submit(resident, channel="counter", filed_by=staff.clerk, hall=staff.other_hall)
    assert Application.objects.count() == 0
    case = submit(resident, channel="counter", filed_by=staff.clerk, hall=staff.hall)
    assert case.hall == staff.hall
    assert case.events.get(action="submitted").data == {"channel": "counter", "hall": "centre"}


# ---------------------------------------------------------------- walk-in residents


def _apply_for(client, profile, *, household_register=False):
    """File the birth bundle at the counter for PROFILE (already identified). A resident
    the platform knows nothing of brings the 户口簿 (no profile data spares it)."""
    url = reverse("cases_staff:counter_apply", args=["bundle", "birth"])
    answers = {f"answer.{k}": v for k, v in BIRTH_ANSWERS.items()}
    key = client.get(url, {"answered": "1", **answers}).context["idempotency_key"]
    data = {
        "answered": "1",
        "idempotency_key": key,
        **answers,
        **{f"field.{k}": v for k, v in birth_form(profile).items()},
        "how.birth_medical_certificate": "upload",
        "file.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
        "how.child_photo": "deferred",
        "delivery": "counter",
    }
    if household_register:
        data["how.household_register"] = "upload"
        data["file.household_register"] = SimpleUploadedFile("户口簿.pdf", PDF)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Application.objects.get(applicant_profile=profile)


def test_walk_in_with_an_account_is_filed_under_it(client, resident, staff):
    users = User.objects.count()
    client.force_login(staff.clerk)
    response = client.post("/staff/counter/", {"action": "lookup", "id_number": resident.id_number})
    assert response.status_code == 302
    assert User.objects.count() == users
    case = _apply_for(client, resident)
    assert (case.applicant, case.filed_by, case.hall) == (resident.user, staff.clerk, staff.hall)
    assert AuditEvent.objects.filter(
        actor=staff.clerk, action="personal_data.read", data__use="counter_identify"
    ).exists()


def test_walk_in_with_a_profile_but_no_account_gets_a_login_less_account(client, catalog, staff):
    profile = ResidentProfileFactory(user=None, name="赵大妈")
    client.force_login(staff.clerk)
    response = client.post("/staff/counter/", {"action": "lookup", "id_number": profile.id_number})
    assert response.status_code == 302
    profile.refresh_from_db()
    user = profile.user
    assert user is not None
    assert user.username.startswith("walkin_") and profile.id_number not in user.username
    assert (user.kind, user.display_name, user.has_usable_password()) == ("person", "赵大妈", False)
    opened = AuditEvent.objects.get(action="resident_account.open_at_counter")
    assert (opened.actor, opened.subject_resident_id) == (staff.clerk, profile.pk)
    page = client.get("/staff/counter/")
    assert "已为该居民开通办件账号" in page.content.decode()
    assert page.context["resident"]["name"] == "赵大妈"
    case = _apply_for(client, profile)
    assert (case.applicant, case.channel, case.hall) == (user, "counter", staff.hall)
    # Identifying them again opens nothing more.
    client.post("/staff/counter/", {"action": "lookup", "id_number": profile.id_number})
    assert AuditEvent.objects.filter(action="resident_account.open_at_counter").count() == 1


def test_walk_in_without_a_profile_is_registered_by_the_clerk(client, catalog, staff):
    number = make_id_number("310115", dt.date(1960, 3, 8), 998)
    client.force_login(staff.clerk)
    response = client.post("/staff/counter/", {"action": "lookup", "id_number": number})
    assert response.status_code == 200
    assert "为来办群众建立档案" in response.content.decode()
    assert ResidentProfile.objects.count() == 0
    # Missing phone: told so, nothing created.
    response = client.post(
        "/staff/counter/", {"action": "register", "id_number": number, "name": "钱阿姨"}
    )
    assert response.status_code == 422
    assert "请填写联系电话" in response.content.decode()
    response = client.post(
        "/staff/counter/",
        {"action": "register", "id_number": number, "name": "钱阿姨", "phone": "abc"},
    )
    assert response.status_code == 422
    assert "请填写11位手机号码或带区号的固定电话" in response.content.decode()
    assert (ResidentProfile.objects.count(), User.objects.filter(kind="person").count()) == (0, 0)
    response = client.post(
        "/staff/counter/",
        {"action": "register", "id_number": number, "name": "钱阿姨", "phone": "13700001111"},
    )
    assert response.status_code == 302
    profile = ResidentProfile.objects.get()
    assert (profile.name, profile.phone, profile.birth_date, profile.sex) == (
        "钱阿姨", "13700001111", dt.date(1960, 3, 8), "F",
    )  # fmt: skip
    assert profile.user is not None and not profile.user.has_usable_password()
    created = AuditEvent.objects.get(action="resident_profile.create")
    assert (created.actor, created.subject_resident_id) == (staff.clerk, profile.pk)
    assert AuditEvent.objects.get(action="resident_account.open_at_counter").actor == staff.clerk
    case = _apply_for(client, profile, household_register=True)
    assert (case.applicant, case.filed_by) == (profile.user, staff.clerk)


@pytest.mark.parametrize("who", ["reviewer", "lead_acceptor", "issuer", "clerk_without_hall"])
def test_only_a_clerk_with_a_hall_registers_a_walk_in(who, client, catalog, staff):
    number = make_id_number("310115", dt.date(1961, 4, 9), 996)
    police = Department.objects.get(code="police")
    actor = {
        "reviewer": lambda: staff.reviewer["police"],
        "lead_acceptor": lambda: staff.acceptor["police"],
        "issuer": lambda: staff.issuer,
        "clerk_without_hall": lambda: StaffFactory(department=police, role=StaffRole.COUNTER_CLERK),
    }[who]()
    audits = AuditEvent.objects.count()
    client.force_login(actor)
    response = client.post(
        "/staff/counter/",
        {"action": "register", "id_number": number, "name": "孙伯伯", "phone": "13700002222"},
    )
    assert response.status_code == 403
    with pytest.raises((NotAnAcceptor, CounterHallRequired)):
        services.counter_resident_register(
            clerk=actor, id_number=number, name="孙伯伯", phone="13700002222"
        )
    assert ResidentProfile.objects.count() == 0
    assert AuditEvent.objects.count() == audits


def test_walk_in_by_api_registers_and_files(client, catalog, staff):
    number = make_id_number("310104", dt.date(1994, 6, 1), 994)
    form = {
        "applicant.name": "周女士",
        "applicant.id_number": number,
        "applicant.phone": "13700003333",
        "child.name": "周小宝",
        "child.birth_date": (dt.date.today() - dt.timedelta(days=3)).isoformat(),
        "child.sex": "M",
        "marriage.certificate_no": "沪徐结字2020-009",
    }
    body = {
        "kind": "bundle",
        "code": "birth",
        "answers": BIRTH_ANSWERS,
        "form_data": form,
        "materials": {
            "birth_medical_certificate": {"how": "upload"},
            "child_photo": {"how": "deferred"},
        },
        "delivery": "counter",
        "resident_id_number": number,
    }
    client.force_login(staff.other_clerk)

    def post(payload, key):
        return client.post(
            "/api/v1/cases",
            data={
                "payload": json.dumps(payload, ensure_ascii=False),
                "material.birth_medical_certificate": SimpleUploadedFile("c.pdf", PDF),
                "material.household_register": SimpleUploadedFile("h.pdf", PDF),
            },
            HTTP_IDEMPOTENCY_KEY=key,
        )

    response = post(body, "w1")
    assert response.status_code == 422
    assert response.json()["code"] == "RESIDENT_DETAILS_REQUIRED"
    assert ResidentProfile.objects.count() == 0
    response = post({**body, "resident_name": "周女士", "resident_phone": "13700003333"}, "w2")
    assert response.status_code == 201, response.content
    case = Application.objects.get()
    profile = ResidentProfile.objects.get()
    assert (case.applicant, case.hall, case.filed_by) == (profile.user, staff.other_hall,
                                                          staff.other_clerk)  # fmt: skip


# ---------------------------------------------------------------- 统一窗口出件


@pytest.fixture
def counter_concluded(resident, staff):
    """Filed at the centre hall for counter pick-up, decided: waiting at the window."""
    case = submit(
        resident,
        channel="counter",
        filed_by=staff.clerk,
        delivery="counter",
        materials=birth_materials(),
    )
    assert case.status == "accepted"
    return conclude(case, staff)


@pytest.fixture
def online_post_concluded(resident, staff):
    case = submit(resident, key="p1", delivery="post", materials=birth_materials())
    return conclude(case, staff)


def test_counter_pick_up_waits_for_the_window_then_is_archived(
    client, counter_concluded, resident, staff
):
    case = counter_concluded
    assert (case.status, case.outcome, case.handed_out_at) == ("concluded", "approved", None)
    actions = list(case.events.order_by("seq").values_list("action", flat=True))
    assert actions[-1] == "concluded" and "archived" not in actions
    assert Notice.objects.filter(
        recipient=resident.user, title="您的办件“出生一件事”已办结（准予办理），请到窗口领取"
    ).exists()
    # The resident reads where to collect it.
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "待领取，请到市民中心（示例）领取" in page
    assert "已办结（准予办理），待领取" in client.get("/me/cases/").content.decode()
    # The hall's issuer sees it in the queue; another hall's does not.
    client.force_login(staff.issuer)
    queue = client.get("/staff/handout/")
    assert [r["receipt_no"] for r in queue.context["page"].object_list] == [case.receipt_no]
    client.force_login(staff.other_issuer)
    assert list(client.get("/staff/handout/").context["page"].object_list) == []
    assert client.get(f"/staff/handout/{case.receipt_no}/").status_code == 404
    # Hand-out by the page.
    client.force_login(staff.issuer)
    form = client.get(f"/staff/handout/{case.receipt_no}/")
    assert form.status_code == 200 and "确认出件并归档" in form.content.decode()
    read = AuditEvent.objects.get(actor=staff.issuer, action="personal_data.read")
    assert (read.purpose, read.subject_resident_id) == ("统一窗口出件：核对领取人", resident.pk)
    response = client.post(f"/staff/handout/{case.receipt_no}/", {"note": "本人领取"})
    assert response.status_code == 302 and response["Location"] == "/staff/handout/"
    case.refresh_from_db()
    assert (case.status, case.handed_out_by, case.handout_note) == (
        "archived", staff.issuer, "本人领取",
    )  # fmt: skip
    last = list(case.events.order_by("seq"))[-2:]
    assert [(e.action, e.actor, e.to_status) for e in last] == [
        ("handed_out", staff.issuer, ""),
        ("archived", staff.issuer, "archived"),
    ]
    assert (
        Notice.objects.filter(recipient=resident.user, title="您的办件“出生一件事”已领取").count()
        == 1
    )
    assert list(client.get("/staff/handout/").context["page"].object_list) == []
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert 'id="handout-state">已领取' in page and "出件窗口工作人员" in page
    listed = client.get("/me/cases/").content.decode()
    assert "已归档" in listed and "待领取" not in listed


def test_post_needs_a_tracking_number_and_the_resident_sees_it(
    client, online_post_concluded, resident, staff
):
    case = online_post_concluded
    assert (case.status, case.hall) == ("concluded", None)
    before = snapshot(case)
    with pytest.raises(InvalidInput) as info:
        services.case_hand_out(actor=staff.other_issuer, receipt_no=case.receipt_no, note=" ")
    assert info.value.code == "HANDOUT_NOTE_REQUIRED"
    assert snapshot(case) == before
    client.force_login(staff.other_issuer)
    response = client.post(f"/staff/handout/{case.receipt_no}/", {"note": ""})
    assert response.status_code == 422 and "邮寄送达须填写快递单号" in response.content.decode()
    assert snapshot(case) == before
    services.case_hand_out(actor=staff.other_issuer, receipt_no=case.receipt_no, note="EMS9876")
    case.refresh_from_db()
    assert case.status == "archived"
    assert case.events.get(action="archived").reason == "快递单号：EMS9876"
    client.force_login(resident.user)
    page = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "已寄出" in page and "快递单号：EMS9876" in page
    detail = client.get(f"/api/v1/cases/{case.receipt_no}").json()
    assert (detail["handout"]["label"], detail["handout"]["note"]) == ("已寄出", "EMS9876")


def test_online_delivery_is_archived_at_conclusion(resident, staff):
    case = conclude(submit(resident, key="o1", materials=birth_materials()), staff)
    assert case.status == "archived"
    actions = list(case.events.order_by("seq").values_list("action", flat=True))
    assert actions[-2:] == ["concluded", "archived"]
    with pytest.raises(CaseNotAwaitingHandout):
        services.case_hand_out(actor=staff.issuer, receipt_no=case.receipt_no, note="x")


HANDOUT_ACTORS = ["hall_issuer", "hall_clerk", "other_issuer", "other_clerk", "lead_acceptor",
                  "reviewer", "resident", "anonymous"]  # fmt: skip
# Filed at the centre hall: its issuer and clerk. Filed online: an issuer of any hall.
HANDOUT_ALLOWED = {
    "counter": {"hall_issuer", "hall_clerk"},
    "online": {"hall_issuer", "other_issuer"},
}


@pytest.mark.parametrize("by", ["service", "api"])
@pytest.mark.parametrize("filed", ["counter", "online"])
@pytest.mark.parametrize("who", HANDOUT_ACTORS)
def test_hand_out_permission_matrix(who, filed, by, client, resident, staff):
    if filed == "counter":
        case = submit(resident, channel="counter", filed_by=staff.clerk, delivery="post",
                      materials=birth_materials())  # fmt: skip
    else:
        case = submit(resident, delivery="post", materials=birth_materials())
    case = conclude(case, staff)
    assert case.status == "concluded"
    actor = actor_of(who, staff, resident)
    before = snapshot(case)
    allowed = who in HANDOUT_ALLOWED[filed]
    if by == "service":
        if allowed:
            services.case_hand_out(actor=actor, receipt_no=case.receipt_no, note="SF001")
        else:
            with pytest.raises(NotAnIssuer):
                services.case_hand_out(actor=actor, receipt_no=case.receipt_no, note="SF001")
    else:
        if actor.is_authenticated:
            client.force_login(actor)
        response = client.post(
            f"/api/v1/cases/{case.receipt_no}/handout",
            data={"note": "SF001"},
            content_type="application/json",
        )
        if allowed:
            assert response.status_code == 200, response.content
        else:
            # Seeing the case (its applicant, the lead department's acceptor, a reviewer
            # with a task in it) is no right to hand it out: 403; the rest cannot see it
            # at all: 404; anonymous: 401.
            expected = {"resident": 403, "lead_acceptor": 403, "reviewer": 403,
                        "anonymous": 401}.get(who, 404)  # fmt: skip
            assert response.status_code == expected, response.content
    if allowed:
        case.refresh_from_db()
        assert (case.status, case.handed_out_by) == ("archived", actor)
    else:
        assert snapshot(case) == before


def test_double_hand_out_is_a_conflict_and_changes_nothing(client, counter_concluded, staff):
    case = counter_concluded
    services.case_hand_out(actor=staff.clerk, receipt_no=case.receipt_no, note="本人领取")
    before = snapshot(case)
    with pytest.raises(CaseAlreadyHandedOut) as info:
        services.case_hand_out(actor=staff.issuer, receipt_no=case.receipt_no, note="再次")
    assert info.value.code == "CASE_ALREADY_HANDED_OUT"
    client.force_login(staff.issuer)
    response = client.post(
        f"/api/v1/cases/{case.receipt_no}/handout",
        data={"note": "再次"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (409, "CASE_ALREADY_HANDED_OUT")
    response = client.post(f"/staff/handout/{case.receipt_no}/", {"note": "再次"})
    assert response.status_code == 409
    assert snapshot(case) == before
    case.refresh_from_db()
    assert case.handed_out_by == staff.clerk


def test_a_case_not_yet_concluded_cannot_be_handed_out(resident, staff):
    case = submit(resident, channel="counter", filed_by=staff.clerk, delivery="counter",
                  materials=birth_materials())  # fmt: skip
    assert case.status == "accepted"
    before = snapshot(case)
    with pytest.raises(CaseNotAwaitingHandout) as info:
        services.case_hand_out(actor=staff.issuer, receipt_no=case.receipt_no, note="x")
    assert info.value.code == "CASE_NOT_AWAITING_HANDOUT"
    assert snapshot(case) == before


def test_handout_queue_api_and_staff_home_link(client, counter_concluded, online_post_concluded,
                                               staff):  # fmt: skip
    client.force_login(staff.issuer)
    rows = client.get("/api/v1/handout/cases").json()
    # The centre's issuer: its own counter case and the online one, oldest first.
    assert [r["receipt_no"] for r in rows] == [
        counter_concluded.receipt_no,
        online_post_concluded.receipt_no,
    ]
    assert rows[0]["applicant"].startswith(counter_concluded.applicant_profile.name[0])
    assert "*" in rows[0]["applicant"]  # masked in a list
    assert (rows[0]["delivery_label"], rows[1]["delivery_label"]) == ("窗口领取", "邮寄送达")
    client.force_login(staff.clerk)
    assert [r["receipt_no"] for r in client.get("/api/v1/handout/cases").json()] == [
        counter_concluded.receipt_no
    ]
    assert 'href="/staff/handout/"' in client.get("/staff/").content.decode()
    client.force_login(staff.reviewer["police"])
    assert client.get("/api/v1/handout/cases").json() == []
    assert client.get("/staff/handout/").status_code == 403
    assert 'href="/staff/handout/"' not in client.get("/staff/").content.decode()


@pytest.mark.parametrize("by", ["clerk", "lead_acceptor"])
def test_the_applicants_timeline_names_the_desk_that_accepted(by, client, resident, staff):
    case = submit(resident, channel="counter", filed_by=staff.clerk)
    actor = staff.clerk if by == "clerk" else staff.acceptor[case.lead_department.code]
    services.case_accept(actor=actor, receipt_no=case.receipt_no)
    event = case.events.get(action__in=("accepted", "accepted_deferred"))
    assert event.data["post"] == ("counter" if by == "clerk" else "department")
    client.force_login(resident.user)
    html = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    timeline = html[html.index('class="timeline"') :]
    lead_desk = f"{case.lead_department.name}受理人员"
    # Filed at the counter (1) and, when the clerk accepted, accepted there too (2).
    assert timeline.count("综合窗口工作人员") == (2 if by == "clerk" else 1)
    assert (lead_desk in timeline) is (by != "clerk")
