from django.contrib import admin

from tongban.notifications.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("title", "recipient", "category", "created_at", "read_at", "delivered_at")
    list_filter = ("category",)
    search_fields = ("title", "recipient__username")
    raw_id_fields = ("recipient",)
    readonly_fields = ("created_at", "read_at", "delivered_at")
