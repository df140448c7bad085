from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.common.errors import AuditAppendOnly

# The one change a written audit row may take: its user link cleared when that user is removed
# (on_delete=SET_NULL); actor_label still names who acted. The database refuses the rest too
# (migration common 0003), this guard only fails earlier and with a domain error.
AUDIT_MUTABLE_FIELDS = frozenset({"actor", "actor_id"})


class AuditEventQuerySet(models.QuerySet):
    """Append-only: no delete, and no update but clearing `actor`."""

    def update(self, **kwargs):
        if set(kwargs) - AUDIT_MUTABLE_FIELDS or any(v is not None for v in kwargs.values()):
            raise AuditAppendOnly()
        return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        raise AuditAppendOnly()

    delete.alters_data = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """审计日志 — one row for every state change and every read of personal data.

    `purpose` is required for reads of personal data (数据使用目的), so a resident can later be
    shown who looked at their data and why. Append-only (我的数据使用记录 must stay what it
    was): rows are inserted, never changed or deleted — refused here and by the database.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept separately from the FK so the trail still says who acted after a user is removed,
    # and so system actors ("system:catalog_load") can be named.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    # The resident whose personal data was touched, if any, so 我的数据使用记录 is one indexed
    # query.
    subject_resident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The enterprise whose data was touched (企业数据使用记录), likewise.
    subject_enterprise_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    purpose = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args, **kwargs):
        # Only ever an INSERT: a loaded row saved again, or a new one given an existing id,
        # would otherwise become an UPDATE.
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise AuditAppendOnly()
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditAppendOnly()


class OutboxEntry(models.Model):
    """发件箱 — a background task decided in a transaction, for a task queue outside the
    database (tongban.common.effects): written with the decision, handed to the queue after
    the commit (relayed_at), and by the maintenance tick if that hand-over never happened."""

    task_path = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    relayed_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unrelayed",
                condition=models.Q(relayed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task_path} #{self.pk}"
