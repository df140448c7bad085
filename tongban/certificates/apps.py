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

        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.certificates.services import trust_list_publish

        # The trust list is re-signed before it expires even when nobody fetches it.
        register_maintenance_sweep(
            "trust_list", lambda now, today: {"sequence": trust_list_publish(now=now).sequence}
        )
