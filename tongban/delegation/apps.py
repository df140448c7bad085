from django.apps import AppConfig


class DelegationConfig(AppConfig):
    name = "tongban.delegation"
    verbose_name = "亲友代办"
