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
