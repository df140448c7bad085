"""On PostgreSQL a scan is one statement (the holder and the ok row together): every result
it can give, and one code scanned by several scanners at the same moment on real separate
connections — exactly one scan is ok, every other is a replay, and every one is logged.
Run with DATABASE_URL pointing at PostgreSQL; skipped on SQLite, whose path the API tests
cover."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from tongban.accounts.models import EnterpriseMembership
from tongban.idcode import services
from tongban.idcode import token as t
from tongban.idcode.models import ScanLog

SCANNERS = 4


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement scan and real concurrent writers need PostgreSQL")


def test_every_result_of_the_one_statement_scan(
    resident, agent_and_enterprise, make_scanner, django_assert_num_queries
):
    _needs_postgresql()
    scanner, _ = make_scanner()
    warm = services.idcode_issue(user=resident.user).text  # the key's public half, cached
    assert services.code_scan(scanner=scanner, code=warm, scenario="metro").result == t.OK
    code = services.idcode_issue(user=resident.user).text
    with django_assert_num_queries(1):
        ok = services.code_scan(scanner=scanner, code=code, scenario="hall_checkin")
    assert (ok.result, ok.attributes) == (
        t.OK,
        {"display_name_masked": "王**", "is_resident": True},
    )
    again = services.code_scan(scanner=scanner, code=code, scenario="library_card")
    assert (again.result, again.attributes) == (t.REPLAYED, {})

    agent, enterprise = agent_and_enterprise
    company = services.enterprise_idcode_issue(user=agent, enterprise_id=enterprise.pk).text
    refused = services.code_scan(scanner=scanner, code=company, scenario="metro")
    assert refused.result == t.NOT_APPLICABLE  # and the code is not used up:
    firm = services.code_scan(scanner=scanner, code=company, scenario="hall_checkin")
    assert (firm.result, firm.attributes["enterprise_name"]) == (t.OK, "示例数据科技有限公司")

    # An agent who has left the enterprise: their code names no one any more.
    gone = services.enterprise_idcode_issue(user=agent, enterprise_id=enterprise.pk).text
    EnterpriseMembership.objects.filter(user=agent).delete()
    assert services.code_scan(scanner=scanner, code=gone, scenario="hall_checkin").result == (
        t.SUBJECT_UNKNOWN
    )
    assert list(ScanLog.objects.order_by("id").values_list("result", flat=True)) == [
        t.OK,
        t.OK,
        t.REPLAYED,
        t.NOT_APPLICABLE,
        t.OK,
        t.SUBJECT_UNKNOWN,
    ]


@pytest.mark.django_db(transaction=True)
def test_one_code_scanned_at_once_by_several_scanners_is_ok_exactly_once(resident, make_scanner):
    _needs_postgresql()
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
