"""A database that cannot be reached is a 503 with Retry-After, never a 500 with a trace: pages
get the Chinese error page, API paths the API's JSON shape, whether the failure comes from a
view, a ninja operation, ninja's authentication or a middleware before the view.

The outage is simulated by making the connection refuse to connect, as psycopg does while the
server restarts (the restart itself is exercised by the crash test and by hand, README)."""

from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.test import Client

from tongban.appointments.middleware_kiosk import KIOSK_COOKIE

MESSAGE = "系统正在维护或暂时无法连接数据库，请稍后再试"
API_BODY = {"code": "SERVICE_UNAVAILABLE", "message": MESSAGE}
REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
)


@pytest.fixture
def database_down(db):
    """Every query fails to connect until the test ends (every cursor and transaction asks
    `ensure_connection` first). Undone here, before `db` rolls the test back."""
    calls = []

    def refuse():
        calls.append(1)
        raise OperationalError(REFUSED)

    with mock.patch.object(connections["default"], "ensure_connection", refuse):
        yield calls


@pytest.fixture
def client():
    # As a real server: the exception is answered by handler500, not re-raised into the test.
    return Client(raise_request_exception=False)


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.WARNING)
    return caplog


def _outage_lines(log) -> list[tuple[str, int, str, bool]]:
    return [
        (r.name, r.levelno, r.getMessage(), r.exc_info is not None)
        for r in log.records
        if r.levelno >= logging.WARNING
    ]


def _assert_api_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "10"
    assert json.loads(response.content) == API_BODY


def _assert_page_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Retry-After"] == "10"
    html = response.content.decode()
    assert f"<h1>{MESSAGE}</h1>" in html
    assert "错误代码 503" in html
    assert (
        "<title>系统正在维护或暂时无法连接数据库，请稍后再试 - 一网通办（示例城市）</title>" in html
    )
    # The header of a visitor not logged in: nothing was read to find out who is asking.
    assert '<a href="/accounts/login/">登录</a>' in html
    for leak in ("Traceback", "OperationalError", "Connection refused", "5432"):
        assert leak not in html


def test_a_page_answers_503_with_the_error_page(database_down, client, log):
    response = client.get("/policies/")
    _assert_page_503(response)
    assert database_down  # the view did try the database
    assert _outage_lines(log) == [
        (
            "tongban.errorpages",
            logging.WARNING,
            f"database unavailable, answered 503 to GET /policies/: OperationalError: {REFUSED}",
            False,
        )
    ]


def test_the_error_page_keeps_elder_mode_from_its_cookie(database_down, client):
    client.cookies["tongban_elder"] = "1"
    response = client.get("/policies/")
    _assert_page_503(response)
    assert '<body class="elder">' in response.content.decode()


def test_an_api_operation_answers_503_json(database_down, client, log):
    response = client.get("/api/v1/catalog/items")
    _assert_api_503(response)
    assert _outage_lines(log) == [
        (
            "tongban.errorpages",
            logging.WARNING,
            "database unavailable, answered 503 to GET /api/v1/catalog/items: "
            f"OperationalError: {REFUSED}",
            False,
        )
    ]


def test_api_authentication_that_reads_the_session_answers_503(database_down, client, log):
    client.cookies["sessionid"] = "k" * 32
    response = client.get("/api/v1/me/certificates")
    _assert_api_503(response)
    # Logged once although the session load failed again on the way out (PrivateResponses).
    assert len(_outage_lines(log)) == 1
    # The person stays logged in for when the database is back: the cookie is not deleted.
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize(
    ("path", "api"), [("/api/v1/health", True), ("/policies/", False)], ids=["api", "page"]
)
def test_a_middleware_reading_the_session_before_the_view_answers_503(
    database_down, client, log, path, api
):
    # On a kiosk browser the kiosk middleware reads the session before any view runs.
    client.cookies[KIOSK_COOKIE] = "kiosk-key"
    client.cookies["sessionid"] = "k" * 32
    response = client.get(path)
    if api:
        _assert_api_503(response)
    else:
        _assert_page_503(response)
    assert "sessionid" not in response.cookies
    lines = _outage_lines(log)
    assert [line[0] for line in lines] == ["tongban.errorpages"]
    assert lines[0][2] == (
        f"database unavailable, answered 503 to GET {path}: OperationalError: {REFUSED}"
    )


def test_a_view_that_needs_no_database_is_untouched(database_down, client):
    response = client.get("/api/v1/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert database_down == []


def test_other_errors_stay_a_500(rf):
    from tongban import errorpages

    request = rf.get("/api/v1/x")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = errorpages.server_error(request)
    assert response.status_code == 500
    assert json.loads(response.content) == {
        "code": "SERVER_ERROR",
        "message": "系统暂时无法处理您的请求，请稍后再试",
    }
    assert "Retry-After" not in response


def test_a_database_error_behind_another_error_is_a_503(rf):
    from tongban import errorpages

    request = rf.get("/api/v1/x")
    try:
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError as exc:
            raise RuntimeError("rollback failed") from exc
    except RuntimeError:
        response = errorpages.server_error(request)
    _assert_api_503(response)


def test_the_next_request_succeeds_once_the_database_is_back(db, client):
    conn = connections["default"]
    connect = conn.ensure_connection
    down = [True]

    def maybe_refuse():
        if down[0]:
            raise OperationalError(REFUSED)
        connect()

    with mock.patch.object(conn, "ensure_connection", maybe_refuse):
        assert client.get("/api/v1/catalog/items").status_code == 503
        assert client.get("/policies/").status_code == 503
        down[0] = False
        assert client.get("/api/v1/catalog/items").status_code == 200
        assert client.get("/policies/").status_code == 200
