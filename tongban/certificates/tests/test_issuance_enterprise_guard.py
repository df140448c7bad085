"""统一发证 never hands an existing enterprise to a stranger: only a credit code recorded by
the reviewer of 设立登记 founds an enterprise, and a code that already belongs to an
enterprise the applicant does not act for issues nothing and grants nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from tongban.accounts.models import Enterprise, EnterpriseMembership
from tongban.accounts.tests.factories import EnterpriseFactory, ResidentProfileFactory
from tongban.accounts.validators import make_credit_code
from tongban.certificates.issuance import _enterprise, _NotIssued

pytestmark = pytest.mark.django_db

PRODUCED = {"produced": [{"code": "enterprise.uscc", "by_item": "SH-SCJ-0101", "items": []}]}


def _case(applicant, plan):
    return SimpleNamespace(
        enterprise=None,
        plan=plan,
        applicant=applicant,
        applicant_profile=getattr(applicant, "resident_profile", None),
        concluded_at=timezone.now(),
    )


def test_a_typed_code_of_someone_elses_enterprise_grants_nothing():
    victim = EnterpriseFactory()
    stranger = ResidentProfileFactory().user
    for plan in ({}, PRODUCED):
        with pytest.raises(_NotIssued):
            _enterprise(_case(stranger, plan), {"enterprise.uscc": victim.uscc})
    assert not EnterpriseMembership.objects.filter(user=stranger).exists()


def test_a_typed_code_founds_nothing():
    stranger = ResidentProfileFactory().user
    uscc = make_credit_code(region="310115", seq=4242)
    with pytest.raises(_NotIssued):
        _enterprise(_case(stranger, {}), {"enterprise.uscc": uscc, "enterprise.name": "示例"})
    assert not Enterprise.objects.filter(uscc=uscc).exists()


def test_a_code_recorded_in_review_founds_the_enterprise_with_the_founder_as_agent():
    founder = ResidentProfileFactory().user
    uscc = make_credit_code(region="310115", seq=4243)
    form = {
        "enterprise.uscc": uscc,
        "enterprise.name": "示例新设科技有限公司",
        "enterprise.district": "310115",
    }
    enterprise = _enterprise(_case(founder, PRODUCED), form)
    assert (enterprise.uscc, enterprise.name) == (uscc, "示例新设科技有限公司")
    membership = EnterpriseMembership.objects.get(user=founder)
    assert membership.enterprise_id == enterprise.pk
    # Issued again (a retried job): the same enterprise, the role untouched.
    role = membership.role
    assert _enterprise(_case(founder, PRODUCED), form).pk == enterprise.pk
    assert list(
        EnterpriseMembership.objects.filter(user=founder).values_list("role", flat=True)
    ) == [role]
