from django.core.management.base import BaseCommand

from tongban.cases.schedule import schedulable, schedule_ensure, sweep_interval


class Command(BaseCommand):
    help = (
        "Start the periodic maintenance tick (SLA, 补正/容缺 deadlines, login-throttle rows) "
        "unless one is already queued or running. Safe to run at every start-up."
    )

    def handle(self, *args, **options):
        if not schedulable():
            self.stderr.write(
                "the task backend cannot defer tasks (TONGBAN_TASKS_BACKEND): no periodic "
                "sweep; run `manage.py cases_sla_sweep` from cron instead"
            )
            return
        queued = schedule_ensure()
        every = int(sweep_interval().total_seconds())
        if queued is None:
            self.stdout.write(f"maintenance tick already scheduled (every {every}s)")
        else:
            self.stdout.write(f"maintenance tick queued {queued} (every {every}s)")
