"""Reads for the 随申码 pages and API."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from tongban.accounts.models import User
from tongban.common.crypto import lookup_hash
from tongban.idcode.models import ScanLog, Scanner
from tongban.idcode.registry import scenarios
from tongban.idcode.token import RESULT_LABELS

SCANNER_KEY_CONTEXT = "idcode.scanner_key"


def scanner_key_hash(key: str) -> str:
    return lookup_hash(key, context=SCANNER_KEY_CONTEXT)


def scanner_for_key(key: str) -> Scanner | None:
    if not key or len(key) > 200:
        return None
    return Scanner.objects.filter(key_hash=scanner_key_hash(key), is_active=True).first()


def _rows(logs) -> list[dict[str, Any]]:
    known = scenarios()
    return [
        {
            "at": log.at,
            "scanner": str(log.scanner),
            "scenario": log.scenario,
            "scenario_name": known[log.scenario].name if log.scenario in known else log.scenario,
            "result": log.result,
            "result_label": RESULT_LABELS.get(log.result, "未读取"),
        }
        for log in logs
    ]


def scans_of_resident(*, user: User, limit: int = 20) -> list[dict[str, Any]]:
    """Who scanned this resident's codes: the DESIGN's "sees who read their data"."""
    logs = (
        ScanLog.objects.filter(pseudonym__profile__user=user)
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)


def scans_of_enterprise(*, enterprise_id: int, limit: int = 20) -> list[dict[str, Any]]:
    logs = (
        ScanLog.objects.filter(Q(pseudonym__enterprise_id=enterprise_id))
        .select_related("scanner")
        .order_by("-at", "-id")[:limit]
    )
    return _rows(logs)
