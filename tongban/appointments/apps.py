from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "tongban.appointments"
    label = "appointments"
    verbose_name = "大厅与预约"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each part's maintenance (slots ahead, reminders, no-shows, lapsed offers, daily
        # waits) runs in the case engine's tick; registered here so it never imports us.
        from tongban.appointments import sweeps
        from tongban.cases.schedule import register_maintenance_sweep

        for name, sweep in sweeps.SWEEPS.items():
            register_maintenance_sweep(name, sweep)

        # 轮候: an approved application of a list's item joins the list; a changed profile
        # re-ranks the person's entries. Registered, so neither cases nor accounts import us.
        from tongban.accounts.services import register_profile_changed_hook
        from tongban.appointments.services.waitlist import join_after_conclusion, rerank_person
        from tongban.cases.services import register_issuance_hook

        register_issuance_hook(join_after_conclusion)
        register_profile_changed_hook(rerank_person)
