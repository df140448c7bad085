"""Rows of 智能客服: a conversation and its turns, remembered so that 那要多少钱？ answers for
the service talked about just before."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.common.fields import EncryptedTextField


class Conversation(models.Model):
    """智能客服对话 — one person's questions and the assistant's answers. A logged-in
    person's belongs to their account; a visitor's to their browser session (a keyed hash of
    the session key, never the key itself), and nobody else can read it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assistant_conversations",
    )
    session_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # What the conversation is about now, and what it waits for (an ask-back), as JSON. The
    # situation answers given (婚姻状况 …) are personal, so the whole state is encrypted.
    state = EncryptedTextField(blank=True, default="", context="assistant.conversation.state")
    # The service talked about, in clear for figures (no personal data: a catalog code).
    target_kind = models.CharField(max_length=10, blank=True)
    target_code = models.CharField(max_length=64, blank=True)
    turn_count = models.PositiveIntegerField(default=0)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    helpdesk_url = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "智能客服对话"
        verbose_name_plural = "智能客服对话"
        indexes = [
            models.Index(fields=["owner", "-updated_at"], name="assistant_conv_owner"),
            # The retention sweep: visitors' conversations by age.
            models.Index(fields=["updated_at"], name="assistant_conv_updated"),
        ]

    def __str__(self) -> str:
        return f"智能客服对话 {self.pk}"


class TurnRole(models.TextChoices):
    RESIDENT = "resident", "提问"
    ASSISTANT = "assistant", "回答"


class Turn(models.Model):
    """对话轮次 — a question as typed (encrypted: people type personal things) or the
    answer composed for it (its sentences, sources and actions, as JSON, encrypted too)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=TurnRole.choices)
    text = EncryptedTextField(context="assistant.turn.text")
    answer = EncryptedTextField(blank=True, default="", context="assistant.turn.answer")
    # What was asked and what kind of answer it got, in clear for figures: codes only.
    aspect = models.CharField(max_length=40, blank=True)
    kind = models.CharField(max_length=12, blank=True)
    # A question submitted twice (double click, a retried request) is answered once.
    client_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "对话轮次"
        verbose_name_plural = "对话轮次"
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="assistant_turn_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_key"],
                condition=~Q(client_key=""),
                name="assistant_turn_client_key",
            ),
        ]
