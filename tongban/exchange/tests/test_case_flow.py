"""数据共享核验 through a case: a submitted case records the look-up that spared a material
and the reviewer sees it; a source that is down is named on the form, the applicant may
choose 平台稍后核验, and the retry turns that into 免提交 (or asks for the material)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.utils import timezone

from tongban.accounts.models import StaffRole
from tongban.accounts.tests.factories import ResidentProfileFactory, StaffFactory
from tongban.cases import services
from tongban.cases.errors import CaseFormInvalid
from tongban.cases.models import Application, CaseEvent, Draft, MaterialSubmission
from tongban.cases.services import MaterialInput
from tongban.cases.tests.samples import sample_form, sample_uploads
from tongban.catalog.guide import guide_for_item
from tongban.catalog.models import Department
from tongban.common.models import AuditEvent
from tongban.exchange import breaker
from tongban.exchange.models import SourceLookup
from tongban.exchange.services import case_source_retry, key_hash
from tongban.exchange.tasks import source_retry_sweep
from tongban.exchange.tests import platform_fixtures as pf
from tongban.exchange.tests.platform_fixtures import FATHER_ID, MOTHER_ID, NOBODY_ID
from tongban.notifications.models import Notice

# The fixtures this module uses.
catalog, demo_server, exchange, registry = pf.catalog, pf.demo_server, pf.exchange, pf.registry

CODE = "SH-GA-0101"
ANSWERS = {"parents_marital": "married", "hukou_follows": "mother"}
PARENTS = {
    "mother.id_number": MOTHER_ID,
    "mother.name": "李静",
    "father.id_number": FATHER_ID,
    "father.name": "王强",
}


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _guide(applicant, parents=PARENTS):
    return guide_for_item(code=CODE, answers=ANSWERS, applicant=applicant, form_values=parents)


def _submit(applicant, *, parents=PARENTS, retry=(), key="k1"):
    guide = _guide(applicant, parents)
    form = {**sample_form(guide), **parents}
    materials = sample_uploads(guide)
    for code in retry:
        materials[code] = MaterialInput(how="source_retry")
    return services.case_submit(
        applicant=applicant.user,
        kind="item",
        code=CODE,
        answers=ANSWERS,
        form_data=form,
        materials=materials,
        idempotency_key=key,
    )


def _row(case, code):
    return MaterialSubmission.objects.get(case=case, material_code=code)


def _intake_page(client, case):
    acceptor = StaffFactory(
        department=Department.objects.get(code="SH-GA"), role=StaffRole.ACCEPTOR
    )
    client.force_login(acceptor)
    response = client.get(f"/staff/intake/{case.receipt_no}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_submitted_case_records_the_look_up_and_the_reviewer_sees_it(exchange, client):
    case = _submit(ResidentProfileFactory())
    lookup = SourceLookup.objects.get(lookup_hash=key_hash(MOTHER_ID))
    row = _row(case, "mother_id_card")
    assert (row.how, row.source_code, row.source_lookup_id, row.source_value_hash) == (
        "waived",
        "t_population",
        lookup.pk,
        lookup.value_hash,
    )
    assert row.source_answered_at == lookup.at
    assert row.note == "已按母亲的身份信息由公安人口库核验（示例市公安局），无需提交"
    spared_by = next(m for m in case.plan["materials"] if m["code"] == "mother_id_card")
    assert spared_by["spared_by"]["lookup_id"] == lookup.pk
    # The father's card (his record says not valid) was uploaded.
    assert _row(case, "father_id_card").how == "upload"
    html = _intake_page(client, case)
    at = timezone.localtime(lookup.at).strftime("%Y-%m-%d %H:%M")
    assert f"已核验共享数据：公安人口库 · {at}" in html


def test_source_down_the_form_offers_a_later_check(exchange, client):
    exchange.set_fault("t_population", "error:503")
    applicant = ResidentProfileFactory()
    client.force_login(applicant.user)
    services.draft_save(
        applicant=applicant.user, kind="item", code=CODE, answers=ANSWERS, form_data=PARENTS
    )
    base = f"/apply/item/{CODE}/"
    assert client.get(base + "?" + urlencode(ANSWERS)).status_code == 200
    html = client.get(base + "step/materials/").content.decode()
    assert "公安人口库暂时无法核验：您可以上传该材料，或选择由平台在审核前再次核验。" in html
    assert 'name="how.mother_id_card" value="source_retry"' in html
    response = client.post(
        base + "step/materials/", {"how.mother_id_card": "source_retry", "action": "save"}
    )
    assert response.status_code in (200, 302)
    draft = Draft.objects.get(applicant=applicant.user, kind="item", code=CODE)
    assert draft.material_how.get("mother_id_card") == "source_retry"


def test_a_later_check_is_refused_where_the_source_answered(exchange):
    with pytest.raises(CaseFormInvalid) as caught:
        _submit(ResidentProfileFactory(), retry=["father_id_card"])
    assert {"field": "father_id_card", "message": "父亲居民身份证不适用平台稍后核验"} in (
        caught.value.details
    )
    assert Application.objects.count() == 0


def test_source_down_then_back_the_retry_spares_the_material(exchange, client):
    exchange.set_fault("t_population", "error:503")
    applicant = ResidentProfileFactory()
    case = _submit(applicant, retry=["mother_id_card", "father_id_card"])
    row = _row(case, "mother_id_card")
    assert (row.how, row.source_code, row.note) == (
        "source_retry",
        "t_population",
        "公安人口库暂时无法核验，由平台在审核前再次核验",
    )
    assert case.status == "submitted"  # not accepted automatically while it waits
    # Still down: nothing changes, and the reviewer sees it waits for the platform.
    assert case_source_retry(receipt_no=case.receipt_no).as_dict() == {
        "verified": 0,
        "needed": 0,
        "still_down": 2,
    }
    assert "待平台核验（公安人口库）" in _intake_page(client, case)
    # Back up: the mother's card is verified, the father's (not valid) is asked for.
    exchange.set_fault("t_population", None)
    breaker.reset("t_population")
    assert case_source_retry(receipt_no=case.receipt_no).as_dict() == {
        "verified": 1,
        "needed": 1,
        "still_down": 0,
    }
    hers, his = _row(case, "mother_id_card"), _row(case, "father_id_card")
    lookup = SourceLookup.objects.get(pk=hers.source_lookup_id)
    assert (hers.how, hers.source_value_hash, lookup.receipt_no) == (
        "waived",
        lookup.value_hash,
        case.receipt_no,
    )
    assert (his.how, his.note) == ("deferred", "公安人口库未能核验，请补交该材料")
    assert his.due_date is not None and his.due_date > timezone.localdate()
    events = list(
        CaseEvent.objects.filter(case=case, action__startswith="material_source")
        .order_by("seq")
        .values_list("action", "actor_label", "data")
    )
    assert events == [
        (
            "material_source_not_verified",
            "system:exchange",
            {
                "material": "father_id_card",
                "source": "t_population",
                "due_date": his.due_date.isoformat(),
            },
        ),
        (
            "material_source_verified",
            "system:exchange",
            {
                "material": "mother_id_card",
                "source": "t_population",
                "lookup_id": lookup.pk,
                "value_hash": lookup.value_hash,
            },
        ),
    ]
    audit = AuditEvent.objects.get(action="case.material_source_verified")
    assert (audit.object_id, audit.subject_resident_id, audit.actor_label) == (
        case.receipt_no,
        applicant.pk,
        "system:exchange",
    )
    notice = Notice.objects.get(recipient=applicant.user, category="material_source_needed")
    assert notice.title == "请补交材料：父亲居民身份证"
    # Idempotent: running again changes nothing.
    assert case_source_retry(receipt_no=case.receipt_no).as_dict() == {
        "verified": 0,
        "needed": 0,
        "still_down": 0,
    }
    assert CaseEvent.objects.filter(case=case, action__startswith="material_source").count() == 2
    html = _intake_page(client, case)
    assert "已核验共享数据：公安人口库 · " in html


def test_the_sweep_retries_every_waiting_case(exchange):
    exchange.set_fault("t_population", "error:503")
    case = _submit(
        ResidentProfileFactory(),
        parents={**PARENTS, "father.id_number": NOBODY_ID},
        retry=["mother_id_card"],
    )
    exchange.set_fault("t_population", None)
    breaker.reset("t_population")
    today = timezone.localdate()
    counts = source_retry_sweep(timezone.now(), today)
    assert counts == {
        "source_retry_verified": 1,
        "source_retry_needed": 0,
        "source_retry_still_down": 0,
        "source_retry_failed": 0,
    }
    assert _row(case, "mother_id_card").how == "waived"


def test_retry_with_the_exchange_off_leaves_the_material_waiting(exchange, settings):
    exchange.set_fault("t_population", "error:503")
    case = _submit(ResidentProfileFactory(), retry=["mother_id_card"])
    settings.TONGBAN_EXCHANGE_ENABLED = False
    assert case_source_retry(receipt_no=case.receipt_no).still_down == 1
    assert _row(case, "mother_id_card").how == "source_retry"


def _task_page(client, case):
    from tongban.cases.models import Task

    police = Department.objects.get(code="SH-GA")
    services.case_accept(
        actor=StaffFactory(department=police, role=StaffRole.ACCEPTOR),
        receipt_no=case.receipt_no,
    )
    task = Task.objects.get(case=case, item_code=CODE)
    client.force_login(StaffFactory(department=police, role=StaffRole.REVIEWER))
    response = client.get(f"/staff/tasks/{task.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_reviewer_sees_verified_and_waiting_materials(exchange, client):
    exchange.set_fault("t_population", "error:503")
    waiting = _submit(ResidentProfileFactory(), retry=["mother_id_card"], key="w")
    html = _task_page(client, waiting)
    assert "待平台核验（公安人口库）：如需该材料，可要求补正" in html
    exchange.set_fault("t_population", None)
    breaker.reset("t_population")
    case_source_retry(receipt_no=waiting.receipt_no)
    html = client.get(f"/staff/tasks/{waiting.tasks.get().pk}/").content.decode()
    row = _row(waiting, "mother_id_card")
    at = timezone.localtime(row.source_answered_at).strftime("%Y-%m-%d %H:%M")
    assert f"已核验共享数据：公安人口库 · {at}" in html
    assert "待平台核验" not in html


def test_a_later_check_asked_for_after_the_source_came_back_is_simply_waived(exchange):
    case = _submit(ResidentProfileFactory(), retry=["mother_id_card"])
    row = _row(case, "mother_id_card")
    assert (row.how, row.source_code) == ("waived", "t_population")
