from __future__ import annotations

import pytest

from tongban.demo.idcode import demo_scanner_key, ensure_demo_scanner
from tongban.idcode import selectors
from tongban.idcode.models import Scanner
from tongban.idcode.registry import parse_registry, scenarios

pytestmark = pytest.mark.django_db


def test_demo_scanner_is_made_once_and_its_key_works():
    lines = []
    first = ensure_demo_scanner(write=lines.append)
    second = ensure_demo_scanner(write=lines.append)
    assert first == second and Scanner.objects.count() == 1
    assert len(lines) == 1 and demo_scanner_key() in lines[0]
    assert first.scenarios == [
        "hall_checkin",
        "kiosk_login",
        "library_card",
        "metro",
        "veteran_benefit",
    ]
    assert selectors.scanner_for_key(demo_scanner_key()) == first
    assert demo_scanner_key() not in first.key_hash


def test_registry_refuses_unknown_attributes_and_duplicates():
    assert set(scenarios()) == {
        "hall_checkin",
        "veteran_benefit",
        "library_card",
        "metro",
        "kiosk_login",
    }
    bad_attribute = "scenarios: [{code: x1, name: X, legal_basis: B, person: [id_number]}]"
    with pytest.raises(ValueError, match="未知的个人属性"):
        parse_registry(bad_attribute)
    twice = (
        "scenarios:\n"
        "  - {code: x1, name: X, legal_basis: B, person: [is_veteran]}\n"
        "  - {code: x1, name: Y, legal_basis: B, person: [is_veteran]}\n"
    )
    with pytest.raises(ValueError, match="场景代码重复"):
        parse_registry(twice)
