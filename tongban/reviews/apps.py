from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "tongban.reviews"
    verbose_name = "好差评"

    def ready(self) -> None:
        # The case engine calls these on commit; it never imports reviews (one-way dependency).
        from tongban.cases.schedule import register_maintenance_sweep
        from tongban.cases.services import register_handout_hook, register_issuance_hook
        from tongban.reviews.services import (
            invite_after_conclusion,
            invite_after_handout,
            overdue_sweep,
        )

        register_issuance_hook(invite_after_conclusion)
        register_handout_hook(invite_after_handout)
        register_maintenance_sweep("reviews_overdue", overdue_sweep)
