from django.contrib import admin

from tongban.delegation.models import Delegation


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    # Read-only: every change goes through the services, which write the audit trail.
    list_display = ("id", "principal", "agent_name", "state", "valid_until", "recorded_via")
    list_filter = ("state", "recorded_via")
    readonly_fields = [f.name for f in Delegation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
