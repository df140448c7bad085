from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "tongban.assistance"
    verbose_name = "行政协助"

    def ready(self) -> None:
        # The maintenance tick calls it; the case engine never imports this app.
        from tongban.assistance.services import maintenance_sweep
        from tongban.cases.schedule import register_maintenance_sweep

        register_maintenance_sweep("assistance", maintenance_sweep)
