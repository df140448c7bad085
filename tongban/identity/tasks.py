"""Background sending of SMS codes, run by the django-tasks worker (`manage.py tasks_worker`)."""

from __future__ import annotations

from django_tasks import task

from tongban.identity.services import challenge_send


@task()
def challenge_send_task(challenge_id: int) -> str:
    """Draw and send the code of one 短信验证码 (see services.challenge_send); idempotent."""
    return challenge_send(challenge_id=challenge_id)
