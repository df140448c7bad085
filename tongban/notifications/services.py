from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tongban.common.effects import queue_after_commit
from tongban.common.errors import InvalidInput
from tongban.common.services import audit_record
from tongban.notifications.errors import NoticeNotFound
from tongban.notifications.message_templates import group_of, template_get
from tongban.notifications.models import Channel, Group, Notice, NoticePreference
from tongban.notifications.tasks import deliver_notice


def _check_link(link: str) -> None:
    # Only same-site paths: a notice link is something a resident trusts and clicks.
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link):
        raise InvalidInput(
            "消息链接必须是本站相对地址", details=[{"field": "link", "message": link}]
        )


def notice_send(
    *,
    recipient,
    title: str = "",
    body: str = "",
    link: str = "",
    category: str = "",
    template: str = "",
    context: dict | None = None,
) -> Notice:
    """Write an in-app notice and queue its delivery on other channels.

    With a `template` (a code in templates.yaml) the title, body and SMS text are rendered from
    it with `context`, and the category is the template's code unless the caller names one;
    without, the caller's title and body are sent as they are, in-app and by email only.

    The notice row joins the caller's transaction: it exists exactly when the caller's change
    does. The delivery is queued only after commit, so the worker never sees a notice that was
    rolled back and no email announces a change that did not happen.
    """
    sms_text = ""
    if template:
        tpl = template_get(template)
        title, body, sms_text = tpl.render(context or {})
        # A long case name must not fail the caller's change: the title is cut, as before.
        title = title[: Notice._meta.get_field("title").max_length]
        category = category or tpl.code
    title = (title or "").strip()
    if not title:
        raise InvalidInput("消息标题不能为空", details=[{"field": "title", "message": "必填"}])
    if len(title) > Notice._meta.get_field("title").max_length:
        raise InvalidInput("消息标题过长", details=[{"field": "title", "message": "最多200字"}])
    if len(category) > Notice._meta.get_field("category").max_length:
        raise InvalidInput("消息类别过长", details=[{"field": "category", "message": category}])
    _check_link(link)
    # One unit even when the caller has no transaction of its own: the notice and its
    # delivery commit together, or neither does.
    with transaction.atomic():
        notice = Notice.objects.create(
            recipient=recipient,
            title=title,
            body=body,
            link=link,
            category=category,
            group=group_of(template or category),
            template=template,
            sms_text=sms_text,
        )
        queue_after_commit(deliver_notice, notice_id=notice.pk)
    return notice


def notice_mark_read(*, user, notice_id: int) -> Notice:
    """Mark one of the user's own notices read; anyone else's is NOTICE_NOT_FOUND."""
    if not getattr(user, "is_authenticated", False):
        raise NoticeNotFound
    with transaction.atomic():
        notice = Notice.objects.filter(pk=notice_id, recipient=user).first()
        if notice is None:
            raise NoticeNotFound
        if notice.read_at is None:
            # The filter on read_at keeps the first reading time if two tabs race.
            Notice.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=timezone.now())
            notice.refresh_from_db(fields=["read_at"])
    return notice


def notices_mark_all_read(*, user) -> int:
    """Mark every unread notice of the user read; returns how many were unread."""
    if not getattr(user, "is_authenticated", False):
        return 0
    with transaction.atomic():
        return Notice.objects.filter(recipient=user, read_at__isnull=True).update(
            read_at=timezone.now()
        )


def notice_preferences_set(*, user, choices: dict[str, dict[str, bool]]) -> dict:
    """Store the user's choices for each group × channel given; others keep their value.

    An unknown group or channel is InvalidInput and nothing is stored. Mandatory templates
    still reach the user on the channels they require (see templates.yaml)."""
    from tongban.notifications.selectors import preferences_for

    groups, channels = set(Group.values), set(Channel.values)
    bad = [
        {"field": f"{g}.{c}" if c else g, "message": "未知的类别或渠道"}
        for g, per in choices.items()
        for c in ([""] if g not in groups or not isinstance(per, dict) else per)
        if g not in groups or not isinstance(per, dict) or c not in channels
    ]
    if bad:
        raise InvalidInput("消息订阅设置有误", code="NOTICE_PREFERENCE_INVALID", details=bad)
    with transaction.atomic():
        for group, per in choices.items():
            for channel, enabled in per.items():
                NoticePreference.objects.update_or_create(
                    user=user, group=group, channel=channel, defaults={"enabled": bool(enabled)}
                )
        audit_record(
            actor=user,
            action="notice_preferences_set",
            object_type="user",
            object_id=user.pk,
            data={"choices": choices},
        )
    return preferences_for(user=user)


EXPIRING = "certificate_expiring"


def certificates_expiring_sweep(now, today) -> dict[str, int]:
    """证照即将到期: tell each holder once about a live certificate that expires within
    TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS. "Once" is read from the notices themselves (the
    category and the certificate's page as link), under the certificate's row lock, so two
    sweeps at once notify once."""
    import datetime as dt

    from django.conf import settings

    # Lazy: certificates sits above notifications; this sweep is registered, never imported.
    from tongban.certificates.models import Certificate

    until = now + dt.timedelta(days=settings.TONGBAN_CERTIFICATE_EXPIRY_NOTICE_DAYS)
    ids = list(
        Certificate.objects.filter(
            revoked_at__isnull=True,
            holder_user__isnull=False,
            expires_at__gt=now,
            expires_at__lte=until,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    notified = 0
    for pk in ids:
        with transaction.atomic():
            cert = (
                Certificate.objects.select_for_update(of=("self",))
                .select_related("type", "holder_user")
                .filter(pk=pk, revoked_at__isnull=True)
                .first()
            )
            if cert is None or cert.holder_user is None:
                continue
            link = f"/me/certificates/{cert.pk}/"
            if Notice.objects.filter(
                recipient=cert.holder_user, category=EXPIRING, link=link
            ).exists():
                continue
            expires_on = timezone.localdate(cert.expires_at)
            notice_send(
                recipient=cert.holder_user,
                template=EXPIRING,
                link=link,
                context={
                    "type_name": cert.type.name,
                    "expires_on": f"{expires_on:%Y年%m月%d日}",
                    "serial_short": cert.serial[:8].upper(),
                },
            )
            notified += 1
    return {"notified": notified}
