from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "tongban.helpdesk"
    verbose_name = "在线客服"

    def ready(self) -> None:
        # At closing time the maintenance tick turns what is still queued into 留言; the case
        # engine never imports this app.
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.helpdesk.services import queue_close_sweep

        register_maintenance_sweep("helpdesk", lambda now, today: queue_close_sweep(now))
