"""Hostile multipart payloads to the submit endpoint: always a coded 4xx, never a 5xx."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.cases.models import Application

PAYLOADS = [
    "not json",
    "[]",
    "null",
    json.dumps({"kind": 1, "code": "birth"}),
    json.dumps({"kind": "bundle", "code": "nope"}),
    json.dumps({"kind": "thing", "code": "birth"}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {"x": {"y": 1}}}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": [1, 2]}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "form_data": [1]}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "materials": [1]}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "materials": {"a": 1}}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "delivery": ["x"]}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "enterprise_id": "1"}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "enterprise_id": 10**30}),
    json.dumps({"kind": "bundle", "code": "birth", "answers": {}, "resident_id_number": 5}),
    json.dumps(
        {
            "kind": "bundle",
            "code": "birth",
            "answers": {"born_in_city": "yes"},
            "form_data": {"child.birth_date": 12, "child.sex": ["F"], "applicant.phone": None},
        }
    ),
    "[" * 5000 + "]" * 5000,
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_payloads_are_coded_4xx(client, resident, staff, payload):
    client.force_login(resident.user)
    response = client.post(
        "/api/v1/cases",
        data={"payload": payload, "material.x": SimpleUploadedFile("x.bin", b"\x00\x01")},
        HTTP_IDEMPOTENCY_KEY="hostile",
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] and body["message"]
    assert Application.objects.count() == 0
