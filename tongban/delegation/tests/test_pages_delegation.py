"""亲友代办 pages: 我的授权 (grant, revoke), invitations, 为谁办理, the form filled in for a
relative and submitted as theirs, the counter clerk's page — and nobody else seeing or
changing any of it."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tongban.cases.models import Application, Draft
from tongban.cases.tests.conftest import BIRTH_ANSWERS, PDF, PNG, birth_form
from tongban.common.models import AuditEvent
from tongban.delegation.models import Delegation, DelegationState, RecordedVia
from tongban.delegation.selectors import today
from tongban.delegation.services import delegation_revoke
from tongban.delegation.tests.conftest import grant

pytestmark = pytest.mark.django_db

BASE = "/apply/bundle/birth/"


def _grant_post(relative, **changes):
    data = {
        "agent_name": relative.name,
        "agent_id_number": relative.id_number,
        "valid_until": (today() + dt.timedelta(days=60)).isoformat(),
        "scope": "all",
    }
    return data | changes


def test_grant_accept_and_revoke_through_the_pages(client, principal, relative):
    client.force_login(principal.user)
    response = client.post("/me/delegations/grant/", _grant_post(relative))
    assert response.status_code == 302
    d = Delegation.objects.get()
    assert (d.principal, d.items, d.state) == (principal, [], DelegationState.PROPOSED)
    html = client.get("/me/delegations/").content.decode()
    assert "刘晓梅" in html and "待对方确认" in html and f'id="revoke-{d.pk}"' in html

    client.force_login(relative.user)
    html = client.get("/me/").content.decode()
    assert 'id="delegation-invitations"' in html
    html = client.get("/me/delegations/").content.decode()
    assert f'id="accept-{d.pk}"' in html and "张桂英" in html
    assert client.post(f"/me/delegations/{d.pk}/accept/").status_code == 302
    d.refresh_from_db()
    assert (d.state, d.agent_user) == (DelegationState.ACTIVE, relative.user)
    html = client.get("/me/").content.decode()
    assert f'href="/me/acting-for/{d.pk}/"' in html and "为张桂英办理" in html

    client.force_login(principal.user)
    assert client.post(f"/me/delegations/{d.pk}/revoke/").status_code == 302
    d.refresh_from_db()
    assert d.state == DelegationState.REVOKED


def test_grant_form_errors_are_named_and_nothing_is_written(client, principal, relative):
    client.force_login(principal.user)
    response = client.post(
        "/me/delegations/grant/",
        _grant_post(relative, agent_id_number="12345", scope="chosen", valid_until="2000-01-01"),
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "请至少勾选一项" in html
    assert "授权截止日期不能早于今天" in html
    assert Delegation.objects.count() == 0


def test_another_resident_can_neither_see_nor_revoke(client, principal, relative, stranger):
    d = grant(principal, relative)
    client.force_login(stranger.user)
    html = client.get("/me/delegations/").content.decode()
    assert "张桂英" not in html and "刘晓梅" not in html
    assert client.post(f"/me/delegations/{d.pk}/revoke/").status_code == 404
    assert client.post(f"/me/delegations/{d.pk}/accept/").status_code == 404
    assert client.get(f"/me/acting-for/{d.pk}/").status_code == 403
    assert client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for={d.pk}").status_code == 403
    d.refresh_from_db()
    assert d.state == DelegationState.ACTIVE
    assert AuditEvent.objects.filter(action="delegation.revoke").count() == 0
    assert AuditEvent.objects.filter(action="personal_data.read").count() == 0


def test_anonymous_is_sent_to_login(client, principal, relative):
    d = grant(principal, relative)
    for url in ("/me/delegations/", f"/me/acting-for/{d.pk}/"):
        assert client.get(url).status_code == 302
    assert client.post(f"/me/delegations/{d.pk}/revoke/").status_code == 302
    assert Delegation.objects.get().state == DelegationState.ACTIVE


def _walk_for(client, principal, d):
    """The relative fills the form in for PRINCIPAL, step by step, and submits it."""
    response = client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for={d.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="acting-for"' in html and "正在为 <strong>张桂英</strong> 办理" in html
    form = birth_form(principal)
    steps = {
        "applicant": ["applicant.name", "applicant.id_number", "applicant.phone"],
        "child": ["child.name", "child.birth_date", "child.sex"],
        "parents": ["marriage.certificate_no"],
    }
    for slug, codes in steps.items():
        data = {f"field.{c}": form[c] for c in codes} | {"action": "next"}
        response = client.post(f"{BASE}step/{slug}/", data)
        assert response.status_code == 302, response.content.decode()
    response = client.post(
        f"{BASE}step/materials/",
        {
            "file.birth_medical_certificate": SimpleUploadedFile("出生证明.pdf", PDF),
            "file.child_photo": SimpleUploadedFile("photo.png", PNG),
            "how.child_photo": "upload",
            "action": "next",
        },
    )
    assert response.status_code == 302
    client.post(f"{BASE}step/delivery/", {"delivery": "post", "action": "next"})
    check = client.get(f"{BASE}check/").content.decode()
    assert "正在为 <strong>张桂英</strong> 办理" in check
    key = Draft.objects.get(applicant=d.agent_user).idempotency_key
    return client.post(f"{BASE}check/", {"idempotency_key": key})


def test_a_relative_applies_and_the_case_is_the_principals(client, principal, relative):
    d = grant(principal, relative)
    client.force_login(relative.user)
    step = client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for={d.pk}")
    assert step.status_code == 200
    # The form is prefilled from the principal's record, and says whose.
    html = client.get(f"{BASE}step/applicant/").content.decode()
    assert f'name="field.applicant.name" value="{principal.name}"' in html
    assert f'value="{relative.name}"' not in html
    assert "已从张桂英的档案填入" in html

    response = _walk_for(client, principal, d)
    assert response.status_code == 302
    case = Application.objects.get()
    assert (case.applicant, case.applicant_profile, case.acted_by) == (
        principal.user,
        principal,
        relative.user,
    )
    assert response["Location"] == f"/me/cases/{case.receipt_no}/submitted/"
    assert client.get(response["Location"]).status_code == 200
    html = client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    assert "您为张桂英代办" in html
    # That read of her case data is on the principal's record too.
    read = AuditEvent.objects.get(action="personal_data.read", object_id=case.receipt_no)
    assert (read.actor, read.subject_resident_id) == (relative.user, principal.pk)
    assert read.purpose == "亲友代办：查看代为提交的办件"

    # The principal sees it in 我的办件, marked with who filed it, and every read of their
    # record for the form is on their 我的数据使用记录.
    client.force_login(principal.user)
    assert "由刘晓梅代办" in client.get("/me/cases/").content.decode()
    assert "由刘晓梅代办" in client.get(f"/me/cases/{case.receipt_no}/").content.decode()
    reads = AuditEvent.objects.filter(action="personal_data.read", subject_resident_id=principal.pk)
    assert reads.count() >= 1
    assert set(reads.values_list("actor", flat=True)) == {relative.user.pk}
    assert set(reads.values_list("purpose", flat=True)) == {
        "亲友代办：为被代办人填写申请",
        "亲友代办：查看代为提交的办件",
    }
    access = client.get("/me/data-access/").content.decode()
    assert "代办人刘晓梅" in access

    # Revoked: the relative no longer follows the case.
    delegation_revoke(user=principal.user, delegation_id=d.pk)
    client.force_login(relative.user)
    assert client.get(f"/me/cases/{case.receipt_no}/").status_code == 404


def test_revoked_between_steps_refuses_the_submit_and_creates_nothing(client, principal, relative):
    d = grant(principal, relative)
    client.force_login(relative.user)
    client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for={d.pk}")
    delegation_revoke(user=principal.user, delegation_id=d.pk)
    response = client.get(f"{BASE}step/applicant/")
    assert response.status_code == 403
    assert "已撤销" in response.content.decode()
    response = client.post(f"{BASE}check/", {"idempotency_key": "x"})
    assert response.status_code == 403
    assert Application.objects.count() == 0
    # The way back: applying for oneself again.
    assert client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for=").status_code == 200


def test_the_guide_says_for_whom(client, principal, relative):
    d = grant(principal, relative)
    client.force_login(relative.user)
    html = client.get(f"/bundles/birth/?for={d.pk}").content.decode()
    assert 'id="apply-start-relative"' in html and "张桂英" in html
    html = client.get(f"/me/acting-for/{d.pk}/").content.decode()
    assert f'href="/bundles/birth/?for={d.pk}"' in html
    delegation_revoke(user=principal.user, delegation_id=d.pk)
    html = client.get(f"/bundles/birth/?for={d.pk}").content.decode()
    assert 'id="apply-start-relative-refused"' in html and 'id="apply-start-relative"' not in html


def test_elder_home_shows_who_may_act(client, principal, relative):
    grant(principal, relative, items=["birth"])
    principal.user.elder_mode = True
    principal.user.save(update_fields=["elder_mode"])
    client.force_login(principal.user)
    for url in ("/me/", "/"):
        html = client.get(url).content.decode()
        assert 'id="who-may-act"' in html
        assert "<strong>刘晓梅</strong>可以替您办理<strong>出生一件事</strong>" in html
        assert 'id="who-may-act-revoke"' in html


# ---------------------------------------------------------------- 综合窗口


def test_counter_clerk_records_for_the_identified_resident(client, staff, principal, relative):
    client.force_login(staff.clerk)
    assert "请先在" in client.get("/staff/delegations/").content.decode()
    session = client.session
    session["tongban_counter_resident"] = principal.pk
    session.save()
    html = client.get("/staff/delegations/").content.decode()
    assert 'id="counter-principal">张桂英<' in html
    response = client.post("/staff/delegations/", {"action": "record", **_grant_post(relative)})
    assert response.status_code == 302
    d = Delegation.objects.get()
    assert (d.principal, d.recorded_via, d.recorded_by, d.hall) == (
        principal,
        RecordedVia.COUNTER,
        staff.clerk,
        staff.hall,
    )
    response = client.post("/staff/delegations/", {"action": "revoke", "delegation": d.pk})
    assert response.status_code == 302
    assert Delegation.objects.get().state == DelegationState.REVOKED


def test_counter_page_is_for_clerks_only(client, staff, principal, relative):
    reviewer = next(iter(staff.reviewer.values()))
    for user in (reviewer, principal.user):
        client.force_login(user)
        session = client.session
        session["tongban_counter_resident"] = principal.pk
        session.save()
        response = client.post("/staff/delegations/", {"action": "record", **_grant_post(relative)})
        assert response.status_code == 403
        assert 'id="counter-principal"' not in response.content.decode()
    assert Delegation.objects.count() == 0


def test_switching_person_carries_nothing_over(client, principal, relative):
    from tongban.cases import services
    from tongban.cases.models import DraftUpload

    d = grant(principal, relative)
    client.force_login(relative.user)
    client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}")  # her own draft first
    client.post(
        f"{BASE}step/applicant/",
        {"field.applicant.phone": "13911112222", "action": "next"},
    )
    services.draft_upload_add(
        applicant=relative.user,
        kind="bundle",
        code="birth",
        material_code="child_photo",
        files=[services.Upload(name="我的照片.png", content=PNG)],
    )
    assert DraftUpload.objects.count() == 1
    client.get(f"{BASE}?{urlencode(BIRTH_ANSWERS)}&for={d.pk}")
    draft = Draft.objects.get(applicant=relative.user)
    assert draft.delegation == d
    assert draft.form_data == {}
    assert (draft.material_how, draft.steps_seen) == ({}, [])
    assert DraftUpload.objects.count() == 0
    html = client.get(f"{BASE}step/applicant/").content.decode()
    assert "13911112222" not in html
    assert f'name="field.applicant.name" value="{principal.name}"' in html
