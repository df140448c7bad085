from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "tongban.consents"
    verbose_name = "授权数据使用"
