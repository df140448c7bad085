from django.contrib import admin

from tongban.idcode.models import ScanLog, Scanner


@admin.register(Scanner)
class ScannerAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "key_prefix", "is_active", "created_at"]
    readonly_fields = ["key_hash", "key_prefix"]


@admin.register(ScanLog)
class ScanLogAdmin(admin.ModelAdmin):
    list_display = ["at", "scanner", "scenario", "result"]
    list_filter = ["result", "scenario"]
