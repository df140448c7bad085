"""亲友代办 services: propose, accept, decline, revoke, the counter record — exact values,
the audit rows naming both people, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.common.models import AuditEvent
from tongban.delegation.errors import (
    DelegationExists,
    DelegationInvalid,
    DelegationNotFound,
    DelegationNotPending,
    DelegationNotValid,
    DelegationSelf,
)
from tongban.delegation.models import Delegation, DelegationState, RecordedVia
from tongban.delegation.selectors import (
    delegation_for_acting,
    delegation_invitations,
    delegations_given,
    delegations_received,
    may_act_for,
    today,
)
from tongban.delegation.services import (
    delegation_accept,
    delegation_decline,
    delegation_propose,
    delegation_record_at_counter,
    delegation_revoke,
    delegation_revoke_at_counter,
)
from tongban.delegation.tests.conftest import grant

pytestmark = pytest.mark.django_db


def _propose(principal, relative, **kw):
    args = {
        "principal_user": principal.user,
        "agent_id_number": relative.id_number,
        "agent_name": relative.name,
        "items": [],
        "valid_until": today() + dt.timedelta(days=30),
    }
    return delegation_propose(**(args | kw))


def test_propose_waits_for_the_named_person_and_audits_both(principal, relative):
    d = _propose(principal, relative, items=["birth"])

    d.refresh_from_db()
    assert d.state == DelegationState.PROPOSED
    assert d.agent_user is None
    assert d.items == ["birth"]
    assert d.valid_until == today() + dt.timedelta(days=30)
    assert d.recorded_via == RecordedVia.ONLINE
    assert d.recorded_by == principal.user
    assert d.hall is None
    event = AuditEvent.objects.get(action="delegation.propose")
    assert event.actor == principal.user
    assert event.subject_resident_id == principal.pk
    assert event.object_id == str(d.pk)
    assert event.data == {
        "principal": principal.pk,
        "agent_name": "刘晓梅",
        "agent_user": None,
        "items": ["birth"],
        "valid_until": (today() + dt.timedelta(days=30)).isoformat(),
    }
    # The invitation shows to the person named, and to nobody else.
    assert [r["id"] for r in delegation_invitations(user=relative.user)] == [d.pk]
    assert delegation_invitations(user=principal.user) == []


def test_propose_answers_the_same_whether_or_not_the_id_has_an_account(principal):
    # A valid ID number nobody holds: the same 待对方确认, nothing else is said.
    nobody = ResidentProfileFactory.build()
    d = _propose(principal, nobody, agent_name="王五")
    assert d.state == DelegationState.PROPOSED
    rows = delegations_given(user=principal.user)
    assert [(r["agent_name"], r["state_label"]) for r in rows] == [("王五", "待对方确认")]


def test_an_invitation_under_another_name_is_not_shown(principal, relative):
    _propose(principal, relative, agent_name="刘晓")
    assert delegation_invitations(user=relative.user) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"agent_id_number": "110101199001011234"}, "agent_id_number"),  # bad check digit
        ({"agent_name": "  "}, "agent_name"),
        ({"valid_until": "明年"}, "valid_until"),
        ({"valid_until": dt.date(2000, 1, 1)}, "valid_until"),
        ({"items": ["no_such_item"]}, "items"),
        ({"items": ["enterprise_opening"]}, "items"),  # an enterprise's 一件事
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_written(
    principal, relative, changes, field
):
    with pytest.raises(DelegationInvalid) as exc:
        _propose(principal, relative, **changes)
    assert exc.value.code == "DELEGATION_INVALID"
    assert exc.value.http_status == 422
    assert [d["field"] for d in exc.value.details] == [field]
    assert Delegation.objects.count() == 0
    assert AuditEvent.objects.filter(action__startswith="delegation.").count() == 0


def test_at_most_three_years(principal, relative):
    on = today()
    limit = on.replace(year=on.year + 3, day=min(on.day, 28))
    _propose(principal, relative, valid_until=limit)
    with pytest.raises(DelegationInvalid):
        _propose(
            principal, ResidentProfileFactory(), valid_until=on + dt.timedelta(days=3 * 366 + 1)
        )
    assert Delegation.objects.count() == 1


def test_self_and_a_second_open_one_are_refused(principal, relative):
    with pytest.raises(DelegationSelf):
        _propose(principal, principal)
    _propose(principal, relative)
    with pytest.raises(DelegationExists) as exc:
        _propose(principal, relative, items=["birth"])
    assert exc.value.http_status == 409
    assert Delegation.objects.count() == 1


def test_accept_makes_it_live_and_names_both(principal, relative):
    d = _propose(principal, relative)
    delegation_accept(user=relative.user, delegation_id=d.pk)

    d.refresh_from_db()
    assert d.state == DelegationState.ACTIVE
    assert d.agent_user == relative.user
    assert d.accepted_at is not None
    event = AuditEvent.objects.get(action="delegation.accept")
    assert (event.actor, event.subject_resident_id) == (relative.user, principal.pk)
    assert event.data["agent_user"] == relative.user.pk
    assert delegation_for_acting(user=relative.user, delegation_id=d.pk, code="birth") == d
    assert [r["principal_name"] for r in delegations_received(user=relative.user)] == ["张桂英"]


def test_only_the_named_person_may_accept(principal, relative, stranger):
    d = _propose(principal, relative)
    with pytest.raises(DelegationNotFound):
        delegation_accept(user=stranger.user, delegation_id=d.pk)
    with pytest.raises(DelegationNotFound):
        delegation_accept(user=principal.user, delegation_id=d.pk)
    d.refresh_from_db()
    assert (d.state, d.agent_user) == (DelegationState.PROPOSED, None)


def test_decline_ends_it_and_cannot_be_accepted_after(principal, relative):
    d = _propose(principal, relative)
    delegation_decline(user=relative.user, delegation_id=d.pk)
    d.refresh_from_db()
    assert d.state == DelegationState.DECLINED
    with pytest.raises(DelegationNotPending):
        delegation_accept(user=relative.user, delegation_id=d.pk)
    assert AuditEvent.objects.filter(action="delegation.accept").count() == 0


@pytest.mark.parametrize("side", ["principal", "agent"])
def test_either_side_revokes_at_once(principal, relative, side):
    d = grant(principal, relative)
    who = principal if side == "principal" else relative
    delegation_revoke(user=who.user, delegation_id=d.pk)

    d.refresh_from_db()
    assert d.state == DelegationState.REVOKED
    assert d.revoked_by == who.user
    event = AuditEvent.objects.get(action="delegation.revoke")
    assert event.data["side"] == side
    assert event.subject_resident_id == principal.pk
    with pytest.raises(DelegationNotValid):
        delegation_for_acting(user=relative.user, delegation_id=d.pk)


def test_another_resident_cannot_revoke(principal, relative, stranger):
    d = grant(principal, relative)
    with pytest.raises(DelegationNotFound):
        delegation_revoke(user=stranger.user, delegation_id=d.pk)
    d.refresh_from_db()
    assert d.state == DelegationState.ACTIVE
    assert AuditEvent.objects.filter(action="delegation.revoke").count() == 0


def test_expired_reads_as_expired_and_gives_no_authority(principal, relative):
    d = grant(principal, relative, days=0)  # valid today only
    tomorrow = today() + dt.timedelta(days=1)
    assert may_act_for(user=relative.user, principal=principal, code="birth")
    assert not may_act_for(user=relative.user, principal=principal, code="birth", on=tomorrow)
    assert d.state_now(tomorrow) == DelegationState.EXPIRED
    with pytest.raises(DelegationNotValid):
        delegation_for_acting(user=relative.user, delegation_id=d.pk, on=tomorrow)


def test_scope_names_the_items(principal, relative):
    d = grant(principal, relative, items=["birth", "social_security_card"])
    assert may_act_for(user=relative.user, principal=principal, code="birth")
    assert may_act_for(user=relative.user, principal=principal, code="social_security_card")
    assert not may_act_for(user=relative.user, principal=principal, code="vaccination_certificate")
    row = delegations_given(user=principal.user)[0]
    assert row["id"] == d.pk
    assert row["scope_all"] is False
    assert row["scope"] == ["出生一件事", "社会保障卡申领"]


def test_counter_record_names_clerk_and_hall_and_waits_for_acceptance(staff, relative):
    walk_in = ResidentProfileFactory(name="陈老伯")
    d = delegation_record_at_counter(
        clerk=staff.clerk,
        principal=walk_in,
        agent_id_number=relative.id_number,
        agent_name=relative.name,
        items=[],
        valid_until=today() + dt.timedelta(days=90),
    )
    d.refresh_from_db()
    assert (d.state, d.recorded_via, d.recorded_by, d.hall) == (
        DelegationState.PROPOSED,
        RecordedVia.COUNTER,
        staff.clerk,
        staff.hall,
    )
    event = AuditEvent.objects.get(action="delegation.record_at_counter")
    assert (event.actor, event.subject_resident_id) == (staff.clerk, walk_in.pk)
    assert event.data["hall"] == "centre"
    delegation_accept(user=relative.user, delegation_id=d.pk)
    assert may_act_for(user=relative.user, principal=walk_in, code="birth")

    delegation_revoke_at_counter(clerk=staff.clerk, principal=walk_in, delegation_id=d.pk)
    assert not may_act_for(user=relative.user, principal=walk_in, code="birth")
    assert AuditEvent.objects.get(action="delegation.revoke_at_counter").actor == staff.clerk


def test_only_a_counter_clerk_records(staff, principal, relative):
    from tongban.common.errors import PermissionDenied

    reviewer = next(iter(staff.reviewer.values()))
    for who in (reviewer, relative.user, StaffFactory()):
        with pytest.raises(PermissionDenied):
            delegation_record_at_counter(
                clerk=who,
                principal=principal,
                agent_id_number=relative.id_number,
                agent_name=relative.name,
                items=[],
                valid_until=today(),
            )
    assert Delegation.objects.count() == 0


def test_each_side_is_told_in_app(principal, relative, django_capture_on_commit_callbacks):
    from tongban.common.calendar import chinese_date
    from tongban.notifications.models import Notice

    until = today() + dt.timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=False):
        d = _propose(principal, relative, valid_until=until)
    # The notice goes to the person named only; nothing tells the principal they exist.
    assert list(Notice.objects.values_list("recipient", "title", "body", "link")) == [
        (
            relative.user.pk,
            "张桂英邀请您为其代办",
            f"张桂英授权您在网上为其办事（全部事项，至{chinese_date(until)}）。请确认是否接受。",
            "/me/delegations/#invitations",
        )
    ]
    Notice.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False):
        delegation_accept(user=relative.user, delegation_id=d.pk)
        delegation_revoke(user=principal.user, delegation_id=d.pk)
    assert list(Notice.objects.order_by("pk").values_list("recipient", "title")) == [
        (principal.user.pk, "刘晓梅已接受您的代办授权"),
        (relative.user.pk, "张桂英已撤销对您的代办授权"),
    ]


def test_no_notice_for_an_id_without_an_account(principal):
    from tongban.notifications.models import Notice

    _propose(principal, ResidentProfileFactory(user=None), agent_name="王五")
    assert Notice.objects.count() == 0
