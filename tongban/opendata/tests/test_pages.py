"""开放数据 pages: anyone browses and downloads; the developer pages need a login, show a key
once, and let nobody touch another account's key."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.utils import timezone

from tongban.accounts.tests.factories import UserFactory
from tongban.common.models import AuditEvent
from tongban.opendata.models import ApiKey, ApiKeyDailyUsage, Developer
from tongban.opendata.selectors import api_key_for
from tongban.opendata.tests.conftest import register

pytestmark = pytest.mark.django_db

FORM = {
    "app_name": "测试 办事地图",
    "purpose": "示例：把政务服务大厅标在地图上",
    "contact_email": "map@example.test",
}


def _text(response) -> str:
    return response.content.decode()


def test_anyone_browses_the_catalogue_and_a_dataset(client, catalog):
    page = client.get("/opendata/")
    assert page.status_code == 200
    html = _text(page)
    titles = [
        "政务服务事项目录及办事指南",
        "一件事主题服务目录",
        "政务服务大厅及开放时间",
        "电子证照类型目录",
        "惠企利民政策清单",
        "政务服务月度统计",
        "好差评月度统计",
    ]
    for title in titles:
        assert title in html
    assert '<dd id="count-service-items">7 条</dd>' in html
    assert '<dd id="count-bundles">2 条</dd>' in html
    assert 'href="/opendata/halls.csv"' in html and 'href="/opendata/halls.json"' in html
    assert "示例城市政务服务中心（示例）" in html and "知识共享署名 4.0 国际许可协议" in html

    detail = _text(client.get("/opendata/bundles/"))
    assert '<td id="record-count">2 条</td>' in detail
    assert "<caption>前 2 条记录（共 2 条），每列一条记录</caption>" in detail
    assert '<td data-label="第2条">企业开办一件事</td>' in detail
    assert '<td data-label="第1条">是</td>' in detail  # 示例数据, as a person reads it
    assert "<code>item_codes</code>" in detail  # the column dictionary names the keys
    assert (
        "http://testserver/api/v1/opendata/datasets/bundles/rows?limit=100&amp;offset=0" in detail
    )
    assert "每个密钥每分钟最多调用 60 次" in detail


def test_the_footer_links_to_open_data(client):
    assert '<a href="/opendata/">开放数据</a>' in _text(client.get("/opendata/"))


def test_an_empty_dataset_says_so(client):
    html = _text(client.get("/opendata/halls/"))
    assert '<p id="preview-empty">该数据集暂无记录。</p>' in html


@pytest.mark.parametrize(
    "url", ["/opendata/nothing/", "/opendata/nothing.csv", "/opendata/nothing.json"]
)
def test_an_unknown_dataset_is_a_chinese_404_page(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "未找到您要访问的页面或数据" in _text(response)


def test_the_csv_opens_in_excel_with_chinese_headers(client, catalog):
    response = client.get("/opendata/service-items.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="service-items.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == [
        "事项编码",
        "事项名称",
        "实施部门编码",
        "实施部门",
        "事项类型",
        "服务对象",
    ]
    assert len(rows) == 8
    assert rows[-1] == [
        "vaccination_certificate", "预防接种证办理", "health", "市卫生健康委员会", "公共服务",
        "个人事项", "即办件", "0", "0", "1", "窗口办理", "否", "1", "1", "是", "不收费",
        "《中华人民共和国疫苗管理法》第四十七条", "为新生儿建立预防接种档案并发放预防接种证。", "1",
        "是",
    ]  # fmt: skip


def test_suppressed_cells_are_empty_in_the_csv_and_null_in_the_json(client, monkeypatch):
    raw = {
        "month": "2026-11", "department_code": "tax", "department_name": "市税务局",
        "item_code": "invoice_application", "item_name": "发票申领", "ratings": 40,
        "satisfied": 30, "dissatisfied": 4, "orders": 4, "orders_closed": 4,
        "orders_closed_on_time": 4,
    }  # fmt: skip
    monkeypatch.setattr("tongban.metrics.selectors.open_review_rows", lambda: [raw])
    text = client.get("/opendata/review-figures-monthly.csv").content.decode("utf-8-sig")
    assert (
        text.splitlines()[1]
        == "2026-11,tax,市税务局,invoice_application,发票申领,40,30,,,,,0.75,,,"
    )
    data = client.get("/opendata/review-figures-monthly.json").json()
    assert (data["rows"][0]["dissatisfied"], data["rows"][0]["satisfaction_rate"]) == (None, 0.75)


def test_text_a_spreadsheet_would_run_as_a_formula_stays_text_in_the_csv(client):
    from tongban.appointments.tests.factories import HallFactory

    HallFactory(code="H-1", name='=HYPERLINK("http://x.test")大厅', phone="+86 21 0000")
    rows = list(
        csv.reader(io.StringIO(client.get("/opendata/halls.csv").content.decode("utf-8-sig")))
    )
    assert (rows[1][1], rows[1][6]) == ('\'=HYPERLINK("http://x.test")大厅', "'+86 21 0000")
    data = client.get("/opendata/halls.json").json()
    assert data["rows"][0]["name"] == '=HYPERLINK("http://x.test")大厅'


def test_the_json_file_explains_itself(client, catalog):
    response = client.get("/opendata/bundles.json")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    assert {k: data[k] for k in ("identifier", "title", "publisher", "license")} == {
        "identifier": "bundles",
        "title": "一件事主题服务目录",
        "publisher": "示例城市政务服务中心（示例）",
        "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    }
    assert data["columns"][5] == {
        "name": "promised_days", "title": "承诺办结时限（工作日）", "type": "integer",
        "description": "",
    }  # fmt: skip
    assert [r["code"] for r in data["rows"]] == ["birth", "enterprise_opening"]


def test_files_are_public_cacheable_and_answer_304_when_unchanged(client, catalog):
    first = client.get("/opendata/bundles.json")
    assert first["Cache-Control"] == "public, max-age=300"
    assert first["Access-Control-Allow-Origin"] == "*"
    assert re.fullmatch(r'"[0-9a-f]{32}"', first["ETag"])
    assert first["Last-Modified"].endswith(" GMT")
    again = client.get("/opendata/bundles.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", first["ETag"])
    # A logged-in person downloads the same public file (no personal data in it).
    client.force_login(UserFactory())
    mine = client.get("/opendata/bundles.json")
    assert (mine["Cache-Control"], mine["ETag"]) == ("public, max-age=300", first["ETag"])
    head = client.head("/opendata/bundles.csv")
    assert head.status_code == 200


# ---------------------------------------------------------------- developers


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/opendata/developers/"),
        ("post", "/opendata/developers/"),
        ("post", "/opendata/developers/keys/new/"),
        ("post", "/opendata/developers/keys/1/revoke/"),
        ("get", "/opendata/developers/usage/"),
    ],
)
def test_developer_pages_need_a_login(client, method, url):
    response = getattr(client, method)(url, FORM if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert Developer.objects.count() == 0 and ApiKey.objects.count() == 0


def test_registering_shows_the_key_once_and_it_works(client):
    user = UserFactory()
    client.force_login(user)
    assert "登记并获取密钥" in _text(client.get("/opendata/developers/"))
    response = client.post("/opendata/developers/", FORM)
    assert response.status_code == 200
    secret = response.context["issued"].secret
    html = _text(response)
    assert f'<code class="secret" id="new-api-key">{secret}</code>' in html
    assert "密钥只显示这一次" in html
    assert api_key_for(secret).developer.user == user
    page = _text(client.get("/opendata/developers/"))
    assert secret not in page and f"<code>{secret[:12]}…</code>" in page
    assert "测试 办事地图" in page and "每个密钥每分钟 60 次" in page
    assert AuditEvent.objects.filter(action="opendata.api_key_create", actor=user).count() == 1


def test_a_bad_registration_shows_what_to_fix_and_makes_nothing(client):
    client.force_login(UserFactory())
    response = client.post("/opendata/developers/", {**FORM, "contact_email": "nope"})
    assert response.status_code == 422
    assert "请填写有效的联系邮箱" in _text(response)
    assert Developer.objects.count() == 0 and ApiKey.objects.count() == 0


def test_a_new_key_replaces_the_old_one_and_revoking_stops_it(client, issued):
    user = issued.key.developer.user
    client.force_login(user)
    assert "创建新密钥后，现有密钥立即失效" in _text(client.get("/opendata/developers/"))
    response = client.post("/opendata/developers/keys/new/")
    fresh = response.context["issued"]
    assert "原有密钥已失效" in _text(response)
    assert api_key_for(issued.secret) is None and api_key_for(fresh.secret) == fresh.key
    revoked = client.post(f"/opendata/developers/keys/{fresh.key.pk}/revoke/", follow=True)
    assert f"已撤销密钥 {fresh.key.key_prefix}…" in _text(revoked)
    assert api_key_for(fresh.secret) is None
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0


def test_one_account_cannot_revoke_another_accounts_key(client, issued):
    intruder = register(app_name="别人的应用").key.developer.user
    client.force_login(intruder)
    audits = AuditEvent.objects.count()
    response = client.post(f"/opendata/developers/keys/{issued.key.pk}/revoke/", follow=True)
    assert "未找到该密钥" in _text(response)
    key = ApiKey.objects.get(pk=issued.key.pk)
    assert key.revoked_at is None and api_key_for(issued.secret) == key
    assert AuditEvent.objects.count() == audits
    # Nor does their page list it.
    assert issued.key.key_prefix not in _text(client.get("/opendata/developers/"))


def test_the_usage_page_shows_calls_per_day_and_dataset_and_the_limit(client, issued):
    today = timezone.localdate()
    ApiKeyDailyUsage.objects.create(key=issued.key, day=today, dataset="halls", calls=12, refused=2)
    ApiKeyDailyUsage.objects.create(
        key=issued.key, day=today - dt.timedelta(days=3), dataset="policies", calls=4
    )
    client.force_login(issued.key.developer.user)
    html = _text(client.get("/opendata/developers/usage/"))
    assert "共成功调用 16 次，因超过频率上限被拒绝 2 次。调用上限为每个密钥每分钟 60 次" in html
    day = f"{today.month}月{today.day}日"
    assert (
        f'<tr><th scope="row">{day}</th><td data-label="数据集">政务服务大厅及开放时间</td>'
        '<td data-label="成功调用">12</td><td data-label="被拒绝">2</td></tr>'
    ) in html


def test_usage_of_an_account_that_is_no_developer_leads_to_registration(client):
    client.force_login(UserFactory())
    response = client.get("/opendata/developers/usage/")
    assert (response.status_code, response["Location"]) == (302, "/opendata/developers/")
