"""Back-office maintenance of halls and windows; each save leaves an audit row, as the
services' writes do."""

from __future__ import annotations

from django.contrib import admin

from tongban.appointments.models import Hall, Window
from tongban.common.services import audit_record


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0


class _Audited(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action=f"{obj._meta.model_name}.{'update' if change else 'create'}",
            object_type=obj._meta.model_name,
            object_id=obj.pk,
            data={"fields": sorted(form.changed_data)},
        )


@admin.register(Hall)
class HallAdmin(_Audited):
    list_display = ("code", "name", "district", "is_active")
    list_filter = ("district", "is_active")
    search_fields = ("code", "name")
    inlines = [WindowInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cases and posts point at halls; close one with "启用" instead


@admin.register(Window)
class WindowAdmin(_Audited):
    list_display = ("hall", "number", "name", "is_active")
    list_filter = ("hall", "is_active")
