import pytest
from django.db import connection

from tongban.common.crypto import DecryptionError, decrypt_text, encrypt_text, lookup_hash
from tongban.common.models import AuditEvent
from tongban.common.services import audit_record


def test_round_trip_and_context_binding():
    sealed = encrypt_text("310101199003071234", context="a")
    assert sealed.startswith("v1:")
    assert "310101" not in sealed
    assert decrypt_text(sealed, context="a") == "310101199003071234"
    with pytest.raises(DecryptionError):
        decrypt_text(sealed, context="b")


def test_same_plaintext_encrypts_differently_but_hashes_equal():
    assert encrypt_text("x", context="c") != encrypt_text("x", context="c")
    assert lookup_hash("x", context="c") == lookup_hash("x", context="c")
    assert lookup_hash("x", context="c") != lookup_hash("x", context="d")


@pytest.mark.django_db
def test_audit_record_names_system_actor():
    event = audit_record(actor_label="system:test", action="thing.done", object_id=7)
    row = AuditEvent.objects.get(pk=event.pk)
    assert (row.actor_id, row.actor_label, row.action, row.object_id) == (
        None,
        "system:test",
        "thing.done",
        "7",
    )
    with connection.cursor() as cur:
        cur.execute("select count(*) from common_auditevent")
        assert cur.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
def test_browser_fixture_renders_admin_login(page):
    page.goto("/admin/login/")
    assert page.locator("#id_username").count() == 1
