"""我的数据使用记录 / 企业数据使用记录 (issue 13): each kind of use of a person's or an
enterprise's data writes exactly one row — a staff read of a resident, a staff read of an
enterprise, 政策找人 finding a person, a department system answering for a case (数据共享核验),
an institution reading with the holder's consent — and the pages and the API show each with
who (department or institution and post, never a name), when, which elements, for what case
or purpose and under which legal basis. The enterprise record is for its 法定代表人 and
管理员 only."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from tongban.accounts.models import EnterpriseMembership, StaffRole
from tongban.accounts.selectors import enterprise_profile_for, resident_profile_for_work
from tongban.accounts.tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
    StaffFactory,
    UserFactory,
)
from tongban.common.models import AuditEvent
from tongban.exchange.services import Requester, source_query
from tongban.exchange.tests.platform_fixtures import (  # noqa: F401 — fixtures
    MARKET_BASIS,
    MOTHER_ID,
    POLICE_BASIS,
    USCC,
    demo_server,
    exchange,
    registry,
)
from tongban.policies.services import policy_match_enterprise, policy_match_person
from tongban.policies.tests.conftest import demo_definitions

pytestmark = pytest.mark.django_db

DATA_USE_ACTIONS = (
    "personal_data.read",
    "personal_data.match",
    "enterprise_data.read",
    "enterprise_data.match",
)
CASE = "2612031234567"
CARE = "SH-MZJ-P006"  # 重度残疾人护理补贴: 残疾等级一、二级, 本市户籍
CARE_BASIS = "示例市重度残疾人护理补贴办法（示例民规〔2026〕4号）第三条"
KEEP = "SH-RSJ-P004"  # 失业保险稳岗返还: 参保职工人数, 上年度裁员率 ≤ 5.5%, 存续
KEEP_BASIS = "示例市失业保险稳岗返还实施办法（示例人社规〔2026〕4号）第三条"


@pytest.fixture(scope="module")
def one_policy_catalog(tmp_path_factory) -> Path:
    return demo_definitions(tmp_path_factory.mktemp("catalog") / "definitions", keep={CARE, KEEP})


@pytest.fixture
def catalog(db, one_policy_catalog):
    # Overrides the exchange fixtures' catalog: the demo catalog with one policy, so that
    # matching a person (or the enterprise) changes exactly one match.
    from tongban.catalog.services import catalog_load_directory

    catalog_load_directory(path=one_policy_catalog)


@pytest.fixture
def civil(db):
    return DepartmentFactory(code="t-ce", name="示例市测试局")


@pytest.fixture
def person(db):
    return ResidentProfileFactory(
        user=UserFactory(),
        id_number=MOTHER_ID,
        name="李静",
        disability_grade=1,
        hukou_is_local=True,
    )


@pytest.fixture
def company(db):
    return EnterpriseFactory(
        uscc=USCC, name="示例数据使用有限公司", insured_headcount=12, layoff_rate=Decimal("1.0")
    )


@pytest.fixture
def rep(company):
    user = UserFactory()
    EnterpriseMembershipFactory(
        user=user, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    return user


# --- the five kinds of use ----------------------------------------------------------------


def staff_read_of_resident(person, company, civil):
    acceptor = StaffFactory(department=civil, role=StaffRole.ACCEPTOR)
    resident_profile_for_work(
        viewer=acceptor, profile=person, use="intake_review", receipt_no=CASE, department=civil
    )


def staff_read_of_enterprise(person, company, civil):
    reviewer = StaffFactory(department=civil, role=StaffRole.REVIEWER)
    enterprise_profile_for(viewer=reviewer, enterprise=company, purpose="企业变更审核")


def policy_matching(person, company, civil):
    policy_match_person(profile_id=person.pk, triggered_by="system:test")


def enterprise_policy_matching(person, company, civil):
    policy_match_enterprise(enterprise_id=company.pk, triggered_by="system:test")


def exchange_answer(person, company, civil):
    source_query(
        source="t_population",
        key=MOTHER_ID,
        elements=["name", "id_valid"],
        requester=Requester(
            department="SH-GA",
            purpose="办理「出生登记」核验申请材料",
            legal_basis=POLICE_BASIS,
            item="SH-GA-0101",
            receipt_no=CASE,
            actor_label="system:exchange",
            post="一网通办平台（数据共享核验）",
        ),
        subject_profile_id=person.pk,
    )


def enterprise_exchange_answer(person, company, civil):
    source_query(
        source="t_market",
        key=USCC,
        elements=["registered", "staff"],
        requester=Requester(
            department="SH-SWJ",
            purpose="办理税务登记核验申请材料",
            legal_basis=MARKET_BASIS,
            item="SH-SWJ-0101",
            receipt_no=CASE,
            post="一网通办平台（数据共享核验）",
        ),
        subject_enterprise_id=company.pk,
    )


def consented_read(person, company, civil):
    source_query(
        source="t_population",
        key=MOTHER_ID,
        elements=["name"],
        requester=Requester(
            department="SH-ZWFW",
            purpose="信易贷贷前核验",
            legal_basis=POLICE_BASIS,
            consent="CS-TEST-0001",
            actor_label="client:bank-demo",
            post="示例银行（银行，经授权查询）",
        ),
        subject_profile_id=person.pk,
    )


def _expected(person, company):
    """Per kind: (action, subject column and id, purpose, what the record shows)."""
    resident = ("subject_resident_id", person.pk)
    enterprise = ("subject_enterprise_id", company.pk)
    return {
        staff_read_of_resident: (
            "personal_data.read",
            resident,
            "受理审查：核对申请人身份",
            {
                "who": "示例市测试局（受理岗）",
                "fields": ["姓名", "公民身份号码", "联系电话", "性别"],
                "receipt_no": CASE,
                "purpose": "受理审查：核对申请人身份",
                "legal_basis": "依申请：办理所提交的办件",
                "source": "",
                "channel": "staff",
                "channel_label": "工作人员查阅",
            },
        ),
        staff_read_of_enterprise: (
            "enterprise_data.read",
            enterprise,
            "企业变更审核",
            {
                "who": "示例市测试局（审核岗）",
                "fields": [
                    "统一社会信用代码",
                    "企业名称",
                    "企业类型",
                    "法定代表人姓名",
                    "法定代表人身份证号码",
                    "注册资本",
                    "行业代码",
                    "登记区",
                    "住所",
                    "成立日期",
                    "从业人数",
                    "登记状态",
                ],
                "receipt_no": "",
                "purpose": "企业变更审核",
                "legal_basis": "",
                "source": "",
                "channel": "staff",
                "channel_label": "工作人员查阅",
            },
        ),
        policy_matching: (
            "personal_data.match",
            resident,
            "政策找人：重度残疾人护理补贴",
            {
                "who": "示例市民政局（政策找人系统比对）",
                "fields": ["残疾等级", "本市户籍"],
                "receipt_no": "",
                "purpose": "政策找人：重度残疾人护理补贴",
                "legal_basis": CARE_BASIS,
                "source": "",
                "channel": "matching",
                "channel_label": "政策系统自动比对",
            },
        ),
        enterprise_policy_matching: (
            "enterprise_data.match",
            enterprise,
            "惠企政策匹配：失业保险稳岗返还",
            {
                "who": "示例市人力资源和社会保障局（惠企政策匹配系统比对）",
                "fields": ["参保职工人数", "上年度裁员率（%）", "登记状态"],
                "receipt_no": "",
                "purpose": "惠企政策匹配：失业保险稳岗返还",
                "legal_basis": KEEP_BASIS,
                "source": "",
                "channel": "matching",
                "channel_label": "政策系统自动比对",
            },
        ),
        exchange_answer: (
            "personal_data.read",
            resident,
            "办理「出生登记」核验申请材料",
            {
                "who": "一网通办平台（数据共享核验）",
                "fields": ["姓名", "身份证件有效"],
                "receipt_no": CASE,
                "purpose": "办理「出生登记」核验申请材料",
                "legal_basis": POLICE_BASIS,
                "source": "公安人口库",
                "channel": "exchange",
                "channel_label": "数据共享核验",
            },
        ),
        enterprise_exchange_answer: (
            "enterprise_data.read",
            enterprise,
            "办理税务登记核验申请材料",
            {
                "who": "一网通办平台（数据共享核验）",
                "fields": ["登记在册", "从业人数"],
                "receipt_no": CASE,
                "purpose": "办理税务登记核验申请材料",
                "legal_basis": MARKET_BASIS,
                "source": "市场主体登记库",
                "channel": "exchange",
                "channel_label": "数据共享核验",
            },
        ),
        consented_read: (
            "personal_data.read",
            resident,
            "信易贷贷前核验",
            {
                "who": "示例银行（银行，经授权查询）",
                "fields": ["姓名"],
                "receipt_no": "",
                "purpose": "信易贷贷前核验",
                "legal_basis": f"{POLICE_BASIS}（授权编号 CS-TEST-0001）",
                "source": "公安人口库",
                "channel": "consent",
                "channel_label": "经授权的机构查询",
            },
        ),
    }


KINDS = [
    staff_read_of_resident,
    staff_read_of_enterprise,
    policy_matching,
    enterprise_policy_matching,
    exchange_answer,
    enterprise_exchange_answer,
    consented_read,
]


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.usefixtures("exchange")
@pytest.mark.parametrize("use", KINDS, ids=lambda f: f.__name__)
def test_each_kind_of_use_writes_exactly_one_row(use, person, company, civil):
    before = _last_id()
    use(person, company, civil)
    action, (column, subject), purpose, _ = _expected(person, company)[use]
    written = AuditEvent.objects.filter(id__gt=before, action__in=DATA_USE_ACTIONS)
    assert list(written.values_list("action", column, "purpose")) == [(action, subject, purpose)]


def _rows(html: str) -> list[list[str]]:
    """The record table's rows as the text of their cells."""
    rows = re.findall(r'<tr class="data-use[^"]*">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td data-label=\"[^\"]+\">(.*?)</td>", row, re.S) for row in rows]
    return [[re.sub(r"(?:<[^>]+>|\s)+", " ", c).strip() for c in row] for row in cells]


def _page_row(row: dict) -> list[str]:
    at = timezone.localtime(row["at"]).strftime("%Y年%-m月%-d日 %H:%M")
    how = row["channel_label"] + (f" 数据来源：{row['source']}" if row["source"] else "")
    receipt = f"{CASE[:4]} {CASE[4:8]} {CASE[8:12]} {CASE[12:]}" if row["receipt_no"] else "—"
    return [
        at,
        row["who"],
        how,
        "、".join(row["fields"]) or "—",
        row["purpose"] or "—",
        row["legal_basis"] or "—",
        receipt,
    ]


@pytest.mark.usefixtures("exchange")
def test_the_pages_and_api_show_each_use_in_words(client, person, company, rep, civil):
    for use in KINDS:
        use(person, company, civil)
    expected = _expected(person, company)
    events = AuditEvent.objects.filter(action__in=DATA_USE_ACTIONS)
    at = {use: events.get(action=a, purpose=p).at for use, (a, _, p, _) in expected.items()}

    def shown(kinds):
        rows = [{"at": at[k], **expected[k][3]} for k in kinds]
        return sorted(rows, key=lambda r: r["at"], reverse=True)

    mine = shown([staff_read_of_resident, policy_matching, exchange_answer, consented_read])
    theirs = shown(
        [staff_read_of_enterprise, enterprise_policy_matching, enterprise_exchange_answer]
    )

    client.force_login(person.user)
    body = client.get("/api/v1/me/data-access").json()
    assert body["count"] == 4
    assert [{**r, "at": None} for r in body["items"]] == [{**r, "at": None} for r in mine]
    # The API gives times to the millisecond.
    assert [dt.datetime.fromisoformat(r["at"]) for r in body["items"]] == [
        r["at"].replace(microsecond=r["at"].microsecond // 1000 * 1000) for r in mine
    ]
    html = client.get("/me/data-access/").content.decode()
    assert _rows(html) == [_page_row(r) for r in mine]
    assert "李静" not in html.split("<h1>", 1)[1]  # who is a post, never a person

    client.force_login(rep)
    body = client.get(f"/api/v1/enterprises/{company.pk}/data-access").json()
    assert body["count"] == 3
    assert [{**r, "at": None} for r in body["items"]] == [{**r, "at": None} for r in theirs]
    html = client.get(f"/enterprise/{company.pk}/data-access/").content.decode()
    assert "<h1>企业数据使用记录</h1>" in html
    assert _rows(html) == [_page_row(r) for r in theirs]
    home = client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
    assert f'<a href="/enterprise/{company.pk}/data-access/" id="enterprise-data-access-link">' in (
        home
    )


def test_a_staff_read_written_before_subject_enterprise_id_still_shows(client, company, rep):
    # Rows from before migration common 0002 name the enterprise only as their object.
    AuditEvent.objects.create(
        actor_label="user:1:old",
        action="enterprise_data.read",
        object_type="enterprise",
        object_id=str(company.pk),
        purpose="统计",
    )
    AuditEvent.objects.create(
        actor_label="user:1:old",
        action="enterprise_data.read",
        object_type="enterprise",
        object_id=str(company.pk + 1),
        purpose="另一企业",
    )
    client.force_login(rep)
    body = client.get(f"/api/v1/enterprises/{company.pk}/data-access").json()
    assert [(r["purpose"], r["who"]) for r in body["items"]] == [("统计", "系统")]


# --- who may read the enterprise record ---------------------------------------------------


def test_enterprise_record_matrix(client, company, rep, civil):
    staff_read_of_enterprise(None, company, civil)
    page, api = (
        f"/enterprise/{company.pk}/data-access/",
        (f"/api/v1/enterprises/{company.pk}/data-access"),
    )
    admin, agent, outsider = UserFactory(), UserFactory(), UserFactory()
    EnterpriseMembershipFactory(
        user=admin, enterprise=company, role=EnterpriseMembership.Role.ADMINISTRATOR
    )
    EnterpriseMembershipFactory(user=agent, enterprise=company)
    expired = UserFactory()
    EnterpriseMembershipFactory(
        user=expired,
        enterprise=company,
        role=EnterpriseMembership.Role.ADMINISTRATOR,
        revoked_at=timezone.now(),
    )
    staff = StaffFactory(department=civil, role=StaffRole.REVIEWER)
    response = client.get(page)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(api).status_code == 401
    for user, page_status, api_body in (
        (rep, 200, None),
        (admin, 200, None),
        (agent, 403, {"code": "NOT_ENTERPRISE_MANAGER"}),
        (outsider, 404, {"code": "ENTERPRISE_NOT_FOUND"}),
        (expired, 404, {"code": "ENTERPRISE_NOT_FOUND"}),
        (staff, 404, {"code": "ENTERPRISE_NOT_FOUND"}),
    ):
        client.force_login(user)
        response = client.get(page)
        assert response.status_code == page_status, user
        text = response.content.decode()
        assert ("企业变更审核" in text) is (page_status == 200)
        answer = client.get(api)
        if api_body is None:
            assert answer.status_code == 200
            assert [r["purpose"] for r in answer.json()["items"]] == ["企业变更审核"]
        else:
            assert answer.status_code == page_status
            assert answer.json()["code"] == api_body["code"]
    assert client.get(f"/api/v1/enterprises/{2**40}/data-access").status_code == 404
    assert client.get(f"/api/v1/enterprises/{2**63}/data-access").status_code == 422
    # Reading the record is not itself a use of the enterprise's data.
    assert AuditEvent.objects.filter(action__in=DATA_USE_ACTIONS).count() == 1


def test_the_enterprise_home_links_the_record_for_managers_only(client, company, rep):
    agent = UserFactory()
    EnterpriseMembershipFactory(user=agent, enterprise=company)
    link = f'href="/enterprise/{company.pk}/data-access/"'
    client.force_login(rep)
    assert link in client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
    client.force_login(agent)
    assert link not in client.get(f"/enterprise/?enterprise={company.pk}").content.decode()
