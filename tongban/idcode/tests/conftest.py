from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory, UserFactory
from tongban.idcode import services
from tongban.idcode.registry import scenarios


@pytest.fixture
def resident(db):
    return ResidentProfileFactory(
        name="王小明", phone="13812345678", birth_date=dt.date(1990, 6, 1)
    )


@pytest.fixture
def agent_and_enterprise(db):
    agent = UserFactory()
    return agent, EnterpriseFactory(name="示例数据科技有限公司", agents=[agent])


@pytest.fixture
def make_scanner(db):
    def make(codes=None, **kwargs):
        return services.scanner_create(
            name=kwargs.pop("name", "测试终端"),
            organisation="示例单位",
            scenario_codes=codes or sorted(scenarios()),
            actor_label="test",
            **kwargs,
        )

    return make


def scan(client, key, code, scenario):
    return client.post(
        "/api/v1/idcode/scan",
        data={"code": code, "scenario": scenario},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
