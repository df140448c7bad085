"""A circuit breaker per data source (熔断): after N consecutive failures the source is not
asked for M seconds, so a department system that is down or slow costs the guide nothing;
then one request (half-open probe) decides whether it is back.

The state lives in Django's cache, so with Redis every worker process shares one breaker
per source; with the default local-memory cache each process has its own, which is still
correct, only each learns of an outage by itself."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

_PREFIX = "tongban:exchange:breaker:"


def failures_to_open() -> int:
    return int(getattr(settings, "TONGBAN_EXCHANGE_BREAKER_FAILURES", 3))


def open_seconds() -> float:
    return float(getattr(settings, "TONGBAN_EXCHANGE_BREAKER_OPEN_SECONDS", 30))


def _keys(code: str) -> tuple[str, str, str]:
    base = _PREFIX + code
    return base + ":failures", base + ":open_until", base + ":probe"


def state(code: str, *, now: float | None = None) -> str:
    """closed / open / half_open, for pages and tests."""
    _f, k_open, _p = _keys(code)
    until = cache.get(k_open)
    if until is None:
        return "closed"
    return "open" if (now or time.time()) < until else "half_open"


def allow(code: str, *, now: float | None = None) -> bool:
    """Whether a request to CODE may go out now. While open: no. Once the open period is
    over: exactly one caller (across processes) gets to probe; the others still skip."""
    _f, k_open, k_probe = _keys(code)
    until = cache.get(k_open)
    if until is None:
        return True
    if (now or time.time()) < until:
        return False
    # The probe slot expires by itself, so a probe whose process died frees it again.
    return cache.add(k_probe, 1, timeout=max(5.0, open_seconds()))


def record_success(code: str) -> None:
    cache.delete_many(list(_keys(code)))


def record_failure(code: str, *, now: float | None = None) -> bool:
    """Count one failure; open the circuit at the threshold, or again after a failed probe.
    True when the circuit is (now) open."""
    k_fail, k_open, k_probe = _keys(code)
    cache.add(k_fail, 0, timeout=3600)
    try:
        count = cache.incr(k_fail)
    except ValueError:  # expired between add and incr
        cache.set(k_fail, 1, timeout=3600)
        count = 1
    half_open = cache.get(k_open) is not None
    if half_open or count >= failures_to_open():
        until = (now or time.time()) + open_seconds()
        cache.set(k_open, until, timeout=open_seconds() + 86400)
        cache.delete(k_probe)
        return True
    return False


def reset(code: str | None = None, codes: list[str] | None = None) -> None:
    """Forget the state of CODE (or CODES): after an operator fixed the system, and in tests."""
    for c in [code] if code else codes or []:
        cache.delete_many(list(_keys(c)))
