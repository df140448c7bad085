from django.apps import AppConfig


class PasskeysConfig(AppConfig):
    name = "tongban.passkeys"
    verbose_name = "通行密钥"
