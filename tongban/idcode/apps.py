from django.apps import AppConfig


class IdcodeConfig(AppConfig):
    name = "tongban.idcode"
    verbose_name = "随申码"

    def ready(self) -> None:
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.idcode.services import pseudonyms_sweep

        # One pseudonym row per code shown: the unscanned ones are dropped once expired.
        register_maintenance_sweep(
            "idcode_pseudonyms", lambda now, today: {"deleted": pseudonyms_sweep(now=now)}
        )
