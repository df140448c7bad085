from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "tongban.policies"
    verbose_name = "政策"

    def ready(self) -> None:
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.policies.services import daily_match_sweep

        # The maintenance tick comes every few minutes; the population is matched once a day.
        register_maintenance_sweep("policies_match", daily_match_sweep)
