"""Background deliveries of notices, run by the django-tasks worker (`manage.py tasks_worker`)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from tongban.accounts.validators import mask_phone
from tongban.notifications.message_templates import templates
from tongban.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notice,
    SkipReason,
)

logger = logging.getLogger(__name__)


def _mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def _email_text(notice: Notice) -> str:
    lines = [notice.body] if notice.body else []
    if notice.link:
        lines.append(f"详情请登录通办查看：{notice.link}")
    return "\n\n".join(lines) or notice.title


def _phone_of(user) -> str:
    # Decrypted here only, in the worker, for the one send; never stored or logged in full.
    from tongban.accounts.models import ResidentProfile

    profile = ResidentProfile.objects.filter(user=user).only("phone").first()
    return (profile.phone or "").strip() if profile is not None else ""


def _plan(notice: Notice, channel: str, prefs: dict) -> tuple[str, str]:
    """(skip reason or "", address) for one channel of one notice."""
    tpl = templates().get(notice.template) if notice.template else None
    if channel == Channel.SMS and (tpl is None or not notice.sms_text):
        return SkipReason.NOT_ALLOWED, ""
    if tpl is not None and channel not in tpl.channels:
        return SkipReason.NOT_ALLOWED, ""
    required = tpl is not None and channel in tpl.required
    if not required and not prefs.get(notice.group, {}).get(channel, False):
        return SkipReason.OPTED_OUT, ""
    address = (
        notice.recipient.email.strip() if channel == Channel.EMAIL else _phone_of(notice.recipient)
    )
    if not address:
        return SkipReason.NO_ADDRESS, ""
    return "", address


def _send(notice: Notice, channel: str, address: str) -> None:
    if channel == Channel.EMAIL:
        send_mail(
            subject=notice.title,
            message=_email_text(notice),
            from_email=None,
            recipient_list=[address],
        )
    else:
        from tongban.notifications.sms import sms_adapter

        sms_adapter().send(address, notice.sms_text)


def _deliver_channel(notice: Notice, channel: str, prefs: dict) -> str:
    """Send on one channel under the Delivery row's lock; returns the row's final status.

    The row is locked for the send: a second worker running the same task waits, then finds
    it sent. A crash between sending and committing can still send twice — the one gap no
    lock closes without the gateway's own idempotency key."""
    with transaction.atomic():
        Delivery.objects.get_or_create(notice=notice, channel=channel)
        delivery = Delivery.objects.select_for_update().get(notice=notice, channel=channel)
        if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED):
            return delivery.status
        reason, address = _plan(notice, channel, prefs)
        if reason:
            delivery.status, delivery.reason = DeliveryStatus.SKIPPED, reason
            delivery.save(update_fields=["status", "reason"])
            return delivery.status
        delivery.attempts += 1
        delivery.address_masked = (
            _mask_email(address) if channel == Channel.EMAIL else mask_phone(address)
        )
        try:
            _send(notice, channel, address)
        except Exception as exc:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:500]
            logger.warning("notice %s %s failed: %s", notice.pk, channel, delivery.last_error)
        else:
            delivery.status, delivery.sent_at, delivery.last_error = (
                DeliveryStatus.SENT,
                timezone.now(),
                "",
            )
        delivery.save(
            update_fields=["status", "attempts", "address_masked", "last_error", "sent_at"]
        )
        return delivery.status


@task()
def deliver_notice(notice_id: int) -> str:
    """Send a notice on its other channels; returns the channels sent on ("email", "email,sms",
    "none"), with "failed:<channel>" for a channel whose gateway refused.

    Idempotent: a worker may run a task twice, so each channel's Delivery row is checked under
    its lock and a sent (or skipped) channel is left alone. A failed channel is retried when the
    task runs again; the notice counts as delivered once no channel failed.
    """
    from tongban.notifications.selectors import preferences_for

    notice = Notice.objects.select_related("recipient").filter(pk=notice_id).first()
    if notice is None:
        # Deleted with its user before the worker got to it: nothing to deliver.
        return "missing"
    if notice.delivered_at is not None:
        return "already-delivered"
    prefs = preferences_for(user=notice.recipient)
    sent, failed = [], []
    for channel in Channel.values:
        status = _deliver_channel(notice, channel, prefs)
        if status == DeliveryStatus.SENT:
            sent.append(channel)
        elif status == DeliveryStatus.FAILED:
            failed.append(f"failed:{channel}")
    if not failed:
        Notice.objects.filter(pk=notice.pk, delivered_at__isnull=True).update(
            delivered_at=timezone.now()
        )
    result = ",".join(sent + failed) or "none"
    logger.info("notice %s delivered: %s", notice.pk, result)
    return result
