from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "tongban.common"
    verbose_name = "公共"

    def ready(self) -> None:
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.common.effects import outbox_relay_sweep
        from tongban.common.files import staging_sweep

        # After-commit relays that a dying process never made, and files whose request died
        # before or after its commit (tongban.common.files).
        register_maintenance_sweep("outbox", outbox_relay_sweep)
        register_maintenance_sweep("files", staging_sweep)
