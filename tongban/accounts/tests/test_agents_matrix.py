"""An agent's authority, as a matrix: scope × state × action. Only a live authority whose
scope covers the action lets it through; every other request is refused with its code and
changes nothing (no case, draft, upload, certificate read or 随申码, no audit row)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage

from tongban.accounts import errors
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import agent_today
from tongban.accounts.services import (
    enterprise_agent_accept,
    enterprise_agent_decline,
    enterprise_agent_grant,
    enterprise_agent_revoke,
)
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.cases.errors import NotForApplicant
from tongban.cases.models import Application, Draft
from tongban.cases.services import MaterialInput, Upload, case_submit, draft_save
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.certificates.errors import CertificateNotFound
from tongban.certificates.selectors import certificate_for, certificates_for
from tongban.certificates.services import certificate_issue
from tongban.certificates.tests.conftest import license_claims
from tongban.common.models import AuditEvent
from tongban.idcode import services as idcode
from tongban.idcode.errors import EnterpriseNotFound as IdcodeEnterpriseNotFound

PDF = b"%PDF-1.4\n% test\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
IN_SCOPE, OUT_OF_SCOPE = "seal_engraving", "invoice_application"
SCOPES = {
    # items, may_certificates, may_idcode
    "whole": ([], True, True),
    "limited": ([IN_SCOPE], False, False),
}
STATES = ("pending", "live", "revoked", "expired", "declined")
ACTIONS = ("apply_in_scope", "apply_out_of_scope", "draft_out_of_scope", "certificates", "idcode")


@pytest.fixture
def world(db, types):
    catalog_load_directory(path=FIXTURES)
    rep = ResidentProfileFactory(name="周明")
    company = EnterpriseFactory(name="示例矩阵科技有限公司")
    EnterpriseMembershipFactory(
        user=rep.user, enterprise=company, role=EnterpriseMembership.Role.LEGAL_REPRESENTATIVE
    )
    licence = certificate_issue(
        type_code="business_license",
        holder_enterprise=company,
        claims=license_claims(company),
        actor_label="system:test",
    )
    return rep, company, licence


@pytest.fixture
def types(db):
    from tongban.accounts.tests.factories import DepartmentFactory
    from tongban.certificates.services import certificate_types_load
    from tongban.certificates.tests.conftest import DEMO_TYPES, demo_department_codes

    for code in sorted(demo_department_codes()):
        DepartmentFactory(code=code, name=f"示例{code}")
    return certificate_types_load(directory=DEMO_TYPES)


def _agent_in(state: str, scope: str, rep, company):
    agent = ResidentProfileFactory(name="吴芳", phone="13800000006")
    items, certificates, idcode_ok = SCOPES[scope]
    today = agent_today()
    membership = enterprise_agent_grant(
        actor=rep.user,
        enterprise_id=company.pk,
        id_number=agent.id_number,
        name=agent.name,
        items=items,
        may_certificates=certificates,
        may_idcode=idcode_ok,
        expires_on=today + dt.timedelta(days=30),
    )
    if state == "declined":
        enterprise_agent_decline(user=agent.user, membership_id=membership.pk)
    elif state != "pending":
        enterprise_agent_accept(user=agent.user, membership_id=membership.pk)
    if state == "revoked":
        enterprise_agent_revoke(actor=rep.user, membership_id=membership.pk)
    if state == "expired":
        # The day after its last day: the row is as it was, only the calendar moved on.
        EnterpriseMembership.objects.filter(pk=membership.pk).update(
            expires_on=today - dt.timedelta(days=1)
        )
    return agent.user


def _act(action: str, user, company, licence):
    if action == "apply_in_scope":
        return case_submit(
            applicant=user,
            kind="item",
            code=IN_SCOPE,
            answers={},
            form_data={"enterprise.name": company.name, "enterprise.uscc": company.uscc},
            materials={
                "business_licence": MaterialInput(how="upload", files=(Upload("l.pdf", PDF),))
            },
            idempotency_key="m1",
            enterprise=company,
        )
    if action == "apply_out_of_scope":
        return case_submit(
            applicant=user,
            kind="item",
            code=OUT_OF_SCOPE,
            answers={},
            form_data={
                "enterprise.name": company.name,
                "enterprise.uscc": company.uscc,
                "applicant.phone": "13800000006",
            },
            materials={},
            idempotency_key="m2",
            enterprise=company,
        )
    if action == "draft_out_of_scope":
        return draft_save(
            applicant=user,
            kind="item",
            code=OUT_OF_SCOPE,
            answers={},
            form_data={"enterprise.name": company.name},
            enterprise=company,
        )
    if action == "certificates":
        listed = licence.pk in set(certificates_for(user=user).values_list("pk", flat=True))
        if not listed:
            certificate_for(user=user, pk=licence.pk)  # raises CertificateNotFound
        return listed
    if action == "idcode":
        return idcode.enterprise_idcode_issue(user=user, enterprise_id=company.pk)
    raise AssertionError(action)


def _expected(state: str, scope: str, action: str):
    """None when the request goes through, else the refusal (its stable code)."""
    if state != "live":
        return {
            "certificates": CertificateNotFound,
            "idcode": IdcodeEnterpriseNotFound,
        }.get(action, NotForApplicant)
    if scope == "whole":
        return None
    return {
        "apply_in_scope": None,
        "apply_out_of_scope": errors.OutsideAgentScope,
        "draft_out_of_scope": errors.OutsideAgentScope,
        "certificates": CertificateNotFound,
        "idcode": errors.AgentMayNotShowIdcode,
    }[action]


def _footprint():
    return (
        Application.objects.count(),
        Draft.objects.count(),
        AuditEvent.objects.count(),
        sorted(default_storage.listdir("")[1]) if default_storage.exists("") else [],
    )


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("scope", sorted(SCOPES))
def test_authority_matrix(world, scope, state, action):
    rep, company, licence = world
    user = _agent_in(state, scope, rep, company)
    refusal = _expected(state, scope, action)
    before = _footprint()
    if refusal is None:
        result = _act(action, user, company, licence)
        if action.startswith("apply"):
            assert (result.enterprise_id, result.applicant_id) == (company.pk, user.pk)
            assert Application.objects.count() == before[0] + 1
        elif action == "certificates":
            assert result is True
        elif action == "idcode":
            assert result.text
        return
    with pytest.raises(refusal) as caught:
        _act(action, user, company, licence)
    assert caught.value.code == refusal.code
    assert 400 <= caught.value.http_status < 500
    assert _footprint() == before


def test_refusal_codes_are_stable():
    assert (
        NotForApplicant.code,
        errors.OutsideAgentScope.code,
        errors.AgentMayNotShowIdcode.code,
        errors.AgentMayNotViewCertificates.code,
        CertificateNotFound.code,
        IdcodeEnterpriseNotFound.code,
    ) == (
        "APPLICANT_NOT_ELIGIBLE",
        "OUTSIDE_AGENT_SCOPE",
        "AGENT_MAY_NOT_SHOW_IDCODE",
        "AGENT_MAY_NOT_VIEW_CERTIFICATES",
        "CERTIFICATE_NOT_FOUND",
        "IDCODE_ENTERPRISE_NOT_FOUND",
    )


@pytest.mark.parametrize(
    ("utc", "live"),
    [
        (dt.datetime(2027, 3, 1, 15, 59, tzinfo=dt.UTC), True),  # 23:59 on 3月1日 in Shanghai
        (dt.datetime(2027, 3, 1, 16, 1, tzinfo=dt.UTC), False),  # 00:01 on 3月2日 in Shanghai
    ],
)
def test_an_authority_ends_at_midnight_in_shanghai_on_its_last_day(world, monkeypatch, utc, live):
    """expires_on is the last day the authority holds, counted in Asia/Shanghai: at 16:01 UTC
    it is still 3月1日 in UTC, but the authority has ended."""
    from django.utils import timezone

    _, company, _ = world
    agent = ResidentProfileFactory()
    EnterpriseMembershipFactory(user=agent.user, enterprise=company, expires_on=dt.date(2027, 3, 1))
    monkeypatch.setattr(timezone, "now", lambda: utc)
    if live:
        assert idcode.enterprise_idcode_issue(user=agent.user, enterprise_id=company.pk).text
    else:
        with pytest.raises(IdcodeEnterpriseNotFound):
            idcode.enterprise_idcode_issue(user=agent.user, enterprise_id=company.pk)


def test_another_enterprise_agent_reaches_nothing(world):
    _, company, licence = world
    outsider = ResidentProfileFactory()
    EnterpriseMembershipFactory(user=outsider.user, enterprise=EnterpriseFactory())
    before = _footprint()
    for action in ACTIONS:
        with pytest.raises((NotForApplicant, CertificateNotFound, IdcodeEnterpriseNotFound)):
            _act(action, outsider.user, company, licence)
    assert _footprint() == before


def test_a_revocation_landing_mid_submission_wins(world, monkeypatch):
    """The authority is checked again, locked, inside the case's transaction: revoked after
    the first check but before the case is written, the submission is refused."""
    from tongban.cases.services import apply

    rep, company, licence = world
    user = _agent_in("live", "whole", rep, company)
    membership = EnterpriseMembership.objects.get(user=user)
    checked = apply._duplicate_check  # runs after the first check, before the transaction

    def revoke_then_check(*args, **kwargs):
        enterprise_agent_revoke(actor=rep.user, membership_id=membership.pk)
        return checked(*args, **kwargs)

    monkeypatch.setattr(apply, "_duplicate_check", revoke_then_check)
    applications = Application.objects.count()
    with pytest.raises(NotForApplicant):
        _act("apply_in_scope", user, company, licence)
    assert Application.objects.count() == applications
