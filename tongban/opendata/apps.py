from django.apps import AppConfig


class OpendataConfig(AppConfig):
    name = "tongban.opendata"
    verbose_name = "开放数据"
