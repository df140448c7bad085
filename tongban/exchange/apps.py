from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tongban.exchange"
    verbose_name = "数据共享交换"

    def ready(self) -> None:
        # Registered here so neither the guide nor the case engine imports the exchange.
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.exchange.evidence import register
        from tongban.exchange.tasks import source_retry_sweep

        register()
        register_maintenance_sweep("exchange", source_retry_sweep)
