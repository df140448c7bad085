from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "tongban.policies"
    verbose_name = "政策"

    def ready(self) -> None:
        from tongban.accounts.services import (
            register_enterprise_changed_hook,
            register_profile_changed_hook,
        )
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.cases.services import register_issuance_hook
        from tongban.policies.services import (
            daily_match_sweep,
            rematch_after_change,
            rematch_after_conclusion,
            rematch_enterprise_after_change,
        )

        # The maintenance tick comes every few minutes; the population is matched once a day.
        register_maintenance_sweep("policies_match", daily_match_sweep)
        # And one person at once when their data changes: a profile update (in its own
        # transaction), a concluded case (after it commits).
        register_profile_changed_hook(rematch_after_change)
        register_enterprise_changed_hook(rematch_enterprise_after_change)
        register_issuance_hook(rematch_after_conclusion)
