"""The demo department systems over HTTP: the wire protocol, its refusals, fault injection."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests

from tongban.exchange import signing
from tongban.exchange.demo_sources import app as app_module
from tongban.exchange.demo_sources.app import (
    DemoSourcesApp,
    FaultSpecError,
    parse_fault,
    parse_faults,
)
from tongban.exchange.demo_sources.dataset import write_records
from tongban.exchange.demo_sources.server import definitions_folder, start

LI_JING = "310104199405129027"
NOBODY = "110101200001011234"
TECH = "91310115TB00000159"
BASIS = "《中华人民共和国居民身份证法》第十三条（示例）"
AS_OF = "2026-03-01T08:00:00+00:00"
RECORDS = {
    "gaj_population": {
        LI_JING: {
            "name": "李静",
            "gender": "女",
            "birth_date": "1994-05-12",
            "id_valid_until": "2040-06-24",
            "household_number": "310104D0000001",
        }
    },
    "scj_market_entity": {
        TECH: {"enterprise_name": "示例（上海）通办科技有限公司", "license_valid": True}
    },
}
REQUESTER = {
    "department": "SH-MZJ",
    "item": "SH-MZJ-0101",
    "receipt_no": "",
    "purpose": "核验申请人身份",
    "legal_basis": BASIS,
    "consent": "",
}


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "sources.sqlite3"
    write_records(path, RECORDS, as_of=AS_OF)
    return path


@pytest.fixture
def sources(store):
    running = start(db=store)
    yield running
    running.stop()


def _post(
    sources,
    body: dict | bytes,
    *,
    path="/ga/population",
    code="gaj_population",
    timestamp: int | None = None,
    signature: str | None = None,
    timeout=5,
):
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = signing.sign(
            signing.source_secret(code), timestamp=ts, method="POST", path=path, body=raw
        )
    return requests.post(
        sources.url + path,
        data=raw,
        headers={
            "Content-Type": "application/json",
            signing.TIMESTAMP_HEADER: ts,
            signing.SIGNATURE_HEADER: signature,
        },
        timeout=timeout,
    )


def _ask(key=LI_JING, elements=("name", "birth_date"), **overrides):
    return {
        "request_id": "3f1c0e0b9c2d4b7e8a6f5d4c3b2a1908",
        "key": key,
        "elements": list(elements),
        "requester": REQUESTER,
    } | overrides


def test_signed_request_answers_exactly_the_requested_elements(sources):
    response = _post(sources, _ask(elements=["name", "birth_date", "id_valid_until"]))
    assert response.status_code == 200
    assert response.json() == {
        "request_id": "3f1c0e0b9c2d4b7e8a6f5d4c3b2a1908",
        "found": True,
        "values": {"name": "李静", "birth_date": "1994-05-12", "id_valid_until": "2040-06-24"},
        "as_of": AS_OF,
    }


def test_element_the_system_does_not_hold_for_the_subject_is_omitted(sources):
    response = _post(sources, _ask(elements=["name", "guardian_name"]))
    assert response.json()["values"] == {"name": "李静"}


def test_no_record_is_found_false(sources):
    body = _post(sources, _ask(key=NOBODY)).json()
    assert (body["request_id"], body["found"], body["values"]) == (
        "3f1c0e0b9c2d4b7e8a6f5d4c3b2a1908",
        False,
        {},
    )
    assert body["as_of"].endswith("+00:00")


def test_enterprise_source_by_credit_code(sources):
    body = _ask(
        key=TECH,
        elements=["enterprise_name", "license_valid"],
        requester=REQUESTER | {"legal_basis": "《政务数据共享管理办法》第十条（示例）"},
    )
    response = _post(sources, body, path="/scj/market-entity", code="scj_market_entity")
    assert response.json()["values"] == {
        "enterprise_name": "示例（上海）通办科技有限公司",
        "license_valid": True,
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"signature": "0" * 64},
        {"signature": ""},
        {"skew": -signing.MAX_SKEW_SECONDS - 30},
        {"skew": signing.MAX_SKEW_SECONDS + 30},
        {"code": "cl_disability"},  # signed with another source's secret
    ],
    ids=["bad", "missing", "stale", "future", "other_secret"],
)
def test_bad_or_stale_signature_is_401(sources, kwargs):
    if "skew" in kwargs:  # from the clock when the test runs, not when it was collected
        kwargs = {"timestamp": int(time.time()) + kwargs["skew"]}
    response = _post(sources, _ask(), **kwargs)
    assert (response.status_code, response.json()) == (401, {"error": "SIGNATURE_INVALID"})


def test_signature_covers_the_body(sources, store):
    raw = json.dumps(_ask()).encode()
    ts = str(int(time.time()))
    signature = signing.sign(
        signing.source_secret("gaj_population"),
        timestamp=ts,
        method="POST",
        path="/ga/population",
        body=raw,
    )
    tampered = raw.replace(b"SH-MZJ-0101", b"SH-MZJ-0102")
    response = _post(sources, tampered, timestamp=int(ts), signature=signature)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_ask(elements=["name", "salary"]), "本系统没有这些数据项：salary"),
        (_ask(elements=[]), "elements 应为非空的数据项编码列表"),
        (_ask(key="31010419940512902"), "key 不是有效的公民身份号码"),
        (_ask(request_id=""), "缺少 request_id"),
        (_ask(requester=REQUESTER | {"purpose": ""}), "requester 缺少或错误的字段：purpose"),
        (
            _ask(requester={k: v for k, v in REQUESTER.items() if k != "department"}),
            "requester 缺少或错误的字段：department",
        ),
        (
            _ask(requester=REQUESTER | {"legal_basis": "随便"}),
            "legal_basis 不是本数据源登记的法律依据",
        ),
        (b"{not json", "请求体不是有效的 JSON"),
    ],
    ids=[
        "unknown_element",
        "no_elements",
        "bad_key",
        "no_request_id",
        "no_purpose",
        "no_department",
        "unregistered_legal_basis",
        "not_json",
    ],
)
def test_invalid_request_is_400_with_a_reason(sources, body, message):
    response = _post(sources, body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "REQUEST_INVALID", "message": message},
    )


def test_healthz_lists_the_http_sources_and_unknown_paths_are_404(sources):
    codes = requests.get(sources.url + "/healthz", timeout=5).json()["sources"]
    assert len(codes) == 23
    assert "gaj_population" in codes
    assert "mzj_economy_check" not in codes  # answered inside the platform
    assert requests.post(sources.url + "/nope", data=b"{}", timeout=5).status_code == 404
    assert requests.get(sources.url + "/ga/population", timeout=5).status_code == 405


def test_error_fault_answers_that_status_until_cleared(sources):
    sources.set_fault("gaj_population", "error:503")
    response = _post(sources, _ask())
    assert (response.status_code, response.json()) == (503, {"error": "FAULT_INJECTED"})
    # Another source is unaffected.
    other = _post(
        sources,
        _ask(key=TECH, elements=["license_valid"], requester=REQUESTER
             | {"legal_basis": "《政务数据共享管理办法》第十条（示例）"}),
        path="/scj/market-entity",
        code="scj_market_entity",
    )  # fmt: skip
    assert other.json()["values"] == {"license_valid": True}
    sources.set_fault("gaj_population", None)
    assert _post(sources, _ask()).json()["found"] is True


def test_star_fault_applies_to_every_source(sources):
    sources.set_fault("*", "error:500")
    assert _post(sources, _ask()).status_code == 500
    sources.clear_faults()
    assert _post(sources, _ask()).status_code == 200


def test_malformed_faults(sources):
    sources.set_fault("gaj_population", "malformed")
    response = _post(sources, _ask())
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)

    sources.set_fault("gaj_population", "malformed:shape")
    body = _post(sources, _ask()).json()
    assert "found" not in body and "request_id" not in body

    sources.set_fault("gaj_population", "malformed:types")
    body = _post(sources, _ask(elements=["name"])).json()
    assert (body["found"], body["values"], body["as_of"]) == (
        "yes",
        {"name": {"wrong": True}},
        "昨天",
    )


def test_drop_fault_closes_the_connection_without_an_answer(sources):
    sources.set_fault("gaj_population", "drop")
    with pytest.raises(requests.ConnectionError):
        _post(sources, _ask())
    sources.set_fault("gaj_population", None)
    assert _post(sources, _ask()).status_code == 200  # the server itself is fine


def test_slow_fault_sleeps_then_answers(store, monkeypatch):
    slept = []
    monkeypatch.setattr(app_module.time, "sleep", slept.append)
    app = DemoSourcesApp(
        app_module.load_definitions(definitions_folder()),
        store,
        faults={"gaj_population": "slow:2.5"},
    )
    raw = json.dumps(_ask(elements=["name"])).encode()
    ts = str(int(time.time()))
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/ga/population",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "HTTP_X_TONGBAN_TIMESTAMP": ts,
        "HTTP_X_TONGBAN_SIGNATURE": signing.sign(
            signing.source_secret("gaj_population"),
            timestamp=ts,
            method="POST",
            path="/ga/population",
            body=raw,
        ),
    }
    statuses = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert slept == [2.5]
    assert statuses == ["200 OK"]
    assert json.loads(body)["values"] == {"name": "李静"}


def test_faults_given_at_start_and_as_text(store):
    assert parse_faults("gaj_population=slow:2, cl_disability=error:500,x=drop") == {
        "gaj_population": parse_fault("slow:2"),
        "cl_disability": parse_fault("error:500"),
        "x": parse_fault("drop"),
    }
    for bad in ("slow", "slow:abc", "error:200", "error:x", "explode", "drop:1", "malformed:x"):
        with pytest.raises(FaultSpecError):
            parse_fault(bad)
    with pytest.raises(FaultSpecError):
        parse_faults("gaj_population")
    running = start(db=store, faults={"gaj_population": "error:502"})
    try:
        assert running.app.faults() == {"gaj_population": "error:502"}
        assert _post(running, _ask()).status_code == 502
        with pytest.raises(FaultSpecError):
            running.set_fault("no_such_source", "drop")
    finally:
        running.stop()


def test_a_rebuilt_store_is_read_at_once_and_a_missing_one_is_503(sources, store):
    assert _post(sources, _ask(elements=["name"])).json()["values"] == {"name": "李静"}
    write_records(store, {"gaj_population": {LI_JING: {"name": "李静（更新）"}}}, as_of=AS_OF)
    assert _post(sources, _ask(elements=["name"])).json()["values"] == {"name": "李静（更新）"}
    store.unlink()
    response = _post(sources, _ask())
    assert (response.status_code, response.json()) == (503, {"error": "STORE_MISSING"})


def test_a_source_missing_from_the_store_answers_not_found(sources):
    body = _ask(
        requester=REQUESTER | {"legal_basis": "《中华人民共和国残疾人保障法》第十五条（示例）"}
    )
    body["elements"] = ["disability_grade"]
    response = _post(sources, body, path="/cl/disability", code="cl_disability")
    assert (response.status_code, response.json()["found"]) == (200, False)
