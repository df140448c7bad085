from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tongban.identity"
    verbose_name = "统一身份认证"

    def ready(self) -> None:
        # Registered here so the case engine's maintenance tick never imports identity.
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.identity.services import identity_purge_sweep

        register_maintenance_sweep("identity", identity_purge_sweep)
