"""Assistant fixtures: the demo city's catalog and policies (its guides are what the
assistant answers from), residents, and a fresh throttle per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.catalog.services import catalog_load_directory

DEMO = Path(__file__).resolve().parents[2] / "demo" / "definitions"


@pytest.fixture(autouse=True)
def _throttle_fresh():
    # The throttle counts in the cache, which outlives a test's rolled-back database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    return catalog_load_directory(path=DEMO)


@pytest.fixture
def resident(demo):
    return ResidentProfileFactory()


@pytest.fixture
def other_resident(demo):
    return ResidentProfileFactory()


@pytest.fixture
def visitor():
    return AnonymousUser()
