"""The rule that must hold: a relative's authority ends the moment it is revoked or expires;
a request made with it afterwards is refused and changes nothing. Tested as a matrix of
scopes × actions × states."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.cases.errors import CaseNotFound
from tongban.cases.models import Application, CaseEvent, Draft
from tongban.cases.selectors import case_answers_for_applicant, case_for, cases_for_applicant
from tongban.cases.services import case_submit
from tongban.cases.tests.conftest import BIRTH_ANSWERS, birth_form, birth_materials
from tongban.common.models import AuditEvent
from tongban.delegation.errors import DelegationNotValid
from tongban.delegation.models import Delegation, DelegationState
from tongban.delegation.selectors import delegation_for_acting, today
from tongban.delegation.services import delegation_decline, delegation_revoke
from tongban.delegation.tests.conftest import grant

pytestmark = pytest.mark.django_db

STATES = ["proposed", "live", "revoked", "expired", "declined"]
SCOPES = {"all": [], "birth only": ["birth"], "another item only": ["social_security_card"]}


def _in_state(principal, relative, state: str, items) -> Delegation:
    d = grant(principal, relative, items=items, accept=state != "proposed" and state != "declined")
    if state == "revoked":
        delegation_revoke(user=principal.user, delegation_id=d.pk)
    elif state == "expired":  # its end date has passed
        Delegation.objects.filter(pk=d.pk).update(valid_until=today() - dt.timedelta(days=1))
    elif state == "declined":
        delegation_decline(user=relative.user, delegation_id=d.pk)
    d.refresh_from_db()
    return d


def _submit(relative, principal, d, key="k1"):
    return case_submit(
        applicant=relative.user,
        kind="bundle",
        code="birth",
        answers=BIRTH_ANSWERS,
        form_data=birth_form(principal),
        materials=birth_materials(),
        idempotency_key=key,
        on_behalf=d,
    )


def _snapshot():
    return (
        Application.objects.count(),
        CaseEvent.objects.count(),
        AuditEvent.objects.filter(action="case.submit").count(),
        Draft.objects.count(),
    )


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("state", STATES)
def test_apply(principal, relative, scope, state):
    d = _in_state(principal, relative, state, SCOPES[scope])
    allowed = state == "live" and scope != "another item only"
    before = _snapshot()
    if not allowed:
        with pytest.raises(DelegationNotValid) as exc:
            _submit(relative, principal, d)
        assert (exc.value.code, exc.value.http_status) == ("DELEGATION_NOT_VALID", 403)
        assert _snapshot() == before
        return
    case = _submit(relative, principal, d)
    assert case.applicant == principal.user
    assert case.applicant_profile == principal
    assert case.acted_by == relative.user
    assert case.delegation == d
    submitted = case.events.get(action="submitted")
    assert submitted.actor == relative.user
    assert submitted.data == {
        "channel": "online",
        "acted_by": relative.user.pk,
        "on_behalf_of": principal.pk,
        "delegation": d.pk,
    }
    audit = AuditEvent.objects.get(action="case.submit")
    assert (audit.actor, audit.subject_resident_id) == (relative.user, principal.pk)
    assert audit.purpose == "亲友代办：一表申请"


# A case is filed only under a live authorisation: what follows is that one revoked or expired.
@pytest.mark.parametrize("state", ["live", "revoked", "expired"])
def test_read_the_case_filed_while_live(principal, relative, stranger, state):
    d = grant(principal, relative)
    case = _submit(relative, principal, d)
    if state == "revoked":
        delegation_revoke(user=principal.user, delegation_id=d.pk)
    elif state == "expired":
        Delegation.objects.filter(pk=d.pk).update(valid_until=today() - dt.timedelta(days=1))
    # The principal always reads their own case; a stranger never.
    assert case_for(user=principal.user, receipt_no=case.receipt_no) == case
    with pytest.raises(CaseNotFound):
        case_for(user=stranger.user, receipt_no=case.receipt_no)
    mine = [r["receipt_no"] for r in cases_for_applicant(user=relative.user)]
    if state == "live":
        assert case_for(user=relative.user, receipt_no=case.receipt_no) == case
        assert mine == [case.receipt_no]
        assert case_answers_for_applicant(user=relative.user, case=case) != []
    else:
        with pytest.raises(CaseNotFound):
            case_for(user=relative.user, receipt_no=case.receipt_no)
        assert mine == []
        assert case_answers_for_applicant(user=relative.user, case=case) == []


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("state", STATES)
def test_switch_to_the_person(principal, relative, stranger, scope, state):
    d = _in_state(principal, relative, state, SCOPES[scope])
    if state == "live":
        assert delegation_for_acting(user=relative.user, delegation_id=d.pk) == d
    else:
        with pytest.raises(DelegationNotValid):
            delegation_for_acting(user=relative.user, delegation_id=d.pk)
    # Nobody else may switch to the principal through it, whatever its state.
    for who in (stranger.user, principal.user):
        with pytest.raises(DelegationNotValid):
            delegation_for_acting(user=who, delegation_id=d.pk)


def test_revoked_after_the_first_submit_refuses_the_replay(principal, relative):
    d = grant(principal, relative)
    _submit(relative, principal, d)
    delegation_revoke(user=relative.user, delegation_id=d.pk)
    before = _snapshot()
    with pytest.raises(DelegationNotValid):
        _submit(relative, principal, d)  # the same key: not even the old answer comes back
    with pytest.raises(DelegationNotValid):
        _submit(relative, principal, d, key="k2")
    assert _snapshot() == before
    assert Delegation.objects.get(pk=d.pk).state == DelegationState.REVOKED


def test_principal_sees_the_case_marked_with_the_relative(principal, relative):
    d = grant(principal, relative)
    case = _submit(relative, principal, d)
    rows = cases_for_applicant(user=principal.user)
    assert [(r["receipt_no"], r["acted_by_name"], r["acted_for_name"]) for r in rows] == [
        (case.receipt_no, "刘晓梅", "")
    ]
    rows = cases_for_applicant(user=relative.user)
    assert [(r["receipt_no"], r["acted_by_name"], r["acted_for_name"]) for r in rows] == [
        (case.receipt_no, "", "张桂英")
    ]
