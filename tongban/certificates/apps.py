from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "tongban.certificates"
    verbose_name = "电子证照"
