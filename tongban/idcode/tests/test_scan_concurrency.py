"""One code scanned by several scanners at the same moment, on real separate connections:
exactly one scan is ok, every other is a replay, and every one is logged."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tongban.idcode import services
from tongban.idcode import token as t
from tongban.idcode.models import ScanLog

SCANNERS = 4


@pytest.mark.django_db(transaction=True)
def test_one_code_scanned_at_once_by_several_scanners_is_ok_exactly_once(resident, make_scanner):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers for the whole database; the race needs PostgreSQL")
    scanners = [make_scanner(["hall_checkin"], name=f"终端{i}")[0] for i in range(SCANNERS)]
    code = services.idcode_issue(user=resident.user).text
    barrier = threading.Barrier(SCANNERS)
    results: list[str] = []

    def scan(scanner):
        try:
            barrier.wait(timeout=10)
            results.append(
                services.code_scan(scanner=scanner, code=code, scenario="hall_checkin").result
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan, args=(s,)) for s in scanners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [t.OK] + [t.REPLAYED] * (SCANNERS - 1)
    logged = sorted(ScanLog.objects.values_list("result", flat=True))
    assert logged == [t.OK] + [t.REPLAYED] * (SCANNERS - 1)
    assert ScanLog.objects.filter(result=t.OK).values_list("scanner", flat=True).get() in {
        s.pk for s in scanners
    }
