"""Answers to a logged-in person or a caller with credentials are never kept by a cache."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.idcode import services as idcode_services

pytestmark = pytest.mark.django_db

NO_STORE = "no-store, private"


@pytest.mark.parametrize(
    "path",
    [
        "/me/",
        "/me/notices/",
        "/me/cases/",
        "/me/reviews/",
        "/api/v1/me/notices",
        "/api/v1/me/profile",
        "/api/v1/me/cases",
        "/api/v1/me/idcode",
        "/api/v1/catalog/bundles",  # public data, but the answer may differ per person
        "/api/v1/no-such-thing",
    ],
)
def test_every_answer_to_a_logged_in_person_is_no_store(client, path):
    client.force_login(ResidentProfileFactory().user)
    response = client.get(path)
    assert response.status_code in (200, 404), path
    assert response["Cache-Control"] == NO_STORE


def test_a_view_that_chose_its_own_caching_keeps_it(client):
    client.force_login(ResidentProfileFactory().user)
    page = client.get("/me/idcode/")  # never_cache: stricter than the default, and its own
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"] and "max-age=0" in page["Cache-Control"]


def test_anonymous_answers_are_left_cacheable(client):
    for path in ("/", "/api/v1/catalog/bundles", "/api/v1/health"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Cache-Control" not in response, path


def test_static_files_for_a_logged_in_person_are_cacheable(client):
    client.force_login(ResidentProfileFactory().user)
    response = client.get("/static/portal/favicon.svg")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_a_scanners_answer_is_no_store(client):
    resident = ResidentProfileFactory()
    _, key = idcode_services.scanner_create(
        name="测试终端", organisation="示例单位", scenario_codes=["metro"], actor_label="test"
    )
    code = idcode_services.idcode_issue(user=resident.user).text
    response = client.post(
        "/api/v1/idcode/scan",
        data={"code": code, "scenario": "metro"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200 and response.json()["result"] == "ok"
    assert response["Cache-Control"] == NO_STORE
