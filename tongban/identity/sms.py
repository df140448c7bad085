"""示例短信: the demo's SMS outbox.

The console adapter only writes to the log, so a visitor of the demo city could never read the
code that registration or password reset sends. This adapter also keeps the text in a table
that the 示例短信 page shows to the browser that asked for the code. It is the default only
because no gateway is configured: naming a real adapter in TONGBAN_SMS_ADAPTER switches the
outbox and its page off (demo_outbox_enabled), whatever TONGBAN_DEMO_SMS_OUTBOX says, so a
deployment with real SMS never stores codes in clear.
"""

from __future__ import annotations

from django.conf import settings

from tongban.accounts.validators import mask_phone
from tongban.notifications.sms import ConsoleSmsAdapter

DEMO_OUTBOX_ADAPTER = "tongban.identity.sms.DemoOutboxSmsAdapter"


def demo_outbox_enabled() -> bool:
    return bool(settings.TONGBAN_DEMO_SMS_OUTBOX) and (
        settings.TONGBAN_SMS_ADAPTER == DEMO_OUTBOX_ADAPTER
    )


class DemoOutboxSmsAdapter(ConsoleSmsAdapter):
    """Logs like the console adapter; keeps the message for the 示例短信 page."""

    def send(self, phone: str, text: str) -> None:
        super().send(phone, text)
        if not demo_outbox_enabled():
            return
        from tongban.identity.models import DemoSms
        from tongban.identity.selectors import mobile_hash

        DemoSms.objects.create(
            phone_hash=mobile_hash(phone), phone_masked=mask_phone(phone), text=text[:300]
        )
