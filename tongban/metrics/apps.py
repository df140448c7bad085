from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "tongban.metrics"
    verbose_name = "服务指标"

    def ready(self) -> None:
        # The maintenance tick rolls up the days whose facts changed; the case engine never
        # imports this app.
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.metrics.services import rollup_sweep

        register_maintenance_sweep("metrics", lambda now, today: rollup_sweep(now=now))
