"""消息模板: the YAML registry is checked at load, and rendering errors are coded 4xx."""

import pytest
from pydantic import ValidationError

from tongban.common.errors import InvalidInput
from tongban.notifications.message_templates import (
    SMS_MAX,
    group_of,
    load_templates,
    template_get,
    templates,
)
from tongban.notifications.models import Notice
from tongban.notifications.services import notice_send

EXPECTED = {
    "case_accepted",
    "case_supplement_requested",
    "supplement_reminder",
    "case_concluded",
    "case_refused",
    "case_status",
    "deferred_overdue",
    "certificate_issued",
    "certificate_expiring",
    "review_invitation",
    "review_reply",
    "complaint_received",
    "complaint_reply",
    "sla_reminder",
    "sla_escalation",
    "account_activation",
    "policy_eligible",
    "policy_granted",
    "policy_eligible_enterprise",
    "policy_granted_enterprise",
    "policy_stopped",
    "fund_result",
    "fund_granted",
    "fund_objection_reply",
    "assistance_requested",
    "assistance_reminder",
    "assistance_overdue",
    "assistance_answered",
    "assistance_withdrawn",
    "commitment_check_false",
    "material_source_needed",
    "booking_confirmed",
    "booking_made_by_clerk",
    "booking_cancelled_by_clerk",
    "booking_cancelled_case_refused",
    "booking_rescheduled",
    "booking_reminder",
    "booking_no_show",
    "waitlist_joined",
    "waitlist_offer",
    "waitlist_offer_expired",
    "queue_soon",
    "helpdesk_answered",
}


def test_the_shipped_registry_loads_and_fits_one_sms_segment():
    loaded = templates()
    assert set(loaded) == EXPECTED
    assert all(len(t.sms) <= SMS_MAX for t in loaded.values())
    mandatory = {code: list(t.required) for code, t in loaded.items() if t.mandatory}
    assert mandatory == {
        "case_supplement_requested": ["sms"],
        "supplement_reminder": ["email", "sms"],
        "case_refused": ["sms"],
        "account_activation": ["sms"],
        "policy_stopped": ["sms"],
        "commitment_check_false": ["sms"],
        # 入住通知 has a deadline: the person must hear of it even with SMS turned off.
        "waitlist_offer": ["sms"],
    }


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ({"sms": "长" * 71}, "at most 70"),
        ({"title": "{case.name}"}, "占位符只能是简单名称"),
        ({"channels": ["email"], "required": ["sms"]}, "强制渠道"),
        ({"group": "other"}, "group"),
        ({"channels": ["fax"]}, "channels"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_definitions_are_refused_at_load(tmp_path, row, problem):
    base = {"code": "x_test", "name": "测试", "group": "case", "title": "标题", "sms": "短信"}
    path = tmp_path / "t.yaml"
    import yaml

    path.write_text(yaml.safe_dump([{**base, **row}], allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_templates(path)
    assert problem in str(info.value)


def test_duplicate_codes_are_refused(tmp_path):
    path = tmp_path / "t.yaml"
    row = "- {code: x_test, name: 测试, group: case, title: 标题, sms: 短信}\n"
    path.write_text(row * 2, encoding="utf-8")
    with pytest.raises(ValueError, match="消息模板重复：x_test"):
        load_templates(path)


def test_render_fills_title_body_and_sms():
    title, body, sms = template_get("sla_reminder").render(
        {"item_name": "出生登记", "receipt": "TB-1", "due_date": "2026-10-08"}
    )
    assert title == "任务即将到期：出生登记"
    assert body == "办件 TB-1 须于 2026-10-08 前办结。"
    assert sms == "【通办】任务出生登记须于2026-10-08前办结。"


def test_a_long_value_shortens_the_sms_to_one_segment():
    _title, _body, sms = template_get("sla_reminder").render(
        {"item_name": "长" * 100, "receipt": "TB-1", "due_date": "2026-10-08"}
    )
    assert len(sms) == SMS_MAX
    assert sms.endswith("…")


@pytest.mark.django_db
def test_a_missing_placeholder_is_invalid_input_and_nothing_written(resident):
    with pytest.raises(InvalidInput) as info:
        notice_send(recipient=resident.user, template="sla_reminder", context={"item_name": "x"})
    assert info.value.code == "NOTICE_TEMPLATE_CONTEXT_MISSING"
    assert info.value.http_status == 422
    assert info.value.details == [
        {"field": "context.due_date", "message": "必填"},
        {"field": "context.receipt", "message": "必填"},
    ]
    assert Notice.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_template_is_invalid_input(resident):
    with pytest.raises(InvalidInput) as info:
        notice_send(recipient=resident.user, template="no_such", context={})
    assert info.value.code == "NOTICE_TEMPLATE_UNKNOWN"
    assert Notice.objects.count() == 0


@pytest.mark.django_db
def test_a_templated_notice_stores_its_text_group_and_category(resident):
    notice = notice_send(
        recipient=resident.user,
        template="certificate_issued",
        context={"names": "出生医学证明", "receipt": "TB-1"},
        link="/me/certificates/",
    )
    notice.refresh_from_db()
    assert (notice.title, notice.body) == (
        "已发证：出生医学证明",
        "受理编号 TB-1 的办理结果已存入“我的证照”。",
    )
    assert notice.sms_text == "【通办】您的电子证照已存入“我的证照”，请登录通办查看。"
    assert (notice.category, notice.group, notice.template) == (
        "certificate_issued",
        "certificate",
        "certificate_issued",
    )


@pytest.mark.django_db
def test_free_text_notices_keep_working_and_are_grouped_by_category(resident):
    notice = notice_send(recipient=resident.user, title="标题", body="正文", category="review")
    assert (notice.template, notice.sms_text, notice.group) == ("", "", "review")


def test_group_of_known_legacy_prefixed_and_unknown_categories():
    assert [
        group_of(c)
        for c in ("case_accepted", "supplement_reminder", "review_x", "sla_reminder", "", "x")
    ] == ["case", "case", "review", "system", "system", "system"]
