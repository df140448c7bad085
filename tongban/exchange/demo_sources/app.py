"""The demo department systems as one plain WSGI app (stdlib only at request time).

Every data source definition with an HTTP transport answers at its `transport.path`:

    POST /ga/population  {"request_id", "key", "elements": [...], "requester": {...}}

The request must be signed (tongban.exchange.signing) with the source's secret; the answer
carries only the requested elements the system holds for that key. Records come from the
store `dataset.build` writes: one table per source code, `key TEXT PRIMARY KEY, data TEXT
(JSON object of wire values), as_of TEXT`.

Fault injection (演示故障) per source code, changeable while the app runs (`set_fault`):
- `slow:SECONDS`  sleep that long, then answer normally;
- `error:STATUS`  answer that HTTP status with {"error": "FAULT_INJECTED"};
- `malformed`     200 with a body that is not JSON; `malformed:shape` JSON without the
                  protocol's fields; `malformed:types` a found answer whose values have the
                  wrong wire types;
- `drop`          close the connection without answering.
The code `*` applies a fault to every source without its own.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tongban.exchange import signing
from tongban.exchange.schemas import DataSourceDef

# What a key looks like, per key kind: a 公民身份号码, a 统一社会信用代码, a 不动产单元号.
KEY_PATTERNS = {
    "id_number": re.compile(r"^\d{17}[\dX]$"),
    "uscc": re.compile(r"^[0-9A-Z]{18}$"),
    "property_unit": re.compile(r"^[0-9A-Z]{8,40}$"),
}
REQUESTER_REQUIRED = ("department", "purpose", "legal_basis")
REQUESTER_OPTIONAL = ("item", "receipt_no", "consent")
MAX_BODY = 64 * 1024
DROP_KEY = "tongban.drop_connection"


class FaultSpecError(ValueError):
    pass


@dataclass(frozen=True)
class Fault:
    kind: str  # slow | error | malformed | drop
    seconds: float = 0.0
    status: int = 0
    variant: str = ""  # malformed: "" (not JSON) | "shape" | "types"

    @property
    def spec(self) -> str:
        if self.kind == "slow":
            return f"slow:{self.seconds:g}"
        if self.kind == "error":
            return f"error:{self.status}"
        if self.kind == "malformed" and self.variant:
            return f"malformed:{self.variant}"
        return self.kind


def parse_fault(spec: str) -> Fault:
    """`slow:2` | `error:503` | `malformed[:shape|:types]` | `drop` → Fault."""
    kind, _, arg = spec.strip().partition(":")
    try:
        if kind == "slow":
            seconds = float(arg)
            if not 0 <= seconds <= 600:
                raise ValueError
            return Fault("slow", seconds=seconds)
        if kind == "error":
            status = int(arg)
            if not 400 <= status <= 599:
                raise ValueError
            return Fault("error", status=status)
    except ValueError:
        raise FaultSpecError(f"故障参数无效：{spec}") from None
    if kind == "malformed" and arg in ("", "shape", "types"):
        return Fault("malformed", variant=arg)
    if kind == "drop" and not arg:
        return Fault("drop")
    raise FaultSpecError(f"无法识别的故障：{spec}（可用 slow:秒数、error:状态码、malformed、drop）")


def parse_faults(text: str) -> dict[str, Fault]:
    """ "code=slow:2,code2=error:500" (the env TONGBAN_DEMO_SOURCES_FAULTS) → {code: Fault}."""
    faults: dict[str, Fault] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        code, sep, spec = part.partition("=")
        if not sep or not code.strip():
            raise FaultSpecError(f"故障应写作 数据源编码=故障：{part.strip()}")
        faults[code.strip()] = parse_fault(spec)
    return faults


def load_definitions(folder: Path) -> list[DataSourceDef]:
    """Every data source definition in FOLDER (one per *.yaml), validated."""
    import yaml  # only at start-up

    sources = []
    for path in sorted(Path(folder).glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            sources.append(DataSourceDef.model_validate(yaml.safe_load(fh)))
    return sources


class RequestInvalid(Exception):
    pass


class DemoSourcesApp:
    """WSGI callable. SOURCES: the definitions; DB: the store's path; SECRET_FOR: code →
    shared secret (signing.source_secret by default); CLOCK: unix time (tests move it)."""

    def __init__(
        self,
        sources: Iterable[DataSourceDef],
        db: Path | str,
        *,
        faults: Mapping[str, Fault | str] | None = None,
        secret_for: Callable[[DataSourceDef], bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.sources = {s.code: s for s in sources}
        self.by_path = {
            s.transport.path: s for s in self.sources.values() if s.transport.kind == "http"
        }
        self.db = Path(db)
        self.clock = clock
        secret_for = secret_for or (lambda s: signing.source_secret(s.code, s.transport.secret_env))
        self._secrets = {s.code: secret_for(s) for s in self.by_path.values()}
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        for code, spec in (faults or {}).items():
            self.set_fault(code, spec)

    # -- faults --------------------------------------------------------------------------
    def set_fault(self, code: str, spec: Fault | str | None) -> None:
        """Inject (or with None clear) a fault for source CODE ("*": every source)."""
        if code != "*" and code not in self.sources:
            raise FaultSpecError(f"没有编码为 {code} 的数据源")
        fault = parse_fault(spec) if isinstance(spec, str) else spec
        with self._lock:
            if fault is None:
                self._faults.pop(code, None)
            else:
                self._faults[code] = fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def faults(self) -> dict[str, str]:
        with self._lock:
            return {code: f.spec for code, f in self._faults.items()}

    def _fault_for(self, code: str) -> Fault | None:
        with self._lock:
            return self._faults.get(code) or self._faults.get("*")

    # -- store ---------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        # One read-only connection per thread, reopened when the store was replaced (the
        # dataset builder renames a new file over it).
        try:
            st = self.db.stat()
        except FileNotFoundError:
            raise LookupError from None
        stamp = st.st_ino, st.st_mtime_ns
        cached = getattr(self._local, "conn", None)
        if cached and cached[0] == (str(self.db), stamp):
            return cached[1]
        if cached:
            cached[1].close()
        try:
            conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.OperationalError:  # removed since the stat
            raise LookupError from None
        self._local.conn = ((str(self.db), stamp), conn)
        return conn

    def record(self, code: str, key: str) -> tuple[dict[str, Any], str] | None:
        """(wire values, as_of) of KEY in source CODE's table, or None."""
        try:
            row = (
                self._connection()
                # The table name is a source code from a validated definition.
                .execute(f'SELECT data, as_of FROM "{code}" WHERE key = ?', (key,))  # noqa: S608
                .fetchone()
            )
        except sqlite3.OperationalError:  # no table: the store predates this source
            return None
        if row is None:
            return None
        return json.loads(row[0]), row[1]

    # -- WSGI ----------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "") or "/"
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _json(start_response, 200, {"sources": sorted(self.by_path_codes())})
        source = self.by_path.get(path)
        if source is None:
            return _json(start_response, 404, {"error": "NOT_FOUND"})
        if method != "POST":
            return _json(start_response, 405, {"error": "METHOD_NOT_ALLOWED"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return _json(start_response, 400, _invalid("请求体长度无效"))
        body = environ["wsgi.input"].read(length) if length else b""

        fault = self._fault_for(source.code)
        if fault and fault.kind == "slow":
            time.sleep(fault.seconds)
        elif fault and fault.kind == "drop":
            drop = environ.get(DROP_KEY)
            if drop:
                drop()
            # wsgiref ends the request quietly on this one; another server answers 500.
            raise ConnectionAbortedError("demo fault: drop")
        elif fault and fault.kind == "error":
            return _json(start_response, fault.status, {"error": "FAULT_INJECTED"})

        if not signing.signature_valid(
            self._secrets[source.code],
            timestamp=environ.get("HTTP_X_TONGBAN_TIMESTAMP", ""),
            method=method,
            path=path,
            body=body,
            signature=environ.get("HTTP_X_TONGBAN_SIGNATURE", ""),
            now=self.clock(),
        ):
            return _json(start_response, 401, {"error": "SIGNATURE_INVALID"})
        try:
            request = self._parse(source, body)
        except RequestInvalid as exc:
            return _json(start_response, 400, _invalid(str(exc)))
        if fault and fault.kind == "malformed":
            return _malformed(start_response, fault, request)
        try:
            found = self.record(source.code, request["key"])
        except LookupError:
            return _json(start_response, 503, {"error": "STORE_MISSING"})
        if found is None:
            answer = {"request_id": request["request_id"], "found": False, "values": {}}
            answer["as_of"] = _now_iso()
        else:
            values, as_of = found
            wanted = request["elements"]
            answer = {
                "request_id": request["request_id"],
                "found": True,
                "values": {c: values[c] for c in wanted if values.get(c) is not None},
                "as_of": as_of or _now_iso(),
            }
        return _json(start_response, 200, answer)

    def by_path_codes(self) -> list[str]:
        return [s.code for s in self.by_path.values()]

    def _parse(self, source: DataSourceDef, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise RequestInvalid("请求体不是有效的 JSON") from None
        if not isinstance(data, dict):
            raise RequestInvalid("请求体应为 JSON 对象")
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id or len(request_id) > 64:
            raise RequestInvalid("缺少 request_id")
        key = data.get("key")
        if not isinstance(key, str) or not KEY_PATTERNS[source.key].match(key):
            raise RequestInvalid(f"key 不是有效的{_KEY_LABELS[source.key]}")
        elements = data.get("elements")
        if (
            not isinstance(elements, list)
            or not elements
            or not all(isinstance(e, str) for e in elements)
        ):
            raise RequestInvalid("elements 应为非空的数据项编码列表")
        unknown = [e for e in elements if source.element(e) is None]
        if unknown:
            raise RequestInvalid(f"本系统没有这些数据项：{'、'.join(unknown)}")
        requester = data.get("requester")
        if not isinstance(requester, dict):
            raise RequestInvalid("缺少 requester")
        missing = [
            f
            for f in REQUESTER_REQUIRED
            if not isinstance(requester.get(f), str) or not requester[f]
        ]
        bad = [f for f in REQUESTER_OPTIONAL if not isinstance(requester.get(f, ""), str)]
        if missing or bad:
            raise RequestInvalid(f"requester 缺少或错误的字段：{'、'.join(missing + bad)}")
        if requester["legal_basis"] not in source.legal_bases:
            raise RequestInvalid("legal_basis 不是本数据源登记的法律依据")
        return {"request_id": request_id, "key": key, "elements": list(dict.fromkeys(elements))}


_KEY_LABELS = {
    "id_number": "公民身份号码",
    "uscc": "统一社会信用代码",
    "property_unit": "不动产单元号",
}


def _invalid(message: str) -> dict[str, str]:
    return {"error": "REQUEST_INVALID", "message": message}


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _respond(start_response, status: int, body: bytes, content_type: str) -> list[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body)))],
    )
    return [body]


def _json(start_response, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _respond(start_response, status, body, "application/json; charset=utf-8")


def _malformed(start_response, fault: Fault, request: dict[str, Any]) -> list[bytes]:
    if fault.variant == "shape":
        return _json(start_response, 200, {"status": "ok", "data": [request["key"]]})
    if fault.variant == "types":
        values = {code: {"wrong": True} for code in request["elements"]}
        payload = {
            "request_id": request["request_id"],
            "found": "yes",
            "values": values,
            "as_of": "昨天",
        }
        return _json(start_response, 200, payload)
    return _respond(
        start_response,
        200,
        b"<html>\xe7\xb3\xbb\xe7\xbb\x9f\xe7\xbb\xb4\xe6\x8a\xa4",
        "application/json",
    )
