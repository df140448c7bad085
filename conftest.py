"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _exchange_off_unless_started(settings):
    # No department system listens during most tests; a test that needs the exchange starts
    # the demo sources (tongban.exchange fixtures) and turns it on.
    settings.TONGBAN_EXCHANGE_ENABLED = False


@pytest.fixture(autouse=True)
def _catalog_checked_every_call(settings):
    # Each test rolls its database back; a catalog snapshot cached for a second would leak
    # from one test into the next. The refresh interval has its own test.
    settings.TONGBAN_CATALOG_REFRESH_SECONDS = 0


@pytest.fixture(autouse=True)
def _status_bits_fresh():
    # Status list ids come round again after a rollback, with version 0 again: bits cached by
    # one test must not answer for the next.
    from tongban.certificates.selectors import status_cache_clear

    status_cache_clear()


@pytest.fixture(autouse=True)
def _idcode_key_fresh():
    # The active 随申码 key is kept for a minute per process, and each account's profile id for
    # a few: a rolled-back test's key and ids with them.
    from tongban.idcode import keys, services

    keys.cache_clear()
    services.profile_id_cache_clear()


@pytest.fixture(scope="session")
def _playwright_browser():
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium for browser tests")
        pytest.skip("Debian's chromium is not installed (scripts/ensure-browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM would otherwise refuse
    # the test's own database calls as "async-unsafe".
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(_playwright_browser, live_server):
    """A fresh browser context (own cookies) on the live test server. `page.base_url` is set."""
    context = _playwright_browser.new_context(locale="zh-CN", base_url=live_server.url)
    # Generous: a slow CI machine has run three times slower than a developer's; a page that
    # never comes still fails, only later.
    context.set_default_timeout(20_000)
    pg = context.new_page()
    pg.base_url = live_server.url
    yield pg
    context.close()


_DB_FIXTURES = {
    "db",
    "transactional_db",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
    "live_server",
}


def pytest_collection_modifyitems(config, items):
    """The PostgreSQL run (scripts/test.sh sets TONGBAN_TEST_DB_ONLY=1) leaves out the tests
    that never open the database: pytest-django refuses database access to any test that
    does not ask for it, so what is left out ran on SQLite already and no backend can
    change its outcome."""
    if os.environ.get("TONGBAN_TEST_DB_ONLY") != "1":
        return
    keep, drop = [], []
    for item in items:
        uses_db = item.get_closest_marker("django_db") is not None or bool(
            _DB_FIXTURES & set(getattr(item, "fixturenames", ()))
        )
        (keep if uses_db else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
