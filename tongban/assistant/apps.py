from django.apps import AppConfig


class AssistantConfig(AppConfig):
    name = "tongban.assistant"
    verbose_name = "智能客服"

    def ready(self) -> None:
        # The maintenance tick calls it; the case engine never imports this app.
        from tongban.assistant.services import maintenance_sweep
        from tongban.cases.schedule import register_maintenance_sweep

        register_maintenance_sweep("assistant", maintenance_sweep)
