"""/api/v1/opendata/: the DCAT-AP description field by field, and the data rows behind an API
key — the key matrix, paging, suppression, and the rate limit's exact 429."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.opendata.models import ApiKeyDailyUsage
from tongban.opendata.selectors import CONTEXT
from tongban.opendata.services import api_key_create, api_key_revoke
from tongban.opendata.tests.conftest import register

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
LICENSE = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
PUBLISHER = {"@type": "foaf:Agent", "foaf:name": "示例城市政务服务中心（示例）"}
ROWS = "/api/v1/opendata/datasets/bundles/rows"


def test_a_dataset_is_described_in_dcat_ap(client, catalog):
    response = client.get("/api/v1/opendata/datasets/bundles")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    doc = response.json()
    assert next(iter(doc)) == "@context"
    modified = doc.pop("dct:modified")
    loaded = timezone.localtime(catalog_loaded_at()).isoformat(timespec="seconds")
    assert modified == loaded
    assert doc == {
        "@context": CONTEXT,
        "@id": f"{BASE}/opendata/bundles/",
        "@type": "dcat:Dataset",
        "dct:identifier": "bundles",
        "dct:title": "一件事主题服务目录",
        "dct:description": "把多个部门的事项合并为一次申请的“一件事”：牵头部门、包含的事项、"
        "需回答的情形数和承诺办结时限。每个一件事一行，定义变更后即更新。",
        "dct:publisher": PUBLISHER,
        "dct:license": LICENSE,
        "dct:accrualPeriodicity": "http://publications.europa.eu/resource/authority/frequency/IRREG",
        "dct:language": "http://publications.europa.eu/resource/authority/language/ZHO",
        "dcat:keyword": ["一件事", "主题服务", "一网通办", "跨部门"],
        "dcat:theme": ["http://publications.europa.eu/resource/authority/data-theme/GOVE"],
        "dcat:landingPage": f"{BASE}/opendata/bundles/",
        "dcat:distribution": [
            {
                "@id": f"{BASE}/opendata/bundles.csv",
                "@type": "dcat:Distribution",
                "dct:title": "一件事主题服务目录（CSV）",
                "dct:format": "http://publications.europa.eu/resource/authority/file-type/CSV",
                "dcat:mediaType": "http://www.iana.org/assignments/media-types/text/csv",
                "dcat:downloadURL": f"{BASE}/opendata/bundles.csv",
                "dcat:accessURL": f"{BASE}/opendata/bundles.csv",
                "dct:license": LICENSE,
            },
            {
                "@id": f"{BASE}/opendata/bundles.json",
                "@type": "dcat:Distribution",
                "dct:title": "一件事主题服务目录（JSON）",
                "dct:format": "http://publications.europa.eu/resource/authority/file-type/JSON",
                "dcat:mediaType": "http://www.iana.org/assignments/media-types/application/json",
                "dcat:downloadURL": f"{BASE}/opendata/bundles.json",
                "dcat:accessURL": f"{BASE}/opendata/bundles.json",
                "dct:license": LICENSE,
            },
            {
                "@id": f"{BASE}{ROWS}",
                "@type": "dcat:Distribution",
                "dct:title": "数据接口（需接口密钥）",
                "dct:description": "分页读取数据行（limit、offset），"
                "请求头 X-API-Key 携带接口密钥。",
                "dct:format": "http://publications.europa.eu/resource/authority/file-type/JSON",
                "dcat:mediaType": "http://www.iana.org/assignments/media-types/application/json",
                "dcat:accessURL": f"{BASE}{ROWS}",
                "dct:license": LICENSE,
                "dcat:accessService": {
                    "@type": "dcat:DataService",
                    "dct:title": "一网通办开放数据接口",
                    "dcat:endpointURL": f"{BASE}/api/v1/",
                    "dcat:endpointDescription": f"{BASE}/api/v1/openapi.json",
                },
            },
        ],
    }


def catalog_loaded_at():
    from tongban.catalog.models import Bundle

    return max(b.current.loaded_at for b in Bundle.objects.filter(is_active=True))


def test_the_catalogue_lists_every_dataset_and_is_json_ld_when_asked(client, catalog, settings):
    settings.TONGBAN_OPENDATA_PUBLISHER = "测试市大数据中心"
    settings.TONGBAN_OPENDATA_PUBLISHER_URI = "https://data.example.test/"
    response = client.get("/api/v1/opendata/catalog", HTTP_ACCEPT="application/ld+json")
    assert response["Content-Type"] == "application/ld+json; charset=utf-8"
    assert "Accept" in [part.strip() for part in response["Vary"].split(",")]
    doc = response.json()
    publisher = {"@id": "https://data.example.test/", "@type": "foaf:Agent",
                 "foaf:name": "测试市大数据中心"}  # fmt: skip
    assert {k: v for k, v in doc.items() if k not in ("dcat:dataset", "dct:modified")} == {
        "@context": CONTEXT,
        "@id": f"{BASE}/api/v1/opendata/catalog",
        "@type": "dcat:Catalog",
        "dct:title": "一网通办开放数据目录（示例城市）",
        "dct:description": "一网通办平台向社会开放的公共数据：政务服务事项和一件事目录、政务服务"
        "大厅、电子证照类型、惠企利民政策，以及按月汇总的办件和好差评统计。不含任何个人信息；"
        "统计中的小数不公开。本站为示例城市，数据均为示例。",
        "dct:publisher": publisher,
        "dct:license": LICENSE,
        "dct:language": "http://publications.europa.eu/resource/authority/language/ZHO",
        "foaf:homepage": f"{BASE}/opendata/",
    }
    datasets = doc["dcat:dataset"]
    periodicity = [
        (d["dct:identifier"], d["dct:accrualPeriodicity"].rsplit("/", 1)[1]) for d in datasets
    ]
    assert periodicity == [
        ("service-items", "IRREG"),
        ("bundles", "IRREG"),
        ("halls", "IRREG"),
        ("certificate-types", "IRREG"),
        ("policies", "IRREG"),
        ("service-figures-monthly", "MONTHLY"),
        ("review-figures-monthly", "MONTHLY"),
    ]  # fmt: skip
    assert all(d["dct:publisher"] == publisher for d in datasets)
    assert doc["dct:modified"] == max(d["dct:modified"] for d in datasets)
    # The figures say in their description how small cells are treated.
    assert (
        "小于10的计数不公开（表格文件中留空，数据文件和接口中为空值）"
        in datasets[5]["dct:description"]
    )


def test_an_unknown_dataset_is_a_coded_404(client):
    response = client.get("/api/v1/opendata/datasets/no-such-thing")
    assert (response.status_code, response.json()) == (
        404,
        {"code": "DATASET_NOT_FOUND", "message": "未找到该数据集"},
    )


# ---------------------------------------------------------------- rows behind a key


@pytest.mark.parametrize(
    ("key", "code"),
    [
        (None, "API_KEY_REQUIRED"),
        ("", "API_KEY_REQUIRED"),
        ("tbod_notakeyatall", "API_KEY_INVALID"),
        ("Bearer something", "API_KEY_INVALID"),
    ],
)
def test_rows_without_a_valid_key_are_401_and_count_nothing(client, catalog, issued, key, code):
    headers = {} if key is None else {"HTTP_X_API_KEY": key}
    response = client.get(ROWS, **headers)
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert ApiKeyDailyUsage.objects.count() == 0


def test_a_revoked_key_is_401_and_the_new_one_works(client, catalog, issued):
    replacement = api_key_create(actor=issued.key.developer.user)
    old = client.get(ROWS, HTTP_X_API_KEY=issued.secret)
    assert (old.status_code, old.json()) == (
        401,
        {
            "code": "API_KEY_INVALID",
            "message": "接口密钥无效或已撤销，请在“开放数据 · 开发者”页面创建新密钥",
        },
    )
    assert client.get(ROWS, HTTP_X_API_KEY=replacement.secret).status_code == 200
    api_key_revoke(actor=issued.key.developer.user, key_id=replacement.key.pk)
    assert client.get(ROWS, HTTP_X_API_KEY=replacement.secret).status_code == 401


def test_a_good_key_pages_through_the_rows_with_their_dictionary(client, catalog, issued):
    response = client.get(ROWS, {"limit": 1, "offset": 1}, HTTP_X_API_KEY=issued.secret)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["dataset"], body["total"], body["offset"], body["limit"]) == ("bundles", 2, 1, 1)
    assert [r["code"] for r in body["rows"]] == ["enterprise_opening"]
    assert body["columns"][0] == {
        "name": "code", "title": "一件事编码", "type": "text", "description": ""
    }  # fmt: skip
    assert [c["name"] for c in body["columns"]] == list(body["rows"][0])
    past_the_end = client.get(ROWS, {"offset": 5}, HTTP_X_API_KEY=issued.secret).json()
    assert (past_the_end["total"], past_the_end["rows"]) == (2, [])
    usage = ApiKeyDailyUsage.objects.get()
    assert (usage.dataset, usage.calls, usage.refused) == ("bundles", 2, 0)


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"offset": -1}])
def test_paging_out_of_bounds_is_a_coded_422(client, issued, query):
    response = client.get(ROWS, query, HTTP_X_API_KEY=issued.secret)
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_INPUT")


def test_an_unknown_dataset_behind_a_good_key_is_404_and_not_counted(client, issued):
    response = client.get("/api/v1/opendata/datasets/nothing/rows", HTTP_X_API_KEY=issued.secret)
    assert (response.status_code, response.json()["code"]) == (404, "DATASET_NOT_FOUND")
    assert ApiKeyDailyUsage.objects.count() == 0


def test_the_call_past_the_limit_is_429_with_retry_after(
    client, catalog, issued, settings, monkeypatch
):
    settings.TONGBAN_OPENDATA_RATE_LIMIT = 5
    # 14:30:50 in Shanghai: ten seconds of the minute are left.
    moment = dt.datetime(2026, 11, 20, 6, 30, 50, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    statuses = [client.get(ROWS, HTTP_X_API_KEY=issued.secret).status_code for _ in range(5)]
    assert statuses == [200] * 5
    refused = client.get(ROWS, HTTP_X_API_KEY=issued.secret)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "10"
    assert refused.json() == {
        "code": "API_RATE_LIMITED",
        "message": "调用过于频繁：每个密钥每分钟最多调用5次，请10秒后再试",
    }
    # Another developer's key has its own count.
    other = register(app_name="另一个应用")
    assert client.get(ROWS, HTTP_X_API_KEY=other.secret).status_code == 200
    # The next minute the first key is admitted again.
    monkeypatch.setattr(timezone, "now", lambda: moment + dt.timedelta(seconds=10))
    assert client.get(ROWS, HTTP_X_API_KEY=issued.secret).status_code == 200
    usage = ApiKeyDailyUsage.objects.get(key=issued.key)
    assert (usage.day, usage.calls, usage.refused) == (dt.date(2026, 11, 20), 6, 1)


def test_rows_carry_the_suppressed_figures(client, issued, monkeypatch):
    raw = {
        "month": "2026-11", "department_code": "tax", "department_name": "市税务局",
        "item_code": "invoice_application", "item_name": "发票申领", "ratings": 12,
        "satisfied": 12, "dissatisfied": 0, "orders": 0, "orders_closed": 0,
        "orders_closed_on_time": 0,
    }  # fmt: skip
    monkeypatch.setattr("tongban.metrics.selectors.open_review_rows", lambda: [raw])
    body = client.get(
        "/api/v1/opendata/datasets/review-figures-monthly/rows", HTTP_X_API_KEY=issued.secret
    ).json()
    assert body["rows"] == [
        {
            "month": "2026-11",
            "department_code": "tax",
            "department_name": "市税务局",
            "item_code": "invoice_application",
            "item_name": "发票申领",
            "ratings": 12,
            "satisfied": 12,
            "dissatisfied": None,
            "orders": None,
            "orders_closed": None,
            "orders_closed_on_time": None,
            "satisfaction_rate": 1.0,
            "dissatisfaction_rate": None,
            "rectification_rate": None,
            "on_time_rectification_rate": None,
        }
    ]
