"""Who may give a consent and what it may name: the enterprise's 法定代表人 and 管理员 may,
an 经办人 may not; only consentable elements of sources keyed by what identifies the holder;
a purpose; at most a year. Refusals write nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.errors import EnterpriseNotFound
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.common.models import AuditEvent
from tongban.consents.errors import (
    ConsentInvalid,
    ConsentNotFound,
    NotConsentHolder,
    NotPlatformAdministrator,
    ProfileRequired,
)
from tongban.consents.models import DataConsent, Institution
from tongban.consents.selectors import consent_holder, consentable_elements, today
from tongban.consents.services import consent_grant, consent_revoke, institution_register
from tongban.consents.tests.conftest import ENTERPRISE_ELEMENTS, member

pytestmark = pytest.mark.django_db


def _grant(user, holder, bank, **overrides):
    values = {
        "institution_id": bank.institution.pk,
        "elements": list(ENTERPRISE_ELEMENTS),
        "purpose": "申请信易贷贷款",
        "valid_until": today() + dt.timedelta(days=90),
    }
    values.update(overrides)
    return consent_grant(user=user, holder=holder, **values)


def test_legal_rep_and_administrator_grant_for_the_enterprise(registry, company, legal_rep, bank):
    admin = member(company, EnterpriseMembership.Role.ADMINISTRATOR)
    for person in (legal_rep, admin):
        holder = consent_holder(user=person.user, enterprise_id=company.pk)
        consent = _grant(person.user, holder, bank)
        assert (consent.holder_enterprise_id, consent.holder_profile_id) == (company.pk, None)
        assert consent.elements == ENTERPRISE_ELEMENTS
        assert consent.public_id.startswith("c_") and len(consent.public_id) == 26
        event = AuditEvent.objects.get(action="consents.grant", object_id=str(consent.pk))
        assert (event.actor_id, event.subject_enterprise_id, event.data["elements"]) == (
            person.user.pk,
            company.pk,
            ENTERPRISE_ELEMENTS,
        )
    assert DataConsent.objects.count() == 2


def test_an_agent_may_not_grant_and_a_stranger_finds_no_enterprise(registry, company, agent):
    with pytest.raises(NotConsentHolder):
        consent_holder(user=agent.user, enterprise_id=company.pk)
    with pytest.raises(EnterpriseNotFound):
        consent_holder(user=ResidentProfileFactory().user, enterprise_id=company.pk)
    assert not DataConsent.objects.exists()


def test_an_account_without_profile_has_no_personal_consents(db):
    with pytest.raises(ProfileRequired):
        consent_holder(user=StaffFactory(), enterprise_id=None)


def test_what_each_kind_of_holder_may_consent_to(registry):
    assert [e.code for e in consentable_elements(holder_kind="enterprise")] == [
        "credit_rating.public_credit_rating",
        "credit_rating.rated_on",
        "credit_rating.dishonest_listed",
        "rsj_unit_insurance.insured_headcount",
        "rsj_unit_insurance.contributions_up_to_date",
        "swj_tax.tax_credit_rating",
        "swj_tax.last_year_tax_band",
    ]
    assert [(e.code, e.label) for e in consentable_elements(holder_kind="resident")] == [
        ("test_consent_person_tax.tax_paid_band", "上年度个税缴纳档次")
    ]


def test_every_problem_at_once_and_nothing_written(registry, resident, bank):
    holder = consent_holder(user=resident.user)
    with pytest.raises(ConsentInvalid) as refused:
        _grant(
            resident.user,
            holder,
            bank,
            # An enterprise's element, not the resident's; not consentable at all.
            elements=["swj_tax.tax_credit_rating", "test_consent_person_tax.employer_name"],
            purpose=" ",
            valid_until=today() + dt.timedelta(days=366),
        )
    assert refused.value.details == [
        {"field": "elements", "message": "所选数据项不可授权查询，请重新选择"},
        {"field": "purpose", "message": "请写明使用目的，例如：申请信易贷贷款"},
        {"field": "valid_until", "message": "授权期限最长一年"},
    ]
    with pytest.raises(ConsentInvalid) as past:
        _grant(
            resident.user,
            holder,
            bank,
            institution_id=999_999,
            elements=[],
            valid_until=today() - dt.timedelta(days=1),
        )
    assert [d["field"] for d in past.value.details] == ["institution", "elements", "valid_until"]
    assert not DataConsent.objects.exists()
    assert not AuditEvent.objects.filter(action="consents.grant").exists()
    # A year to the day is allowed.
    consent = _grant(
        resident.user,
        holder,
        bank,
        elements=["test_consent_person_tax.tax_paid_band"],
        valid_until=today() + dt.timedelta(days=365),
    )
    assert consent.holder_profile_id == resident.pk


def test_a_deactivated_institution_cannot_be_chosen(registry, resident, bank):
    Institution.objects.filter(pk=bank.institution.pk).update(is_active=False)
    with pytest.raises(ConsentInvalid) as refused:
        _grant(
            resident.user,
            consent_holder(user=resident.user),
            bank,
            elements=["test_consent_person_tax.tax_paid_band"],
        )
    assert refused.value.details == [{"field": "institution", "message": "请选择授权使用机构"}]


def test_only_the_holder_revokes(registry, resident, bank):
    holder = consent_holder(user=resident.user)
    consent = _grant(
        resident.user, holder, bank, elements=["test_consent_person_tax.tax_paid_band"]
    )
    other = ResidentProfileFactory()
    with pytest.raises(ConsentNotFound):
        consent_revoke(
            user=other.user, holder=consent_holder(user=other.user), consent_id=consent.pk
        )
    consent.refresh_from_db()
    assert consent.revoked_at is None
    revoked = consent_revoke(user=resident.user, holder=holder, consent_id=consent.pk)
    assert revoked.revoked_at is not None and revoked.revoked_by_id == resident.user.pk
    # Twice is once.
    consent_revoke(user=resident.user, holder=holder, consent_id=consent.pk)
    assert AuditEvent.objects.filter(action="consents.revoke").count() == 1


def test_only_the_platform_administrator_registers_institutions(db):
    from tongban.accounts.models import StaffRole
    from tongban.accounts.validators import make_credit_code

    values = {
        "name": "示例担保公司",
        "kind": "guarantee",
        "uscc": make_credit_code(region="310101", seq=88_000_009),
    }
    with pytest.raises(NotPlatformAdministrator):
        institution_register(actor=StaffFactory(role=StaffRole.REVIEWER), **values)
    assert not Institution.objects.exists()
    registered = institution_register(actor=StaffFactory(role=StaffRole.ADMINISTRATOR), **values)
    app = registered.institution.application
    assert (app.authorization_grant_type, app.client_type) == ("client-credentials", "confidential")
    assert app.connected.allowed_scopes == "consented_data"
    assert app.connected.service_account is None
