from django.core.management.base import BaseCommand

from tongban.cases.tasks import sla_sweep


class Command(BaseCommand):
    help = "Queue the SLA sweep (reminders before a task is due, escalation after)."

    def handle(self, *args, **options):
        result = sla_sweep.enqueue()
        self.stdout.write(f"queued {result.id}")
