from django.apps import AppConfig


class CommitmentChecksConfig(AppConfig):
    name = "tongban.commitment_checks"
    verbose_name = "告知承诺事后核查"
