"""How the platform reaches a department system: over HTTP per the exchange contract (signed,
bounded in time, retried with backoff, guarded by a circuit breaker per source, the answer
checked against the source's element types) or inside the process (a callable).

An adapter returns a RawAnswer or raises AdapterFailure naming why it got none; it never
lets a transport error or a malformed answer through as anything else, so a department
system can never turn into a 500 of ours."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from tongban.exchange import breaker
from tongban.exchange.schemas import DataSourceDef, SourceElement
from tongban.exchange.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, source_secret

# The first retry waits about this long, each next one twice as long, plus up to as much
# again at random (jitter), so retries from many processes do not arrive in step.
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 1.0


@dataclass(frozen=True)
class RawAnswer:
    found: bool
    values: dict[str, Any]  # wire form, checked against the element types
    as_of: dt.datetime
    attempts: int


class AdapterFailure(Exception):
    """No usable answer. REASON is stable (disabled, circuit_open, timeout, connection,
    http_503, malformed, signature_refused, request_refused, endpoint_unknown, error); REFUSED
    says the system answered but refused the request (4xx): it is up, we asked wrongly."""

    def __init__(self, reason: str, *, attempts: int = 0, refused: bool = False, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.attempts = attempts
        self.refused = refused
        self.detail = detail


class Malformed(ValueError):
    pass


# ---------------------------------------------------------------- answer checks


def _check_value(element: SourceElement, value: Any) -> None:
    t = element.type
    ok = (
        (t == "text" and isinstance(value, str))
        or (t == "choice" and isinstance(value, str) and value in element.choices)
        or (t == "integer" and isinstance(value, int) and not isinstance(value, bool))
        or (t == "boolean" and isinstance(value, bool))
    )
    if t == "decimal" and isinstance(value, str):
        try:
            ok = Decimal(value).is_finite()
        except InvalidOperation:
            ok = False
    if t == "date" and isinstance(value, str):
        try:
            dt.date.fromisoformat(value)
            ok = len(value) == 10
        except ValueError:
            ok = False
    if not ok:
        raise Malformed(f"数据项 {element.code} 的值不符合类型 {t}")


def check_answer(
    definition: DataSourceDef, body: Any, *, elements: list[str], request_id: str | None
) -> tuple[bool, dict[str, Any], dt.datetime]:
    """(found, values, as_of) from an answer body, or Malformed. Values outside the request
    are refused too: a system that answers more than was asked is not trusted either."""
    if not isinstance(body, dict):
        raise Malformed("答复不是对象")
    if request_id is not None and body.get("request_id") != request_id:
        raise Malformed("答复的 request_id 与请求不符")
    found = body.get("found")
    values = body.get("values", {})
    if not isinstance(found, bool) or not isinstance(values, dict):
        raise Malformed("答复缺少 found 或 values")
    as_of_raw = body.get("as_of")
    try:
        as_of = dt.datetime.fromisoformat(str(as_of_raw))
    except ValueError as exc:
        raise Malformed("as_of 不是日期时间") from exc
    if timezone.is_naive(as_of):
        as_of = timezone.make_aware(as_of, dt.UTC)
    if not found and values:
        raise Malformed("无记录的答复不应含数据")
    for code, value in values.items():
        element = definition.element(code)
        if element is None or code not in elements:
            raise Malformed(f"答复含未请求的数据项 {code}")
        _check_value(element, value)
    return found, dict(values), as_of


# ---------------------------------------------------------------- HTTP

_local = threading.local()


def _session() -> requests.Session:
    # One pooled session per thread: keep-alive to the department systems, never shared
    # across threads (requests.Session is not thread-safe).
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
        s.trust_env = False  # a proxy from the environment must not see signed requests
    return s


def _backoff(attempt: int) -> float:
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * (2**attempt))
    return base + random.uniform(0, base)  # noqa: S311 — jitter, not a secret


def _http(
    definition: DataSourceDef, *, key: str, elements: list[str], requester: dict
) -> RawAnswer:
    transport = definition.transport
    base = settings.TONGBAN_EXCHANGE_ENDPOINTS.get(transport.endpoint)
    if not base:
        raise AdapterFailure("endpoint_unknown", detail=transport.endpoint)
    url = base.rstrip("/") + transport.path
    secret = source_secret(definition.code, transport.secret_env)
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {"request_id": request_id, "key": key, "elements": elements, "requester": requester},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    attempts = 0
    reason = "error"
    for attempt in range(transport.retries + 1):
        if attempt:
            time.sleep(_backoff(attempt - 1))
        attempts += 1
        # Signed per attempt: a retry long after the first try still has a fresh timestamp.
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(
                secret, timestamp=stamp, method="POST", path=transport.path, body=body
            ),
        }
        try:
            response = _session().post(
                url, data=body, headers=headers, timeout=transport.timeout_seconds
            )
        except requests.Timeout:
            reason = "timeout"
            continue
        except requests.RequestException:
            reason = "connection"
            continue
        if response.status_code >= 500:
            reason = f"http_{response.status_code}"
            continue
        if response.status_code == 401:
            raise AdapterFailure("signature_refused", attempts=attempts, refused=True)
        if response.status_code != 200:
            raise AdapterFailure(
                "request_refused",
                attempts=attempts,
                refused=True,
                detail=f"http_{response.status_code}",
            )
        try:
            found, values, as_of = check_answer(
                definition, response.json(), elements=elements, request_id=request_id
            )
        except (ValueError, Malformed) as exc:  # JSON decode errors are ValueErrors too
            # A malformed answer is not retried: the same system would answer the same.
            raise AdapterFailure("malformed", attempts=attempts, detail=str(exc)[:200]) from exc
        return RawAnswer(found=found, values=values, as_of=as_of, attempts=attempts)
    raise AdapterFailure(reason, attempts=attempts)


# ---------------------------------------------------------------- in process


def _callable(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _inprocess(
    definition: DataSourceDef, *, key: str, elements: list[str], requester: dict
) -> RawAnswer:
    fn = _callable(definition.transport.callable)
    try:
        body = fn(key=key, elements=list(elements), requester=dict(requester))
        found, values, as_of = check_answer(definition, body, elements=elements, request_id=None)
    except Malformed as exc:
        raise AdapterFailure("malformed", attempts=1, detail=str(exc)[:200]) from exc
    except Exception as exc:  # the platform's own records: a bug there must not become a 500
        raise AdapterFailure("error", attempts=1, detail=type(exc).__name__) from exc
    return RawAnswer(found=found, values=values, as_of=as_of, attempts=1)


# ---------------------------------------------------------------- entry point


def ask(definition: DataSourceDef, *, key: str, elements: list[str], requester: dict) -> RawAnswer:
    """One question to DEFINITION's system, through its circuit breaker."""
    if not settings.TONGBAN_EXCHANGE_ENABLED:
        raise AdapterFailure("disabled")
    if definition.transport.kind == "inprocess":
        return _inprocess(definition, key=key, elements=elements, requester=requester)
    if not breaker.allow(definition.code):
        raise AdapterFailure("circuit_open")
    try:
        answer = _http(definition, key=key, elements=elements, requester=requester)
    except AdapterFailure as exc:
        if exc.refused:
            breaker.record_success(definition.code)  # it answered: it is up
        else:
            breaker.record_failure(definition.code)
        raise
    breaker.record_success(definition.code)
    return answer
