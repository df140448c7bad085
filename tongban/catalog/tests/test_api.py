from __future__ import annotations

import json

import pytest
from django.test import Client

from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import edit

pytestmark = pytest.mark.django_db

BASE = "/api/v1/catalog"
ANSWERS = {
    "born_in_city": "yes",
    "want_sscard": "no",
    "parents_married": "yes",
    "marriage_local": "yes",
}
BORN = "孩子是否在本市医疗机构出生？"


def post(client, url, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


@pytest.mark.usefixtures("loaded")
def test_item_list_and_filters(client):
    response = client.get(f"{BASE}/items")
    assert response.status_code == 200
    rows = response.json()
    assert [r["code"] for r in rows] == [
        "birth_registration",
        "enterprise_establishment",
        "invoice_application",
        "medical_insurance_enrolment",
        "seal_engraving",
        "social_security_card",
        "vaccination_certificate",
    ]
    expected = {
        "name": "出生登记",
        "type": "行政确认",
        "department": "police",
        "department_name": "市公安局",
        "handling": "promised",
        "promised_days": 5,
        "online": True,
    }
    assert {k: rows[0][k] for k in expected} == expected
    by_department = client.get(f"{BASE}/items", {"department": "police"}).json()
    assert [r["code"] for r in by_department] == ["birth_registration", "seal_engraving"]
    enterprise = client.get(f"{BASE}/items", {"subject": "enterprise"}).json()
    assert [r["code"] for r in enterprise] == [
        "enterprise_establishment",
        "invoice_application",
        "seal_engraving",
    ]
    searched = client.get(f"{BASE}/items", {"q": "上户口"}).json()
    assert searched[0]["code"] == "birth_registration"
    assert client.get(f"{BASE}/items", {"subject": "alien"}).status_code == 422


@pytest.mark.usefixtures("loaded")
def test_item_detail_is_the_full_guide(client):
    body = client.get(f"{BASE}/items/birth_registration").json()
    assert (body["code"], body["department"], body["department_name"]) == (
        "birth_registration",
        "police",
        "市公安局",
    )
    assert (body["version"], body["latest_version"], body["is_active"]) == (1, 1, True)
    assert body["time_limit"] == {"statutory_days": 30, "promised_days": 5}
    assert body["materials"][2]["copies"] == 2
    assert body["materials"][3]["when"] == {"parents_married": "yes", "marriage_local": "no"}
    assert body["legal_basis"] == ["《中华人民共和国户口登记条例》第七条"]
    assert body["outputs"] == [
        {
            "certificate_type": "household_register_page",
            "name": "居民户口簿（新生儿页）",
            "holder": "child",
        }
    ]
    assert body["aliases"] == ["上户口", "报户口", "新生儿落户"]
    assert body["is_example"] is True


def test_old_versions_stay_readable_through_the_api(db, client, catalog_dir):
    catalog_load_directory(path=catalog_dir)
    edit(catalog_dir / "items/birth_registration.yaml", "promised_days: 5", "promised_days: 4")
    catalog_load_directory(path=catalog_dir)

    current = client.get(f"{BASE}/items/birth_registration").json()
    old = client.get(f"{BASE}/items/birth_registration", {"version": 1}).json()
    assert (current["version"], current["time_limit"]["promised_days"]) == (2, 4)
    assert (old["version"], old["latest_version"], old["time_limit"]["promised_days"]) == (1, 2, 5)
    versions = client.get(f"{BASE}/items/birth_registration/versions").json()
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
    missing = client.get(f"{BASE}/items/birth_registration", {"version": 3})
    assert missing.status_code == 404
    assert missing.json()["code"] == "ITEM_NOT_FOUND"


@pytest.mark.usefixtures("loaded")
def test_unknown_codes_are_coded_404s(client):
    cases = [
        (client.get(f"{BASE}/items/nope"), "ITEM_NOT_FOUND"),
        (client.get(f"{BASE}/items/nope/versions"), "ITEM_NOT_FOUND"),
        (client.get(f"{BASE}/bundles/nope"), "BUNDLE_NOT_FOUND"),
        (post(client, f"{BASE}/bundles/nope/guide", {"answers": {}}), "BUNDLE_NOT_FOUND"),
        (post(client, f"{BASE}/items/nope/guide", {"answers": {}}), "ITEM_NOT_FOUND"),
    ]
    for response, code in cases:
        assert response.status_code == 404
        assert response.json() == {
            "code": code,
            "message": "未找到该事项" if code == "ITEM_NOT_FOUND" else "未找到该一件事",
        }


@pytest.mark.usefixtures("loaded")
def test_bundles(client):
    rows = client.get(f"{BASE}/bundles").json()
    assert [(r["code"], r["items"]) for r in rows] == [
        (
            "birth",
            [
                "birth_registration",
                "vaccination_certificate",
                "medical_insurance_enrolment",
                "social_security_card",
            ],
        ),
        (
            "enterprise_opening",
            ["enterprise_establishment", "seal_engraving", "invoice_application"],
        ),
    ]
    body = client.get(f"{BASE}/bundles/birth").json()
    assert (body["name"], body["lead_department_name"], body["version"]) == (
        "出生一件事",
        "市公安局",
        1,
    )
    assert body["item_names"]["social_security_card"] == "社会保障卡申领"
    assert [s["code"] for s in body["situations"]] == ["born_in_city", "want_sscard"]


@pytest.mark.usefixtures("loaded")
def test_bundle_guide(client):
    response = post(client, f"{BASE}/bundles/birth/guide", {"answers": ANSWERS})
    assert response.status_code == 200
    body = response.json()
    assert [i["code"] for i in body["items"]] == [
        "birth_registration",
        "vaccination_certificate",
        "medical_insurance_enrolment",
    ]
    assert [(m["code"], [w["text"] for w in m["waivers"]]) for m in body["materials"]] == [
        ("birth_medical_certificate", ["可免提交：通过电子证照『出生医学证明』核验"]),
        ("household_register", ["可免提交：由公安人口信息核验"]),
        ("parent_id_card", ["可免提交：由公安人口信息核验"]),
    ]
    assert len(body["fields"]) == 7
    assert (body["promised_days"], body["critical_path_days"], body["max_visits"]) == (10, 8, 1)


@pytest.mark.usefixtures("loaded")
def test_yes_no_may_be_sent_as_json_booleans(client):
    answers = {**ANSWERS, "born_in_city": True, "want_sscard": False}
    body = post(client, f"{BASE}/bundles/birth/guide", {"answers": answers}).json()
    assert body["answers"]["born_in_city"] == "yes"
    assert body["answers"]["want_sscard"] == "no"


@pytest.mark.usefixtures("loaded")
def test_bad_answers_are_422_naming_each(client):
    response = post(
        client, f"{BASE}/bundles/birth/guide", {"answers": {"born_in_city": "maybe", "x": "1"}}
    )
    assert response.status_code == 422
    assert response.json() == {
        "code": "GUIDE_ANSWERS_INVALID",
        "message": "请回答全部问题后再查看材料清单",
        "details": [
            {"field": "born_in_city", "message": f"所选答案无效，请重新选择：{BORN}"},
            {"field": "want_sscard", "message": "请选择：是否同时为孩子申领社会保障卡？"},
            {"field": "parents_married", "message": "请选择：孩子父母是否已登记结婚？"},
            {"field": "x", "message": "没有名为 x 的问题"},
        ],
    }


@pytest.mark.usefixtures("loaded")
def test_malformed_bodies_are_4xx_never_500(client):
    for body in [
        "{bad json",
        "",
        "[1, 2]",
        '{"answers": [1]}',
        '{"answers": {"a": {"b": 1}}}',
        "null",
    ]:
        response = post(client, f"{BASE}/bundles/birth/guide", body)
        assert 400 <= response.status_code < 500, body
        assert "code" in response.json()


@pytest.mark.usefixtures("loaded")
def test_guide_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = post(client, f"{BASE}/items/seal_engraving/guide", {"answers": {}})
    assert response.status_code == 200
    assert response.json()["materials"][0]["code"] == "business_licence"


@pytest.mark.usefixtures("loaded")
def test_logged_in_resident_is_spared_materials(client, resident):
    _, user = resident
    client.force_login(user)
    body = post(client, f"{BASE}/bundles/birth/guide", {"answers": ANSWERS}).json()
    assert [m["code"] for m in body["materials"] if m["spared"]] == [
        "household_register",
        "parent_id_card",
    ]


@pytest.mark.usefixtures("loaded")
def test_search_endpoint(client):
    rows = client.get(f"{BASE}/search", {"q": "开公司"}).json()
    assert [(r["kind"], r["code"]) for r in rows] == [
        ("bundle", "enterprise_opening"),
        ("item", "enterprise_establishment"),
    ]


def test_openapi_describes_the_catalog(db, client):
    spec = client.get("/api/v1/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/catalog/")}
    assert paths == {
        "/api/v1/catalog/items",
        "/api/v1/catalog/items/{code}",
        "/api/v1/catalog/items/{code}/versions",
        "/api/v1/catalog/items/{code}/guide",
        "/api/v1/catalog/bundles",
        "/api/v1/catalog/bundles/{code}",
        "/api/v1/catalog/bundles/{code}/guide",
        "/api/v1/catalog/search",
        "/api/v1/catalog/search/answer",
    }
    guide = spec["paths"]["/api/v1/catalog/bundles/{code}/guide"]["post"]
    assert set(guide["responses"]) == {"200", "400", "404", "422"}
    result = spec["components"]["schemas"]["GuideResult"]["properties"]
    assert {"items", "materials", "fields", "critical_path_days", "materials_spared"} <= set(result)
    assert "department_name" in spec["components"]["schemas"]["ItemDetailOut"]["properties"]
