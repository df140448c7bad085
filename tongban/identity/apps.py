from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tongban.identity"
    verbose_name = "统一身份认证"
