"""The OpenAPI document names every body once: two request schemas with one name made
`POST certificates/verify` document the reviews body and the task decision the appeal's."""

import pytest

pytestmark = pytest.mark.django_db


def _body_schema(doc, path, method="post"):
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def test_each_endpoint_documents_its_own_body(client):
    doc = client.get("/api/v1/openapi.json").json()
    verify = _body_schema(doc, "/api/v1/certificates/verify")
    assert set(verify["properties"]) == {"text"}
    decision = _body_schema(doc, "/api/v1/workbench/tasks/{task_id}/decision")
    assert {"decision", "reason", "row_version", "produced"} <= set(decision["properties"])


def test_no_two_schemas_of_the_api_share_a_name():
    from ninja import Schema

    from tongban.api import api  # noqa: F401  (imports every router)

    seen: dict[str, list[type]] = {}

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("tongban."):
                seen.setdefault(sub.__name__, []).append(sub)
            walk(sub)

    walk(Schema)
    # One name may be declared in several modules only for the very same shape ({code,
    # message} errors); anything else would overwrite another endpoint's documentation.
    clashes = {
        name: sorted(c.__module__ for c in classes)
        for name, classes in seen.items()
        if len({str(c.model_json_schema()) for c in classes}) > 1
    }
    assert clashes == {}
