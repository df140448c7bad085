"""/api/v1/docs: Swagger UI from the site's own static files, under the site's CSP."""

from __future__ import annotations

import re

import pytest

DOCS = "/api/v1/docs"


@pytest.mark.django_db
def test_docs_page_loads_nothing_from_another_host(client):
    response = client.get(DOCS)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"""(?:src|href)=["']?(?:https?:)?//""", html) == []
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert "/static/ninja/swagger-ui.css" in assets
    # No inline script: the settings travel as a JSON data block the bundle reads.
    for attributes in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
    assert '"validatorUrl": null' in html  # Swagger UI would otherwise call validator.swagger.io


@pytest.mark.django_db
def test_docs_page_carries_the_sites_csp(client):
    response = client.get(DOCS)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "default-src 'self';" in csp


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui-init.js",
        "/static/ninja/swagger-ui.css",
        "/static/ninja/favicon.svg",
    ],
)
def test_swagger_assets_are_served_by_the_site(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_docs_page_works_under_the_csp_with_no_outside_requests(page):
    violations: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: m.type == "error" and violations.append(m.text))
    page.on(
        "request",
        lambda r: (
            r.url.startswith(page.base_url) or r.url.startswith("data:") or outside.append(r.url)
        ),
    )
    page.goto(DOCS)
    # Swagger UI builds the page from the whole OpenAPI document in the browser; on a busy
    # two-core machine that alone has taken more than the default ten seconds.
    page.locator(".opblock").first.wait_for(timeout=45_000)
    assert page.locator(".opblock").count() > 40
    assert "tongban 一网通办 API" in page.locator(".title").inner_text()
    assert violations == []
    assert outside == []
