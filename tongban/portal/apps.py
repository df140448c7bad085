from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tongban.portal"
    verbose_name = "门户"
