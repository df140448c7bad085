"""企业授权: granting, accepting, declining, revoking, changing and giving up an agent's
authority; who may do each; what is recorded."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tongban.accounts import errors
from tongban.accounts.models import EnterpriseMembership
from tongban.accounts.selectors import (
    agent_invitations_for,
    agent_today,
    enterprise_agents_for,
    enterprises_for_agent,
    live_memberships,
    membership_is_live,
    membership_live_q,
    membership_state,
)
from tongban.accounts.services import (
    enterprise_agent_accept,
    enterprise_agent_decline,
    enterprise_agent_grant,
    enterprise_agent_resign,
    enterprise_agent_revoke,
    enterprise_agent_update,
    enterprise_membership_grant,
)
from tongban.accounts.tests.factories import (
    EnterpriseFactory,
    EnterpriseMembershipFactory,
    ResidentProfileFactory,
)
from tongban.accounts.validators import InvalidIdNumber
from tongban.catalog.services import catalog_load_directory
from tongban.catalog.tests.conftest import FIXTURES
from tongban.common.models import AuditEvent
from tongban.notifications.models import Notice

# The city's today: the services' default and the gates' (which take no date) agree with it.
TODAY = agent_today()
REP, ADMIN, AGENT = (
    EnterpriseMembership.Role.LEGAL_REPRESENTATIVE,
    EnterpriseMembership.Role.ADMINISTRATOR,
    EnterpriseMembership.Role.AGENT,
)


@pytest.fixture
def firm(db):
    """An enterprise with its legal representative (周明) and an invitee who has an account
    (吴芳), and the fixture catalog (seal_engraving, invoice_application, enterprise_opening)."""
    catalog_load_directory(path=FIXTURES)
    rep = ResidentProfileFactory(name="周明")
    company = EnterpriseFactory(name="示例授权科技有限公司")
    EnterpriseMembershipFactory(user=rep.user, enterprise=company, role=REP)
    invitee = ResidentProfileFactory(name="吴芳")
    return rep, company, invitee


def grant(actor, company, person, **kwargs):
    kwargs.setdefault("today", TODAY)
    return enterprise_agent_grant(
        actor=actor,
        enterprise_id=company.pk,
        id_number=person.id_number,
        name=person.name,
        **kwargs,
    )


def agent_events(company):
    return list(
        AuditEvent.objects.filter(
            object_type="enterprise", object_id=str(company.pk), action__startswith="enterprise_"
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_grant_waits_for_the_person_and_holds_once_accepted(firm):
    rep, company, invitee = firm
    before = agent_events(company)
    membership = grant(
        rep.user,
        company,
        invitee,
        items=["seal_engraving", "seal_engraving"],
        may_certificates=True,
        expires_on=TODAY + dt.timedelta(days=30),
    )
    membership.refresh_from_db()
    assert (membership.user_id, membership.invitee_name, membership.accepted_at) == (
        None,
        "吴芳",
        None,
    )
    assert (membership.items, membership.may_certificates, membership.may_idcode) == (
        ["seal_engraving"],
        True,
        False,
    )
    assert membership.granted_by_id == rep.user.pk
    assert membership_state(membership, today=TODAY) == "pending"
    assert enterprises_for_agent(user=invitee.user) == []
    event = AuditEvent.objects.get(action="enterprise_agent.grant")
    assert (event.actor_id, event.object_id) == (rep.user.pk, str(company.pk))
    assert event.data == {
        "membership_id": membership.pk,
        "role": "agent",
        "items": ["seal_engraving"],
        "may_certificates": True,
        "may_idcode": False,
        "expires_on": (TODAY + dt.timedelta(days=30)).isoformat(),
        "replaced": [],
    }
    # The invitee, who has an account, is told in their message centre.
    notice = Notice.objects.get(recipient=invitee.user)
    assert notice.title == "示例授权科技有限公司邀请您作为经办人"

    [shown] = agent_invitations_for(user=invitee.user, today=TODAY)
    assert (shown["id"], shown["enterprise_name"], shown["granted_by"], shown["items_label"]) == (
        membership.pk,
        "示例授权科技有限公司",
        "周*",
        "公章刻制备案",
    )
    enterprise_agent_accept(user=invitee.user, membership_id=membership.pk, today=TODAY)
    membership.refresh_from_db()
    assert membership.user_id == invitee.user.pk
    assert membership_is_live(membership, today=TODAY)
    assert [e["id"] for e in enterprises_for_agent(user=invitee.user)] == [company.pk]
    assert agent_invitations_for(user=invitee.user, today=TODAY) == []
    assert agent_events(company) == [*before, "enterprise_agent.grant", "enterprise_agent.accept"]


def test_granting_says_the_same_whether_or_not_the_person_has_an_account(firm):
    rep, company, invitee = firm
    nobody = ResidentProfileFactory(name="李四", user=None)
    with_account = grant(rep.user, company, invitee)
    without = grant(rep.user, company, nobody)
    fields = ("user_id", "accepted_at", "role", "items", "may_certificates", "may_idcode")
    assert [getattr(with_account, f) for f in fields] == [getattr(without, f) for f in fields]
    # Only the account holder is notified: the granter's answer does not differ.
    assert Notice.objects.filter(recipient__isnull=False).count() == 1
    # A person who opens an account later finds the invitation waiting.
    later = ResidentProfileFactory(name="陈五")
    waiting = grant(rep.user, company, later)
    assert [i["id"] for i in agent_invitations_for(user=later.user, today=TODAY)] == [waiting.pk]


def test_an_invitation_is_for_the_id_number_and_name_it_names(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee)
    stranger = ResidentProfileFactory(name="吴芳")  # same name, another ID number
    assert agent_invitations_for(user=stranger.user, today=TODAY) == []
    with pytest.raises(errors.InvitationNotFound):
        enterprise_agent_accept(user=stranger.user, membership_id=membership.pk, today=TODAY)
    with pytest.raises(errors.InvitationNotFound):
        enterprise_agent_decline(user=stranger.user, membership_id=membership.pk)
    membership.refresh_from_db()
    assert (membership.user_id, membership.accepted_at, membership.declined_at) == (
        None,
        None,
        None,
    )


def test_declining_closes_the_invitation_and_a_new_one_can_follow(firm):
    rep, company, invitee = firm
    first = grant(rep.user, company, invitee)
    enterprise_agent_decline(user=invitee.user, membership_id=first.pk)
    first.refresh_from_db()
    assert membership_state(first, today=TODAY) == "declined"
    assert first.user_id == invitee.user.pk and first.accepted_at is None
    with pytest.raises(errors.InvitationNotFound):
        enterprise_agent_accept(user=invitee.user, membership_id=first.pk, today=TODAY)
    assert not live_memberships(today=TODAY).filter(user=invitee.user).exists()
    second = grant(rep.user, company, invitee)
    assert second.pk != first.pk


def test_a_second_grant_to_the_same_person_is_refused_while_one_is_open(firm):
    rep, company, invitee = firm
    grant(rep.user, company, invitee)
    count = EnterpriseMembership.objects.count()
    with pytest.raises(errors.AgentAlreadyInvited):
        grant(rep.user, company, invitee)
    assert EnterpriseMembership.objects.count() == count


def test_an_expired_authority_is_closed_by_a_new_grant(firm):
    rep, company, invitee = firm
    old = EnterpriseMembershipFactory(
        user=invitee.user, enterprise=company, expires_on=TODAY - dt.timedelta(days=1)
    )
    new = grant(rep.user, company, invitee)
    old.refresh_from_db()
    assert (old.revoked_by_id, membership_state(old, today=TODAY)) == (rep.user.pk, "revoked")
    assert AuditEvent.objects.get(action="enterprise_agent.grant").data["replaced"] == [old.pk]
    enterprise_agent_accept(user=invitee.user, membership_id=new.pk, today=TODAY)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"id_number": "310104199003071230"}, InvalidIdNumber),
        ({"name": "  "}, errors.AgentNameInvalid),
        ({"name": "名" * 31}, errors.AgentNameInvalid),
        ({"items": ["no_such_item"]}, errors.AgentItemsInvalid),
        ({"items": ["birth_registration"]}, errors.AgentItemsInvalid),  # a personal item
        ({"expires_on": TODAY - dt.timedelta(days=1)}, errors.AgentExpiryInvalid),
        ({"role": REP}, errors.AgentRoleInvalid),
        ({"role": "owner"}, errors.AgentRoleInvalid),
    ],
)
def test_bad_grants_are_refused_and_write_nothing(firm, kwargs, error):
    rep, company, invitee = firm
    args = {"id_number": invitee.id_number, "name": invitee.name, **kwargs}
    count, audits = EnterpriseMembership.objects.count(), AuditEvent.objects.count()
    with pytest.raises(error):
        enterprise_agent_grant(actor=rep.user, enterprise_id=company.pk, today=TODAY, **args)
    assert (EnterpriseMembership.objects.count(), AuditEvent.objects.count()) == (count, audits)


def test_one_cannot_grant_to_oneself(firm):
    rep, company, _ = firm
    with pytest.raises(errors.GrantToSelf):
        grant(rep.user, company, rep)


def _live(user, company, role, **kwargs):
    return EnterpriseMembershipFactory(user=user, enterprise=company, role=role, **kwargs)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("agent", errors.NotEnterpriseManager),
        ("stranger", errors.EnterpriseNotFound),
        ("other_rep", errors.EnterpriseNotFound),
        ("revoked_admin", errors.EnterpriseNotFound),
        ("expired_admin", errors.EnterpriseNotFound),
        ("pending_admin", errors.EnterpriseNotFound),
    ],
)
def test_only_a_live_legal_representative_or_administrator_grants(firm, who, error):
    _, company, invitee = firm
    actor = ResidentProfileFactory().user
    if who == "agent":
        _live(actor, company, AGENT)
    elif who == "other_rep":
        _live(actor, EnterpriseFactory(), REP)
    elif who == "revoked_admin":
        _live(actor, company, ADMIN, revoked_at=timezone.now())
    elif who == "expired_admin":
        _live(actor, company, ADMIN, expires_on=TODAY - dt.timedelta(days=1))
    elif who == "pending_admin":
        _live(actor, company, ADMIN, accepted_at=None)
    count, audits = EnterpriseMembership.objects.count(), AuditEvent.objects.count()
    with pytest.raises(error):
        grant(actor, company, invitee)
    assert (EnterpriseMembership.objects.count(), AuditEvent.objects.count()) == (count, audits)


def test_an_administrator_names_agents_but_not_administrators(firm):
    rep, company, invitee = firm
    admin = ResidentProfileFactory().user
    _live(admin, company, ADMIN)
    with pytest.raises(errors.AdministratorGrantNeedsLegalRepresentative):
        grant(admin, company, invitee, role=ADMIN)
    membership = grant(admin, company, invitee)
    assert (membership.role, membership.granted_by_id) == (AGENT, admin.pk)
    # The legal representative appoints an administrator, whose scope is the whole.
    other = ResidentProfileFactory()
    appointed = grant(rep.user, company, other, role=ADMIN, items=["seal_engraving"])
    assert (appointed.items, appointed.may_certificates, appointed.may_idcode) == ([], True, True)


def test_revoking_ends_the_authority_now_and_is_recorded(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee)
    enterprise_agent_accept(user=invitee.user, membership_id=membership.pk, today=TODAY)
    enterprise_agent_revoke(actor=rep.user, membership_id=membership.pk, today=TODAY)
    membership.refresh_from_db()
    assert membership.revoked_by_id == rep.user.pk
    assert membership_state(membership, today=TODAY) == "revoked"
    assert enterprises_for_agent(user=invitee.user) == []
    event = AuditEvent.objects.get(action="enterprise_agent.revoke")
    assert (event.actor_id, event.data["membership_id"], event.data["was_accepted"]) == (
        rep.user.pk,
        membership.pk,
        True,
    )
    with pytest.raises(errors.AgentGrantClosed):
        enterprise_agent_revoke(actor=rep.user, membership_id=membership.pk, today=TODAY)
    assert AuditEvent.objects.filter(action="enterprise_agent.revoke").count() == 1


def test_a_withdrawn_invitation_cannot_be_accepted(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee)
    enterprise_agent_revoke(actor=rep.user, membership_id=membership.pk, today=TODAY)
    with pytest.raises(errors.InvitationNotFound):
        enterprise_agent_accept(user=invitee.user, membership_id=membership.pk, today=TODAY)
    membership.refresh_from_db()
    assert (membership.user_id, membership.accepted_at) == (None, None)


@pytest.mark.parametrize(
    ("actor_role", "target_role", "error"),
    [
        (ADMIN, REP, errors.LegalRepresentativeProtected),
        (REP, REP, errors.LegalRepresentativeProtected),
        (ADMIN, ADMIN, errors.AdministratorGrantNeedsLegalRepresentative),
        (AGENT, AGENT, errors.NotEnterpriseManager),
    ],
)
def test_who_may_not_revoke_whom(firm, actor_role, target_role, error):
    rep, company, _ = firm
    actor = ResidentProfileFactory().user
    _live(actor, company, actor_role)
    if target_role == REP:
        target = EnterpriseMembership.objects.get(user=rep.user)
    else:
        target = _live(ResidentProfileFactory().user, company, target_role)
    with pytest.raises(error):
        enterprise_agent_revoke(actor=actor, membership_id=target.pk, today=TODAY)
    target.refresh_from_db()
    assert (target.revoked_at, target.revoked_by_id) == (None, None)
    assert not AuditEvent.objects.filter(action="enterprise_agent.revoke").exists()


def test_another_enterprise_cannot_touch_or_see_a_grant(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee)
    other_rep = ResidentProfileFactory().user
    other = EnterpriseFactory()
    _live(other_rep, other, REP)
    with pytest.raises(errors.AgentGrantNotFound):
        enterprise_agent_revoke(actor=other_rep, membership_id=membership.pk, today=TODAY)
    with pytest.raises(errors.AgentGrantNotFound):
        enterprise_agent_update(actor=other_rep, membership_id=membership.pk, today=TODAY)
    with pytest.raises(errors.EnterpriseNotFound):
        enterprise_agents_for(viewer=other_rep, enterprise_id=company.pk, today=TODAY)
    with pytest.raises(errors.AgentGrantNotFound):
        enterprise_agent_revoke(actor=rep.user, membership_id=2**31 + 5, today=TODAY)
    membership.refresh_from_db()
    assert (membership.revoked_at, membership.items) == (None, [])


def test_changing_a_grant_records_what_changed(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee, expires_on=TODAY)
    enterprise_agent_update(
        actor=rep.user,
        membership_id=membership.pk,
        items=["invoice_application"],
        may_idcode=True,
        expires_on=TODAY + dt.timedelta(days=10),
        today=TODAY,
    )
    membership.refresh_from_db()
    assert (membership.items, membership.may_idcode, membership.expires_on) == (
        ["invoice_application"],
        True,
        TODAY + dt.timedelta(days=10),
    )
    event = AuditEvent.objects.get(action="enterprise_agent.update")
    assert event.data["previous"] == {
        "items": [],
        "may_idcode": False,
        "expires_on": TODAY.isoformat(),
    }


def test_an_agent_gives_up_their_own_authority(firm):
    rep, company, invitee = firm
    membership = grant(rep.user, company, invitee)
    enterprise_agent_accept(user=invitee.user, membership_id=membership.pk, today=TODAY)
    stranger = ResidentProfileFactory().user
    with pytest.raises(errors.AgentGrantNotFound):
        enterprise_agent_resign(user=stranger, membership_id=membership.pk)
    enterprise_agent_resign(user=invitee.user, membership_id=membership.pk)
    membership.refresh_from_db()
    assert (membership.revoked_by_id, membership_state(membership, today=TODAY)) == (
        invitee.user.pk,
        "revoked",
    )
    rep_row = EnterpriseMembership.objects.get(user=rep.user)
    with pytest.raises(errors.LegalRepresentativeProtected):
        enterprise_agent_resign(user=rep.user, membership_id=rep_row.pk)
    assert agent_events(company)[-1] == "enterprise_agent.resign"


def test_the_management_list_and_history(firm):
    rep, company, invitee = firm
    live = grant(rep.user, company, invitee, items=["seal_engraving"], may_certificates=True)
    enterprise_agent_accept(user=invitee.user, membership_id=live.pk, today=TODAY)
    waiting = grant(rep.user, company, ResidentProfileFactory(name="陈志强"))
    gone = grant(rep.user, company, ResidentProfileFactory(name="赵六"))
    enterprise_agent_revoke(actor=rep.user, membership_id=gone.pk, today=TODAY)
    page = enterprise_agents_for(viewer=rep.user, enterprise_id=company.pk, today=TODAY)
    rows = {r["id"]: r for r in page["agents"]}
    assert {(r["name"], r["role_label"], r["state_label"]) for r in rows.values()} == {
        ("周*", "法定代表人", "有效"),
        ("吴*", "经办人", "有效"),
        ("陈**", "经办人", "待对方接受"),
        ("赵*", "经办人", "已撤销"),
    }
    assert (rows[live.pk]["items_label"], rows[live.pk]["may_certificates"]) == (
        "公章刻制备案",
        True,
    )
    assert rows[waiting.pk]["open"] and not rows[gone.pk]["open"]
    assert page["agents"][-1]["id"] == gone.pk  # closed ones last
    assert [(h["who"], h["what"], h["whom"]) for h in page["history"]][:5] == [
        ("周*", "撤销授权", "赵*"),
        ("周*", "授权", "赵*"),
        ("周*", "授权", "陈**"),
        ("吴*", "接受授权", "吴*"),
        ("周*", "授权", "吴*"),
    ]


def test_the_live_rule_agrees_in_python_and_in_the_database(firm):
    """One rule, two forms: for every state the filter and the predicate give the same answer,
    and the end date is the last day (Asia/Shanghai) on which the authority holds."""
    _, company, _ = firm
    now = timezone.now()
    cases = {
        "live": {},
        "last_day": {"expires_on": TODAY},
        "expired": {"expires_on": TODAY - dt.timedelta(days=1)},
        "pending": {"accepted_at": None},
        "revoked": {"revoked_at": now},
        "declined": {"declined_at": now, "accepted_at": None},
    }
    made = {
        name: _live(ResidentProfileFactory().user, company, AGENT, **fields)
        for name, fields in cases.items()
    }
    in_db = set(
        EnterpriseMembership.objects.filter(membership_live_q(today=TODAY))
        .filter(pk__in=[m.pk for m in made.values()])
        .values_list("pk", flat=True)
    )
    in_python = {m.pk for m in made.values() if membership_is_live(m, today=TODAY)}
    assert in_db == in_python == {made["live"].pk, made["last_day"].pk}


def test_back_office_grants_are_live_at_once(firm):
    _, company, invitee = firm
    membership = enterprise_membership_grant(
        actor="system:test", enterprise=company, user=invitee.user, role=AGENT
    )
    assert membership.accepted_at is not None and membership_is_live(membership)
    again = enterprise_membership_grant(
        actor="system:test", enterprise=company, user=invitee.user, role=ADMIN
    )
    assert (again.pk, again.role) == (membership.pk, ADMIN)
