import pytest


@pytest.mark.django_db
def test_pages_carry_security_headers(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_unknown_api_path_is_a_coded_404(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "未找到您要访问的页面或数据"}


@pytest.mark.django_db
def test_unknown_page_is_a_chinese_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "未找到您要访问的页面或数据" in response.content.decode()


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body", "content_type"),
    [
        ("get", "/api/v1/catalog/items/%00", None, None),
        ("get", "/api/v1/catalog/items?q=%00", None, None),
        ("post", "/api/v1/catalog/bundles/x/guide", '{"answers": {"a": "\\u0000"}}', JSON),
        ("post", "/accounts/login/", "username=a%00&password=b", FORM),
    ],
)  # fmt: skip
def test_nul_characters_are_refused_with_a_code_before_any_view(
    client, method, url, body, content_type
):
    from tongban.accounts.models import LoginAttempt

    kwargs = {"data": body, "content_type": content_type} if body else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 400
    assert "输入中含有不允许的控制字符" in response.content.decode()
    if url.startswith("/api/"):
        assert response.json()["code"] == "INVALID_CHARACTERS"
    assert LoginAttempt.objects.count() == 0  # the login view never ran


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body", "content_type"),
    [
        ("post", "/api/v1/catalog/bundles/x/guide", '{"answers": {"a": "\\u0000b"}}', JSON),
        ("post", "/api/v1/catalog/bundles/x/guide", '{"answers": {"\\u0000": "b"}}', JSON),
        ("post", "/api/v1/catalog/bundles/x/guide", '[[{"a": ["x\\u0000"]}]]', JSON),
        ("post", "/api/v1/catalog/bundles/x/guide", '{"answers": {"a": "b\x00"}}', JSON),
        ("post", "/accounts/login/", "username=a&pass%00word=b", FORM),
        ("get", "/api/v1/catalog/search?q=a&%00=b", None, None),
    ],
)  # fmt: skip
def test_nul_is_refused_wherever_it_decodes(client, method, url, body, content_type):
    kwargs = {"data": body, "content_type": content_type} if body else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 400
    assert "输入中含有不允许的控制字符" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "body", "content_type"),
    [
        # Base45 texts (certificates, 随申码) hold `%00` as three ordinary characters.
        ("post", "/api/v1/certificates/verify", '{"text": "TB1:%00ABC"}', JSON),
        ("post", "/api/v1/certificates/verify", '{"text": "TB1:\\\\u0000"}', JSON),
        ("post", "/certificates/verify/", "text=TB1%3A%2500ABC", FORM),
        ("get", "/api/v1/catalog/search?q=%2500", None, None),
    ],
)  # fmt: skip
def test_percent_00_as_text_is_not_a_nul(client, method, url, body, content_type):
    kwargs = {"data": body, "content_type": content_type} if body else {}
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 200
    if url.startswith("/api/v1/certificates"):
        assert response.json()["result"] == "malformed"
