"""source_query against the demo department systems on loopback: what is recorded for an
answer, what faults turn into (timeout, 5xx retried, malformed, dropped connection), the
circuit breaker, the signature, and the refusals that must leave no trace."""

from __future__ import annotations

import json

import pytest
import requests

from tongban.common.errors import InvalidInput
from tongban.common.models import AuditEvent
from tongban.exchange import adapters, breaker
from tongban.exchange.errors import SourceNotAllowed, SourceUnavailable, SourceUnknown
from tongban.exchange.models import SourceLookup
from tongban.exchange.services import (
    Requester,
    key_hash,
    source_answer_recent,
    source_query,
    value_hash,
)
from tongban.exchange.tests import platform_fixtures as pf
from tongban.exchange.tests.platform_fixtures import (
    FATHER_ID,
    MARKET_BASIS,
    MOTHER_ID,
    NOBODY_ID,
    POLICE_BASIS,
    USCC,
)

# The fixtures this module uses.
catalog, demo_server, exchange, registry = pf.catalog, pf.demo_server, pf.exchange, pf.registry

ASK = Requester(
    department="SH-GA",
    purpose="办理「出生登记」核验申请材料",
    legal_basis=POLICE_BASIS,
    item="SH-GA-0101",
    receipt_no="R-1",
    actor_label="system:exchange",
    post="一网通办平台（数据共享核验）",
)


def _ask(key=MOTHER_ID, elements=("name", "id_valid"), requester=ASK, **kw):
    return source_query(
        source="t_population", key=key, elements=list(elements), requester=requester, **kw
    )


def test_found_answer_is_recorded_encrypted_and_the_use_audited(exchange):
    answer = _ask(subject_profile_id=41)
    assert (answer.source, answer.found) == ("t_population", True)
    assert answer.values == {"name": "李静", "id_valid": True}
    assert answer.value_hash == value_hash({"name": "李静", "id_valid": True})
    row = SourceLookup.objects.get()
    assert (row.pk, row.outcome, row.attempts, row.source_version) == (
        answer.lookup_id,
        "found",
        1,
        1,
    )
    assert row.lookup_hash == key_hash(MOTHER_ID) and MOTHER_ID not in row.lookup_hash
    assert (row.requester_department, row.requester_item, row.receipt_no) == (
        "SH-GA",
        "SH-GA-0101",
        "R-1",
    )
    assert json.loads(row.values_text) == {"name": "李静", "id_valid": True}
    with __import__("django").db.connection.cursor() as cursor:
        cursor.execute("SELECT values_text FROM exchange_sourcelookup WHERE id = %s", [row.pk])
        stored = cursor.fetchone()[0]
    assert "李静" not in stored  # encrypted at rest
    audit = AuditEvent.objects.get(action="personal_data.read")
    assert (audit.subject_resident_id, audit.subject_enterprise_id, audit.purpose) == (
        41,
        None,
        "办理「出生登记」核验申请材料",
    )
    assert (audit.actor_label, audit.object_type, audit.object_id) == (
        "system:exchange",
        "source_lookup",
        str(row.pk),
    )
    assert audit.data == {
        "fields": ["source:t_population.name", "source:t_population.id_valid"],
        "source": "t_population",
        "source_name": "公安人口库",
        "legal_basis": POLICE_BASIS,
        "receipt_no": "R-1",
        "item": "SH-GA-0101",
        "post": "一网通办平台（数据共享核验）",
        "channel": "exchange",
        "consent": "",
        "outcome": "found",
    }


def test_an_element_the_system_does_not_hold_is_left_out(exchange):
    answer = _ask(key=FATHER_ID, elements=("id_valid", "birth_date"))
    assert answer.values == {"id_valid": False}


def test_no_record_is_not_found_and_still_a_recorded_use(exchange):
    answer = _ask(key=NOBODY_ID)
    assert (answer.found, answer.values, answer.value_hash) == (False, {}, "")
    assert SourceLookup.objects.get().outcome == "not_found"
    assert AuditEvent.objects.filter(action="personal_data.read").count() == 1


def test_enterprise_source_writes_an_enterprise_data_use_row(exchange):
    answer = source_query(
        source="t_market",
        key=USCC.lower(),
        elements=["registered", "capital", "staff"],
        requester=Requester(
            department="SH-SWJ",
            purpose="办理税务登记核验申请材料",
            legal_basis=MARKET_BASIS,
            item="SH-SWJ-0101",
        ),
        subject_enterprise_id=7,
    )
    assert answer.values == {"registered": True, "capital": "100.00", "staff": 12}
    audit = AuditEvent.objects.get(object_type="source_lookup")
    assert (audit.action, audit.subject_enterprise_id, audit.subject_resident_id) == (
        "enterprise_data.read",
        7,
        None,
    )


def _unavailable(reason, *, attempts):
    with pytest.raises(SourceUnavailable) as caught:
        _ask()
    assert caught.value.reason == reason
    assert caught.value.code == "EXCHANGE_SOURCE_UNAVAILABLE" and caught.value.http_status == 503
    assert caught.value.message.startswith("公安人口库暂时无法核验")
    row = SourceLookup.objects.get(pk=caught.value.lookup_id)
    assert (row.outcome, row.error_code, row.attempts, row.value_hash) == (
        "unavailable",
        reason,
        attempts,
        "",
    )
    # Nothing was read, so no data-use row.
    assert not AuditEvent.objects.filter(action="personal_data.read").exists()


def test_slow_source_times_out_each_attempt_then_is_unavailable(exchange):
    exchange.set_fault("t_population", "slow:3")
    _unavailable("timeout", attempts=2)  # timeout 0.5 s, one retry


def test_server_error_is_retried_then_unavailable(exchange):
    exchange.set_fault("t_population", "error:500")
    _unavailable("http_500", attempts=2)


def test_malformed_answer_is_unavailable_not_retried(exchange):
    for variant in ("malformed", "malformed:shape", "malformed:types"):
        exchange.set_fault("t_population", variant)
        breaker.reset("t_population")
        SourceLookup.objects.all().delete()
        _unavailable("malformed", attempts=1)


def test_dropped_connection_is_retried_then_unavailable(exchange):
    exchange.set_fault("t_population", "drop")
    _unavailable("connection", attempts=2)


def test_breaker_opens_after_n_failures_and_then_skips_the_network(exchange):
    exchange.set_fault("t_population", "error:503")
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            _ask()
    assert breaker.state("t_population") == "open"
    exchange.set_fault("t_population", None)  # healthy again, but the circuit is open
    with pytest.raises(SourceUnavailable) as caught:
        _ask()
    assert caught.value.reason == "circuit_open" and caught.value.lookup_id == 0
    assert SourceLookup.objects.count() == 3  # the skipped question went nowhere
    # Other sources are not affected.
    assert breaker.state("t_market") == "closed"


def test_half_open_lets_one_probe_through_and_recovers(exchange, settings):
    settings.TONGBAN_EXCHANGE_BREAKER_OPEN_SECONDS = 0  # the open period is over at once
    exchange.set_fault("t_population", "error:503")
    for _ in range(3):
        with pytest.raises(SourceUnavailable):
            _ask()
    assert breaker.state("t_population") == "half_open"
    # A failed probe opens it again.
    with pytest.raises(SourceUnavailable) as caught:
        _ask()
    assert caught.value.reason == "http_503"
    exchange.set_fault("t_population", None)
    assert _ask().found is True
    assert breaker.state("t_population") == "closed"


def test_only_one_caller_probes_while_half_open(exchange, settings):
    settings.TONGBAN_EXCHANGE_BREAKER_OPEN_SECONDS = 0
    for _ in range(3):
        breaker.record_failure("t_population")
    assert (breaker.allow("t_population"), breaker.allow("t_population")) == (True, False)
    breaker.record_success("t_population")
    assert (breaker.state("t_population"), breaker.allow("t_population")) == ("closed", True)


def test_requests_are_signed_and_a_bad_signature_is_refused(exchange, monkeypatch):
    # The department system itself refuses an unsigned request ...
    unsigned = requests.post(exchange.url + "/t/population", json={"key": MOTHER_ID}, timeout=5)
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "SIGNATURE_INVALID")
    # ... and one signed with the wrong secret; the platform reports it, never retries it.
    monkeypatch.setattr(adapters, "source_secret", lambda code, env="": b"not-the-secret")
    with pytest.raises(SourceUnavailable) as caught:
        _ask()
    assert caught.value.reason == "signature_refused"
    row = SourceLookup.objects.get()
    assert (row.outcome, row.attempts) == ("refused", 1)
    assert breaker.state("t_population") == "closed"  # the system is up


@pytest.mark.parametrize(
    ("requester", "elements"),
    [
        (ASK.__class__(**{**ASK.__dict__, "legal_basis": "《随便什么法》"}), ["name"]),
        (ASK.__class__(**{**ASK.__dict__, "item": ""}), ["name"]),
        (ASK.__class__(**{**ASK.__dict__, "purpose": " "}), ["name"]),
        (ASK.__class__(**{**ASK.__dict__, "consent": "c-1"}), ["name", "id_valid"]),
    ],
    ids=["legal_basis", "no_item", "no_purpose", "consent_beyond_consentable"],
)
def test_refusals_write_nothing_and_ask_nothing(exchange, requester, elements):
    exchange.set_fault("*", "error:500")  # a request that went out would be recorded
    with pytest.raises(SourceNotAllowed) as caught:
        _ask(elements=elements, requester=requester)
    assert (caught.value.code, caught.value.http_status) == ("EXCHANGE_NOT_ALLOWED", 403)
    assert SourceLookup.objects.count() == 0
    assert AuditEvent.objects.filter(action__endswith="_data.read").count() == 0


def test_scenario_authorisation_names_the_items(exchange):
    with pytest.raises(SourceNotAllowed):
        source_query(
            source="t_market",
            key=USCC,
            elements=["registered"],
            requester=Requester(
                department="SH-GJJ", purpose="核验", legal_basis=MARKET_BASIS, item="SH-GJJ-0101"
            ),
        )
    assert SourceLookup.objects.count() == 0


def test_consent_reads_only_consentable_elements(exchange):
    answer = _ask(
        elements=["name"],
        requester=Requester(
            department="bank-1", purpose="信易贷授权查询", legal_basis=POLICE_BASIS, consent="c-9"
        ),
    )
    assert answer.values == {"name": "李静"}
    assert AuditEvent.objects.get(object_type="source_lookup").data["channel"] == "consent"


def test_unknown_source_element_or_key(exchange):
    with pytest.raises(SourceUnknown):
        source_query(source="nope", key=MOTHER_ID, elements=["name"], requester=ASK)
    with pytest.raises(InvalidInput) as caught:
        _ask(elements=["salary"])
    assert caught.value.code == "EXCHANGE_ELEMENTS_INVALID"
    with pytest.raises(InvalidInput):
        _ask(key="  ")
    assert SourceLookup.objects.count() == 0


def test_disabled_exchange_is_unavailable_with_a_reason_and_no_record(exchange, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = False
    with pytest.raises(SourceUnavailable) as caught:
        _ask()
    assert caught.value.reason == "disabled"
    assert "数据共享交换未启用" in caught.value.message
    assert SourceLookup.objects.count() == 0


def test_recent_answer_is_reused_only_for_elements_it_covers(exchange):
    first = _ask(elements=["name", "id_valid"])
    again = source_answer_recent(source="t_population", key=MOTHER_ID, elements=["id_valid"])
    assert (again.lookup_id, again.values) == (first.lookup_id, {"name": "李静", "id_valid": True})
    assert source_answer_recent(source="t_population", key=MOTHER_ID, elements=["gender"]) is None
    assert source_answer_recent(source="t_population", key=FATHER_ID, elements=["name"]) is None


def test_a_recent_answer_serves_only_the_item_that_asked(exchange):
    first = _ask()
    same = source_answer_recent(
        source="t_population", key=MOTHER_ID, elements=["id_valid"], item=ASK.item
    )
    assert same.lookup_id == first.lookup_id
    # Another item's use of the same data is its own use: asked, and recorded, again.
    assert (
        source_answer_recent(
            source="t_population", key=MOTHER_ID, elements=["id_valid"], item="SH-MZJ-0101"
        )
        is None
    )
