"""短信 through an adapter: a city plugs in its SMS gateway by naming a class in
TONGBAN_SMS_ADAPTER. The demo's console adapter only logs, with the number masked."""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from tongban.accounts.validators import mask_phone

logger = logging.getLogger(__name__)


class SmsAdapter(Protocol):
    def send(self, phone: str, text: str) -> None:
        """Send one message or raise; the delivery row records the error."""


class ConsoleSmsAdapter:
    """Demo: writes the SMS to the log. Never the full number: logs are read by many."""

    def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


def sms_adapter() -> SmsAdapter:
    return import_string(settings.TONGBAN_SMS_ADAPTER)()
