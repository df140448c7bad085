"""The OpenAPI document lists every refusal an operation can give, each with the one
{code, message} shape, and the values the services accept for a choice as an enum.

The statuses that follow from how an operation is called are checked here for every
operation, so a new endpoint cannot forget them: 400 (a NUL character, or a JSON body that
does not parse), 401 (no login), 403 (a staff post, or a session write without its CSRF
token) and 422 (a parameter or body of the wrong type or value)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _document(client) -> dict:
    return client.get("/api/v1/openapi.json").json()


def _operations(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def _free_text(parameter: dict) -> bool:
    """A parameter any string satisfies: no type of its own, so never a 422."""
    schema = {k: v for k, v in parameter["schema"].items() if k != "title"}
    return all(o in ({"type": "string"}, {"type": "null"}) for o in schema.get("anyOf", [schema]))


def _expected_statuses(method: str, operation: dict) -> set[str]:
    expected = set()
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        expected.add("400")
    if "requestBody" in operation or not all(_free_text(p) for p in parameters):
        expected.add("422")
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if schemes:
        expected.add("401")
    if "StaffSessionAuth" in schemes or ("SessionAuth" in schemes and method != "get"):
        expected.add("403")
    return expected


def test_every_operation_documents_the_refusals_its_calling_allows(client):
    missing = {}
    for method, path, operation in _operations(_document(client)):
        absent = _expected_statuses(method, operation) - set(operation["responses"])
        if absent:
            missing[f"{method.upper()} {path}"] = sorted(absent)
    assert missing == {}


def test_every_refusal_is_documented_with_the_error_shape(client):
    doc = _document(client)
    other = {}
    for method, path, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = response["content"]["application/json"]["schema"]
            if schema != ERROR_REF:
                other[f"{method.upper()} {path} {status}"] = schema
    # A refused scan says why in the scan's own words, and carries the code as well.
    assert other == {"POST /api/v1/idcode/scan 403": {"$ref": "#/components/schemas/RefusedOut"}}
    refused = doc["components"]["schemas"]["RefusedOut"]
    assert {"code", "message"} <= set(refused["required"])
    error = doc["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["code", "message"]


def test_the_framework_refusals_really_have_the_error_shape(client):
    """What ninja itself refuses (a body that does not parse, a value of the wrong type, no
    login) goes through tongban.api's handlers into the documented shape."""
    from tongban.accounts.tests.factories import ResidentProfileFactory

    client.force_login(ResidentProfileFactory().user)
    unparsable = client.post("/api/v1/me/form-prefill", data=b"{", content_type="application/json")
    wrong_type = client.get("/api/v1/me/notices", {"limit": "many"})
    client.logout()
    anonymous = client.get("/api/v1/me/cases")
    assert unparsable.status_code == 400
    assert unparsable.json() == {"code": "HTTP_400", "message": "Cannot parse request body"}
    assert wrong_type.status_code == 422
    assert wrong_type.json() == {
        "code": "INVALID_INPUT",
        "message": "请求格式不正确",
        "details": [
            {
                "field": "query.limit",
                "message": "Input should be a valid integer, unable to parse string as an integer",
            }
        ],
    }
    assert (anonymous.status_code, anonymous.json()) == (
        401,
        {"code": "AUTHENTICATION_REQUIRED", "message": "请先登录"},
    )


def _enum(doc, schema_name: str, field: str) -> list:
    prop = doc["components"]["schemas"][schema_name]["properties"][field]
    return next(o["enum"] for o in prop.get("anyOf", [prop]) if "enum" in o)


def test_choices_the_services_enforce_are_enums_in_the_document(client):
    doc = _document(client)
    assert _enum(doc, "TaskDecisionIn", "decision") == ["approved", "denied"]
    assert _enum(doc, "PrefillIn", "kind") == ["bundle", "item"]
    assert _enum(doc, "DraftIn", "kind") == ["bundle", "item"]
    assert _enum(doc, "CaseOut", "delivery") == ["online", "counter", "post"]
    assert _enum(doc, "CaseOut", "channel") == ["online", "counter", "auto"]
    assert _enum(doc, "RateIn", "subject") == ["online", "filing", "handout"]
    assert _enum(doc, "RatingOut", "channel") == ["online", "in_person"]
    assert _enum(doc, "VerdictIn", "verdict") == ["satisfied", "unsatisfied"]
    assert _enum(doc, "AppealIn", "reason") == ["mistaken", "malicious"]
    assert _enum(doc, "OrderVerifyIn", "classification") == [
        "attitude",
        "process",
        "materials",
        "system",
        "policy",
        "mistaken",
        "other",
    ]
    level = doc["components"]["schemas"]["RateIn"]["properties"]["level"]
    assert (level["minimum"], level["maximum"]) == (1, 5)
    stats = doc["paths"]["/api/v1/reviews/stats"]["get"]["parameters"]
    by = next(p for p in stats if p["name"] == "by")
    assert by["schema"]["enum"] == ["item", "department", "hall", "channel"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/workbench/tasks/1/decision", {"decision": "maybe", "row_version": 1}),
        ("/api/v1/me/form-prefill", {"kind": "thing", "code": "birth"}),
    ],
)
def test_a_value_outside_the_enum_is_refused_before_anything_runs(client, url, body):
    from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
    from tongban.common.models import AuditEvent

    user = StaffFactory(role="reviewer")
    ResidentProfileFactory(user=user)
    client.force_login(user)
    audits = AuditEvent.objects.count()
    response = client.post(url, data=body, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"
    field = "decision" if "decision" in body else "kind"
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert AuditEvent.objects.count() == audits
