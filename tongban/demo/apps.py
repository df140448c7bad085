from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tongban.demo"
    verbose_name = "示例城市"
