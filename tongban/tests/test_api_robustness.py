"""Every operation in the OpenAPI document, fed hostile input, answers 4xx with {code, message},
never 5xx. New endpoints are covered automatically as soon as they are in the document."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

HOSTILE_STRINGS = [
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999999999",
    "上户口" * 400,
    "\x00",
    "%00",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "😀",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]
HOSTILE_BODIES = [
    b"",
    b"not json",
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"12",
    json.dumps({"answers": None}).encode(),
    json.dumps({"answers": []}).encode(),
    json.dumps({"answers": {"x": {"y": 1}}}).encode(),
    json.dumps({"answers": {"a" * 5000: "b" * 5000}}).encode(),
    json.dumps({"answers": {str(i): str(i) for i in range(2000)}}).encode(),
    ("[" * 5000 + "]" * 5000).encode(),
    b"\xff\xfe\x00garbage",
]


def _operations(client: Client) -> list[tuple[str, str]]:
    spec = client.get("/api/v1/openapi.json").json()
    ops = []
    for path, methods in spec["paths"].items():
        for method in methods:
            if method in {"get", "post", "put", "patch", "delete"}:
                ops.append((method, path))
    return ops


def _fill(path: str, value: str) -> str:
    from urllib.parse import quote

    return re.sub(r"\{[^}]+\}", quote(value, safe=""), path)


def _assert_coded_4xx_or_ok(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    if response.status_code >= 400 and response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert isinstance(body.get("code"), str) and body["code"], what
        assert isinstance(body.get("message"), str) and body["message"], what


@pytest.mark.django_db
def test_openapi_document_is_served_and_lists_the_public_paths(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/health" in spec["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("user_kind", ["anonymous", "resident", "staff"])
def test_no_operation_answers_5xx_to_hostile_input(client, user_kind):
    from tongban.accounts.tests.factories import (
        DepartmentFactory,
        ResidentProfileFactory,
        StaffFactory,
        UserFactory,
    )

    if user_kind == "resident":
        user = UserFactory()
        ResidentProfileFactory(user=user)
        client.force_login(user)
    elif user_kind == "staff":
        client.force_login(StaffFactory(department=DepartmentFactory(), role="reviewer"))

    for method, path in _operations(client):
        call = getattr(client, method)
        for value in HOSTILE_STRINGS:
            url = _fill(path, value) if "{" in path else path
            query = {"q": value, "purpose": value, "version": value, "department": value}
            if method == "get":
                _assert_coded_4xx_or_ok(call(url, query), f"{method.upper()} {url}")
            else:
                _assert_coded_4xx_or_ok(
                    call(url, data=b"{}", content_type="application/json"),
                    f"{method.upper()} {url}",
                )
        if method != "get":
            url = _fill(path, "birth")
            for body in HOSTILE_BODIES:
                response = call(url, data=body, content_type="application/json")
                _assert_coded_4xx_or_ok(response, f"{method.upper()} {url} body={body[:30]!r}")


def _integer_parameters(spec: dict) -> list[tuple[str, str, str, dict]]:
    found = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                options = schema.get("anyOf", [schema])
                for option in options:
                    if option.get("type") == "integer":
                        found.append((method, path, parameter["name"], option))
    return found


@pytest.mark.django_db
def test_every_integer_path_and_query_parameter_is_bounded(client):
    """An unbounded integer reaches the database, which cannot bind 2**63 (a 500). The bounded
    types in tongban.common.apitypes carry the limits; this holds every endpoint to them."""
    spec = client.get("/api/v1/openapi.json").json()
    parameters = _integer_parameters(spec)
    assert len(parameters) >= 10
    unbounded = [
        f"{method.upper()} {path} {name}"
        for method, path, name, schema in parameters
        if "minimum" not in schema or schema.get("maximum", 2**63) > 2**63 - 1
    ]
    assert unbounded == []


OUT_OF_RANGE = [str(2**63), "-1"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", OUT_OF_RANGE)
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/me/notices?offset={}"),
        ("get", "/api/v1/me/notices?limit={}"),
        ("post", "/api/v1/me/notices/{}/read"),
        ("get", "/api/v1/me/certificates/{}"),
        ("get", "/api/v1/workbench/tasks/{}"),
        ("post", "/api/v1/workbench/tasks/{}/claim"),
        ("get", "/api/v1/me/data-access?page={}"),
        ("get", "/api/v1/enterprises/{}/idcode"),
        ("get", "/api/v1/reviews/orders/{}"),
        ("get", "/api/v1/catalog/items/x?version={}"),
        ("get", "/api/v1/catalog/search?limit={}"),
    ],
)  # fmt: skip
def test_out_of_range_integers_are_a_coded_422(client, method, url, value):
    from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory

    # A reviewer who is also a resident passes every endpoint's login and staff check.
    user = StaffFactory(role="reviewer")
    ResidentProfileFactory(user=user)
    client.force_login(user)
    body = {"data": {}, "content_type": "application/json"} if method == "post" else {}
    response = getattr(client, method)(url.format(value), **body)
    assert response.status_code == 422, response.content
    body = response.json()
    assert (body["code"], body["message"]) == ("INVALID_INPUT", "请求格式不正确")
