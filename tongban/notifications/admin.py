from django.contrib import admin

from tongban.notifications.models import Delivery, Notice, NoticePreference


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    # Only the masked address is kept, so nothing here reveals a phone number.
    readonly_fields = (
        "channel",
        "status",
        "reason",
        "address_masked",
        "attempts",
        "last_error",
        "sent_at",
    )

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "recipient",
        "category",
        "group",
        "created_at",
        "read_at",
        "delivered_at",
    )
    list_filter = ("group", "category")
    search_fields = ("title", "recipient__username")
    raw_id_fields = ("recipient",)
    readonly_fields = ("created_at", "read_at", "delivered_at", "template", "sms_text")
    inlines = [DeliveryInline]


@admin.register(NoticePreference)
class NoticePreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "channel", "enabled", "updated_at")
    list_filter = ("group", "channel", "enabled")
    raw_id_fields = ("user",)
