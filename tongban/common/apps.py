from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "tongban.common"
    verbose_name = "公共"
