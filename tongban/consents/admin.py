from django.contrib import admin

from tongban.consents.models import ConsentRead, DataConsent, Institution


class _ReadOnly(admin.ModelAdmin):
    # Every change goes through the services (management command, holder pages), which write
    # the audit trail; the admin shows what is there.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Institution)
class InstitutionAdmin(_ReadOnly):
    list_display = ("id", "name", "kind", "uscc", "is_active", "registered_at")
    list_filter = ("kind", "is_active")


@admin.register(DataConsent)
class DataConsentAdmin(_ReadOnly):
    list_display = ("id", "institution", "purpose", "valid_until", "created_at", "revoked_at")
    list_filter = ("institution",)


@admin.register(ConsentRead)
class ConsentReadAdmin(_ReadOnly):
    list_display = ("id", "consent", "at", "outcome")
    list_filter = ("outcome",)
