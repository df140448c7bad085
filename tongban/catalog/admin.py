"""Read-only catalog admin: definitions change only through reviewed YAML and `catalog_load`,
so the admin shows what is loaded and never edits it."""

from __future__ import annotations

from django.contrib import admin

from tongban.catalog.models import Bundle, DataElement, DefinitionVersion, Department, ServiceItem


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "region_code", "hotline", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name")


@admin.register(DataElement)
class DataElementAdmin(ReadOnlyAdmin):
    list_display = ("code", "label", "value_type", "sensitivity", "is_active")
    list_filter = ("value_type", "sensitivity", "is_active")
    search_fields = ("code", "label")


@admin.register(ServiceItem)
class ServiceItemAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "name",
        "item_type",
        "department",
        "handling",
        "promised_days",
        "is_active",
    )
    list_filter = ("item_type", "handling", "is_active", "department")
    search_fields = ("code", "name", "search_text")
    list_select_related = ("department",)


@admin.register(Bundle)
class BundleAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "lead_department", "promised_days", "is_active")
    list_select_related = ("lead_department",)


@admin.register(DefinitionVersion)
class DefinitionVersionAdmin(ReadOnlyAdmin):
    list_display = ("kind", "code", "version", "source_file", "loaded_at", "loaded_by")
    list_filter = ("kind",)
    search_fields = ("code",)
