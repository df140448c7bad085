from django.apps import AppConfig


class CommitmentChecksConfig(AppConfig):
    name = "tongban.commitment_checks"
    verbose_name = "告知承诺事后核查"

    def ready(self) -> None:
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.commitment_checks.services import commitment_checks_sweep

        # Screens concluded cases and re-asks sources that could not answer yet.
        register_maintenance_sweep("commitment_checks", commitment_checks_sweep)
