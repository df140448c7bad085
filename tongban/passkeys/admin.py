from django.contrib import admin, messages

from tongban.passkeys.models import Passkey
from tongban.passkeys.services import passkey_remove


@admin.register(Passkey)
class PasskeyAdmin(admin.ModelAdmin):
    """Shown so an administrator can remove the passkey of someone who lost their phone; the
    credential itself is never shown or edited."""

    list_display = ("name", "user", "created_at", "last_used_at", "backed_up")
    search_fields = ("user__username", "name")
    fields = ("user", "name", "created_at", "last_used_at", "sign_count", "backed_up", "aaguid")
    readonly_fields = fields
    actions = ["remove_selected"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Django's bulk delete would skip the audit row; the action below goes through the service.
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        passkey_remove(actor=request.user, passkey=obj)

    @admin.action(description="删除所选通行密钥（用户遗失设备时）", permissions=["delete"])
    def remove_selected(self, request, queryset):
        count = 0
        for passkey in queryset:
            passkey_remove(actor=request.user, passkey=passkey)
            count += 1
        messages.success(request, f"已删除{count}个通行密钥")
