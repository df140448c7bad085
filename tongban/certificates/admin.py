from django.contrib import admin

from tongban.certificates.models import CertificateType, IssuingKey, StatusList


@admin.register(CertificateType)
class CertificateTypeAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "department", "is_active"]
    readonly_fields = ["code", "name", "department", "current", "is_active"]


@admin.register(IssuingKey)
class IssuingKeyAdmin(admin.ModelAdmin):
    # Keys change through issuing_key_rotate (audited), never by hand; the private key is
    # never shown.
    list_display = ["kid", "role", "department", "state", "created_at", "retired_at"]
    fields = ["kid", "role", "department", "alg", "state", "created_at", "retired_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StatusList)
class StatusListAdmin(admin.ModelAdmin):
    list_display = ["id", "purpose", "size", "allocated_count", "updated_at"]
    fields = ["purpose", "size", "allocated_count", "created_at", "updated_at"]
    readonly_fields = fields
