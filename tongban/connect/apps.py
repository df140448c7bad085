from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "tongban.connect"
    verbose_name = "接入管理"
