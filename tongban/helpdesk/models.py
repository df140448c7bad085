"""Rows of 在线客服: a conversation handed over by the assistant (转人工) and its messages."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.common.fields import EncryptedTextField


class ConversationStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    ACTIVE = "active", "服务中"
    CLOSED = "closed", "已结束"
    # Outside service hours the hand-over becomes a 留言, answered later by staff.
    MESSAGE_LEFT = "message_left", "已留言"
    ANSWERED = "answered", "已答复"


# A hand-over of the same assistant conversation returns the open one instead of a second row.
OPEN_STATUSES = (
    ConversationStatus.QUEUED,
    ConversationStatus.ACTIVE,
    ConversationStatus.MESSAGE_LEFT,
)
# The conversation is over: rating becomes possible, and any draft consent no longer shows.
ENDED_STATUSES = (ConversationStatus.CLOSED, ConversationStatus.ANSWERED)


class HelpConversation(models.Model):
    """在线客服会话 — a resident (or a visitor, by their browser session) talking to a
    helpdesk staff member, with the assistant's history handed over, and optionally the
    resident's consent to let that staff member read one of their drafts (在线帮办)."""

    resident = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="help_conversations",
    )
    # A visitor is recognised by a keyed hash of their session key: the key itself is a
    # login-equivalent secret and must not sit in a table staff can read.
    visitor_key_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    status = models.CharField(
        "状态", max_length=14, choices=ConversationStatus.choices, default=ConversationStatus.QUEUED
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="接待客服",
    )
    # The department the answering staff member serves in: 好差评 rates that department.
    department = models.ForeignKey(
        "catalog.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    item_code = models.CharField("咨询事项", max_length=64, blank=True, default="")
    assistant_conversation_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # 在线帮办: which draft the resident lets the staff member read, and when.
    consent_draft = models.ForeignKey(
        "cases.Draft", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consent_granted_at = models.DateTimeField(null=True, blank=True)
    consent_revoked_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "在线客服会话"
        verbose_name_plural = "在线客服会话"
        indexes = [
            models.Index(fields=["status", "created_at"], name="helpdesk_queue"),
            models.Index(fields=["resident", "created_at"], name="helpdesk_resident"),
        ]
        constraints = [
            # Two 转人工 clicks racing on one assistant conversation make one open row.
            models.UniqueConstraint(
                fields=["assistant_conversation_id"],
                condition=models.Q(status__in=["queued", "active", "message_left"]),
                name="helpdesk_one_open_per_assistant_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"在线客服会话 {self.pk}"

    def get_absolute_url(self) -> str:
        return f"/helpdesk/{self.pk}/"

    @property
    def label(self) -> str:
        """How people name the conversation: when it began (an id means nothing to them)."""
        from django.utils import timezone

        at = timezone.localtime(self.created_at)
        return f"{at.month}月{at.day}日 {at:%H:%M} 的咨询"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def consent_active(self) -> bool:
        return (
            self.consent_draft_id is not None
            and self.consent_granted_at is not None
            and self.consent_revoked_at is None
            and self.status == ConversationStatus.ACTIVE
        )


class MessageAuthor(models.TextChoices):
    RESIDENT = "resident", "咨询人"
    ASSISTANT = "assistant", "智能客服"
    STAFF = "staff", "在线客服"
    SYSTEM = "system", "系统"


class HelpMessage(models.Model):
    """在线客服消息 — one line of a conversation: the resident's, the assistant's history,
    the staff member's (optionally a pushed link to a guide, a form or a booking page), or
    the platform's own notes."""

    conversation = models.ForeignKey(
        HelpConversation, on_delete=models.CASCADE, related_name="messages"
    )
    author_role = models.CharField(max_length=10, choices=MessageAuthor.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = EncryptedTextField("内容", blank=True, default="", context="helpdesk.message_text")
    # Only internal paths validated by services.link_check; never an arbitrary URL.
    link_url = models.CharField(max_length=300, blank=True, default="")
    link_label = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "在线客服消息"
        verbose_name_plural = "在线客服消息"
        # Polling reads (conversation, id > since): this index answers it.
        indexes = [models.Index(fields=["conversation", "id"], name="helpdesk_msg_since")]

    def __str__(self) -> str:
        return f"在线客服消息 {self.pk}"
