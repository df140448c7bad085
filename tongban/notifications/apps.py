from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "tongban.notifications"
    verbose_name = "消息中心"

    def ready(self) -> None:
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.notifications.services import certificates_expiring_sweep

        register_maintenance_sweep("certificates_expiring", certificates_expiring_sweep)
