from django.contrib import admin

from tongban.opendata.models import ApiKey, Developer


@admin.register(Developer)
class DeveloperAdmin(admin.ModelAdmin):
    list_display = ["app_name", "user", "contact_email", "registered_at"]
    search_fields = ["app_name", "contact_email"]
    readonly_fields = ["user", "registered_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # Keys are created and revoked by their developers (audited); the admin only looks.
    list_display = ["key_prefix", "developer", "created_at", "revoked_at", "last_used_at"]
    readonly_fields = [f.name for f in ApiKey._meta.fields]

    def has_add_permission(self, request):
        return False
