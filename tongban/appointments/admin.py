"""Back-office maintenance of halls, windows, the items a hall handles, service points and
venues; each save (inline rows too) leaves an audit row, as the services' writes do."""

from __future__ import annotations

from django.contrib import admin

from tongban.appointments.models import Hall, HallItem, ServicePoint, Venue, Window
from tongban.common.services import audit_record


class WindowInline(admin.TabularInline):
    model = Window
    extra = 0
    fields = ("number", "name", "kind", "department", "item_codes", "is_active")


class HallItemInline(admin.TabularInline):
    model = HallItem
    extra = 0
    verbose_name = "可办事项"
    verbose_name_plural = "可办事项（两个集中：企业事项在区中心，个人事项在街镇中心）"


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

    def save_formset(self, request, form, formset, change):
        # Inline rows (a hall's windows and items) are saved here, not in save_model.
        instances = formset.save(commit=False)
        deleted = [(o._meta.model_name, o.pk, str(o)) for o in formset.deleted_objects]
        for obj in formset.deleted_objects:
            obj.delete()
        changed = {id(o): f.changed_data for o, f in zip(
            [f.instance for f in formset.forms], formset.forms, strict=True)}  # fmt: skip
        for obj in instances:
            created = obj.pk is None
            obj.save()
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.{'create' if created else 'update'}",
                object_type=obj._meta.model_name,
                object_id=obj.pk,
                data={"parent": form.instance.pk, "fields": sorted(changed.get(id(obj), []))},
            )
        for model_name, pk, label in deleted:
            audit_record(
                actor=request.user,
                action=f"{model_name}.delete",
                object_type=model_name,
                object_id=pk,
                data={"parent": form.instance.pk, "label": label},
            )
        formset.save_m2m()


@admin.register(Hall)
class HallAdmin(_Audited):
    list_display = ("code", "name", "level", "district", "is_active")
    list_filter = ("level", "district", "is_active")
    search_fields = ("code", "name", "street")
    inlines = [WindowInline, HallItemInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # cases and posts point at halls; close one with "启用" instead


@admin.register(Window)
class WindowAdmin(_Audited):
    list_display = ("hall", "number", "name", "kind", "department", "is_active")
    list_filter = ("hall", "kind", "is_active")


@admin.register(ServicePoint)
class ServicePointAdmin(_Audited):
    list_display = ("code", "name", "kind", "hall", "district", "is_active")
    list_filter = ("kind", "district", "is_active")
    search_fields = ("code", "name")
    exclude = ("kiosk_key_hash", "kiosk_enrolled_at")  # enrolment is the kiosk's own flow

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Venue)
class VenueAdmin(_Audited):
    list_display = ("code", "name", "kind", "district", "is_active")
    list_filter = ("kind", "district", "is_active")
    search_fields = ("code", "name")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
