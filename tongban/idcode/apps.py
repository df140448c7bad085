from django.apps import AppConfig


class IdcodeConfig(AppConfig):
    name = "tongban.idcode"
    verbose_name = "随申码"
