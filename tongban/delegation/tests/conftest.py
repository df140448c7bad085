"""亲友代办 fixtures: the cases fixtures (catalog, staff), a principal and a relative."""

from __future__ import annotations

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory
from tongban.cases.tests.conftest import catalog, media, staff  # noqa: F401  (fixtures)
from tongban.delegation.selectors import today
from tongban.delegation.services import delegation_accept, delegation_propose


@pytest.fixture
def principal(catalog):  # noqa: F811
    return ResidentProfileFactory(name="张桂英")


@pytest.fixture
def relative(catalog):  # noqa: F811
    return ResidentProfileFactory(name="刘晓梅")


@pytest.fixture
def stranger(catalog):  # noqa: F811
    return ResidentProfileFactory(name="赵强")


def grant(principal, relative, *, items=(), days=365, accept=True):
    """PRINCIPAL authorises RELATIVE (for ITEMS, or all), accepted unless ACCEPT is False."""
    import datetime as dt

    d = delegation_propose(
        principal_user=principal.user,
        agent_id_number=relative.id_number,
        agent_name=relative.name,
        items=list(items),
        valid_until=today() + dt.timedelta(days=days),
    )
    if accept:
        d = delegation_accept(user=relative.user, delegation_id=d.pk)
    return d
