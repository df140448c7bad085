from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "tongban.certificates"
    verbose_name = "电子证照"

    def ready(self) -> None:
        from tongban.cases.services import register_issuance_hook, register_item_approved_hook
        from tongban.certificates.evidence import register as register_certificate_evidence
        from tongban.certificates.issuance import issuance_hook

        register_issuance_hook(issuance_hook)
        register_item_approved_hook(issuance_hook)
        register_certificate_evidence()
