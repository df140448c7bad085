"""The shipped demo sources, end to end through the platform's HTTP adapter: for every
(source, material) a definition proves, the demo store's subject answers, with values of
the declared wire types (the adapter refuses any other), and the proof holds."""

from __future__ import annotations

import pytest

from tongban.exchange.demo_sources.dataset import build, demo_subjects
from tongban.exchange.demo_sources.server import start
from tongban.exchange.evidence import _holds
from tongban.exchange.selectors import data_source
from tongban.exchange.services import Requester, data_sources_load, source_query
from tongban.exchange.tests import platform_fixtures as pf

catalog = pf.catalog

FOLDER = pf.DEMO_DEFINITIONS / "data_sources"


@pytest.fixture
def shipped_server(db, tmp_path):
    # The store is built from this database's synthetic population (none here): only the
    # demo city's named people and companies, which are what the proofs are checked on.
    store = tmp_path / "ds.sqlite3"
    build(store)
    with start(db=store) as server:
        yield server


def test_every_demo_proof_is_answered_through_the_adapter(catalog, shipped_server, settings):
    settings.TONGBAN_EXCHANGE_ENABLED = True
    settings.TONGBAN_EXCHANGE_ENDPOINTS = {"demo": shipped_server.url}
    data_sources_load(directory=FOLDER)
    checked = []
    for row in demo_subjects():
        if row["transport"] != "http" or not row["key"]:
            continue
        d = data_source(row["source"])
        proof = next(p for p in d.proves if p.material == row["material"])
        item = d.items[0] if d.items[0] != "*" else "SH-GA-0101"
        answer = source_query(
            source=d.code,
            key=row["key"],
            elements=proof.elements,
            requester=Requester(
                department=d.department,
                purpose="核验申请材料（示例）",
                legal_basis=d.legal_bases[0],
                item=item,
            ),
        )
        # Present, and true for a boolean (0 properties is an answer too).
        holds = answer.found and all(_holds(answer.values.get(e)) for e in proof.elements)
        checked.append((d.code, row["material"], holds))
    assert checked and all(h for _s, _m, h in checked), [c for c in checked if not c[2]]
