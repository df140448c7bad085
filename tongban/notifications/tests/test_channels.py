"""Delivery on each channel: exact email, SMS through the adapter, skipped reasons,
preferences honoured, mandatory templates not, and a retried task sending nothing twice."""

import logging

import pytest
from django.core import mail

from tongban.accounts.tests.factories import UserFactory
from tongban.notifications.models import Delivery, Notice
from tongban.notifications.services import notice_preferences_set, notice_send
from tongban.notifications.sms import ConsoleSmsAdapter
from tongban.notifications.tasks import deliver_notice

pytestmark = pytest.mark.django_db

SENT: list[tuple[str, str]] = []


class CapturingSms:
    def send(self, phone: str, text: str) -> None:
        SENT.append((phone, text))


class BrokenSms:
    def send(self, phone: str, text: str) -> None:
        raise ConnectionError("网关超时")


@pytest.fixture(autouse=True)
def _sms(settings):
    SENT.clear()
    settings.TONGBAN_SMS_ADAPTER = f"{__name__}.CapturingSms"
    yield
    SENT.clear()


@pytest.fixture
def user(resident):
    resident.user.email = "wang@example.org"
    resident.user.save(update_fields=["email"])
    return resident.user


def _accepted(user, **kwargs):
    return notice_send(
        recipient=user,
        template="case_accepted",
        context={
            "case_name": "出生一件事",
            "status_label": "已受理，办理中",
            "receipt": "TB-2026-0001",
            "reason": "",
        },
        link="/me/cases/TB-2026-0001/",
        **kwargs,
    )


def _deliveries(notice):
    return {
        d.channel: (d.status, d.reason, d.attempts) for d in Delivery.objects.filter(notice=notice)
    }


def test_email_and_sms_are_sent_with_exact_text(user):
    notice = _accepted(user)
    assert deliver_notice.call(notice_id=notice.pk) == "email,sms"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "您的办件“出生一件事”已受理，办理中"
    assert message.body == "受理编号 TB-2026-0001。\n\n详情请登录通办查看：/me/cases/TB-2026-0001/"
    assert message.to == ["wang@example.org"]
    assert message.from_email == "noreply@tongban.invalid"
    assert SENT == [("13812345678", "【通办】您的办件TB-2026-0001已受理，可登录通办查看进度。")]
    assert _deliveries(notice) == {"email": ("sent", "", 1), "sms": ("sent", "", 1)}
    rows = {d.channel: d.address_masked for d in Delivery.objects.filter(notice=notice)}
    assert rows == {"email": "w***@example.org", "sms": "138****5678"}
    notice.refresh_from_db()
    assert notice.delivered_at is not None and notice.read_at is None


def test_a_retried_task_sends_nothing_twice(user):
    notice = _accepted(user)
    assert deliver_notice.call(notice_id=notice.pk) == "email,sms"
    assert deliver_notice.call(notice_id=notice.pk) == "already-delivered"
    # Even if the notice's flag were lost, the Delivery rows hold: no second send.
    Notice.objects.filter(pk=notice.pk).update(delivered_at=None)
    assert deliver_notice.call(notice_id=notice.pk) == "email,sms"
    assert len(mail.outbox) == 1
    assert len(SENT) == 1
    assert _deliveries(notice) == {"email": ("sent", "", 1), "sms": ("sent", "", 1)}


def test_a_failed_gateway_is_recorded_and_retried(user, settings):
    settings.TONGBAN_SMS_ADAPTER = f"{__name__}.BrokenSms"
    notice = _accepted(user)
    assert deliver_notice.call(notice_id=notice.pk) == "email,failed:sms"
    failed = Delivery.objects.get(notice=notice, channel="sms")
    assert (failed.status, failed.attempts, failed.last_error) == (
        "failed",
        1,
        "ConnectionError: 网关超时",
    )
    notice.refresh_from_db()
    assert notice.delivered_at is None
    settings.TONGBAN_SMS_ADAPTER = f"{__name__}.CapturingSms"
    assert deliver_notice.call(notice_id=notice.pk) == "email,sms"
    assert len(mail.outbox) == 1  # the email went out the first time only
    assert _deliveries(notice) == {"email": ("sent", "", 1), "sms": ("sent", "", 2)}
    assert Delivery.objects.get(notice=notice, channel="sms").last_error == ""


def test_no_address_is_skipped(db):
    bare = UserFactory(username="bare", email="")
    notice = _accepted(bare)
    assert deliver_notice.call(notice_id=notice.pk) == "none"
    assert _deliveries(notice) == {
        "email": ("skipped", "no_address", 0),
        "sms": ("skipped", "no_address", 0),
    }
    assert mail.outbox == [] and SENT == []


def test_free_text_notices_never_go_by_sms(user):
    notice = notice_send(recipient=user, title="预约成功", body="请按时到场。")
    assert deliver_notice.call(notice_id=notice.pk) == "email"
    assert _deliveries(notice)["sms"] == ("skipped", "not_allowed", 0)


def test_a_channel_the_template_does_not_allow_is_skipped(user):
    notice = notice_send(
        recipient=user,
        template="review_invitation",
        context={"service_name": "出生一件事", "receipt": "TB-1"},
    )
    # Review invitations never go by SMS, even for someone who switched SMS on for 评价.
    notice_preferences_set(user=user, choices={"review": {"sms": True}})
    assert deliver_notice.call(notice_id=notice.pk) == "email"
    assert _deliveries(notice)["sms"] == ("skipped", "not_allowed", 0)


def test_defaults_send_sms_for_case_progress_only(user):
    notice = notice_send(
        recipient=user,
        template="certificate_expiring",
        context={"type_name": "居民身份证", "expires_on": "2026年12月1日", "serial_short": "AB"},
    )
    assert deliver_notice.call(notice_id=notice.pk) == "email"
    assert _deliveries(notice)["sms"] == ("skipped", "opted_out", 0)


def test_opt_outs_are_honoured(user):
    notice_preferences_set(user=user, choices={"case": {"email": False, "sms": False}})
    notice = _accepted(user)
    assert deliver_notice.call(notice_id=notice.pk) == "none"
    assert _deliveries(notice) == {
        "email": ("skipped", "opted_out", 0),
        "sms": ("skipped", "opted_out", 0),
    }
    assert mail.outbox == [] and SENT == []
    assert Notice.objects.filter(pk=notice.pk).exists()  # in-app always


def test_mandatory_templates_ignore_opt_outs_on_their_channels(user):
    notice_preferences_set(user=user, choices={"case": {"email": False, "sms": False}})
    notice = notice_send(
        recipient=user,
        template="case_supplement_requested",
        context={
            "case_name": "出生一件事",
            "status_label": "待补正",
            "receipt": "TB-1",
            "reason": "请补充出生医学证明。",
        },
    )
    # SMS is required for 补正; email is not, so the opt-out holds there.
    assert deliver_notice.call(notice_id=notice.pk) == "sms"
    assert _deliveries(notice)["email"] == ("skipped", "opted_out", 0)
    assert SENT == [("13812345678", "【通办】您的办件TB-1需要补正材料，请登录通办在期限内补正。")]


def test_the_console_adapter_never_logs_the_full_number(caplog):
    with caplog.at_level(logging.WARNING, logger="tongban.notifications.sms"):
        ConsoleSmsAdapter().send("13812345678", "【通办】测试")
    assert caplog.messages == ["SMS to 138****5678: 【通办】测试"]
    assert "13812345678" not in caplog.text
