from django.apps import AppConfig


class AssistanceConfig(AppConfig):
    name = "tongban.assistance"
    verbose_name = "行政协助"
