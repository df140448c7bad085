"""Read-only admin views: every change to a case goes through the services, so the admin
shows cases and tasks but never edits them (an edit here would bypass the event log)."""

from __future__ import annotations

from django.contrib import admin

from tongban.cases.models import Application, CaseEvent, Task


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Application)
class ApplicationAdmin(ReadOnly):
    list_display = ("receipt_no", "name", "status", "outcome", "channel", "submitted_at")
    list_filter = ("status", "kind", "channel")
    search_fields = ("receipt_no",)
    exclude = ("form_data_text",)  # personal data is read through audited selectors only


@admin.register(Task)
class TaskAdmin(ReadOnly):
    list_display = ("case", "item_name", "department", "status", "due_date")
    list_filter = ("status", "department")


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnly):
    list_display = ("case", "seq", "at", "action", "from_status", "to_status", "actor_label")
