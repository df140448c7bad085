"""开放数据 test fixtures: datasets read their sources on every call, a registered developer
with a live key (made through the same service the page uses), and the small catalog."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import UserFactory
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.opendata.selectors import tables_clear
from tongban.opendata.services import developer_register


@pytest.fixture(autouse=True)
def _tables_read_every_call(settings):
    # Each test rolls its database back; a table kept from the previous test would leak.
    settings.TONGBAN_OPENDATA_CACHE_SECONDS = 0
    tables_clear()


@pytest.fixture
def catalog(db):
    """出生一件事 and 企业开办一件事 with their seven items."""
    return catalog_load_directory(path=FIXTURES)


def register(user=None, app_name="测试 公交换乘查询"):
    user = user or UserFactory()
    return developer_register(
        user=user,
        app_name=app_name,
        purpose="示例：在地图上标出附近的政务服务大厅",
        contact_email="dev@example.test",
    )


@pytest.fixture
def issued(db):
    """A developer and the key they were given (issued.secret is the key itself)."""
    return register()
