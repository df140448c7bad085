"""审计日志 is append-only (issue 13): rows are inserted, never changed or deleted, by the
ORM and by the database itself. The one exception: removing a user clears actor_id
(on_delete=SET_NULL) while actor_label keeps naming them."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tongban.accounts.tests.factories import UserFactory
from tongban.common.errors import AuditAppendOnly
from tongban.common.models import AuditEvent
from tongban.common.services import audit_record

# A value of the right type for each kind of column, different from what _row() writes; a
# new column of another kind fails the walk below until it is added here (and, on SQLite,
# to the trigger).
NEW_VALUES = {
    "BigAutoField": None,  # id: set to id + 1000000
    "DateTimeField": "'2020-01-01 00:00:00+00:00'",
    "CharField": "'改写'",
    "BigIntegerField": "999999",
    "GenericIPAddressField": "'10.9.9.9'",
    "JSONField": """'{"fields": ["改写"]}'""",
}
GUARDED_COLUMNS = [f.column for f in AuditEvent._meta.concrete_fields if f.name != "actor"]


def _row(actor=None) -> AuditEvent:
    return audit_record(
        actor=actor,
        action="personal_data.read",
        object_type="case",
        object_id="SH202612030001",
        subject_resident_id=7,
        subject_enterprise_id=8,
        purpose="受理审查：核对申请人身份",
        ip_address="10.0.0.1",
        data={"fields": ["name"], "post": "示例市民政局（受理岗）"},
    )


def _snapshot(pk: int) -> tuple:
    return tuple(AuditEvent.objects.filter(pk=pk).values_list(*GUARDED_COLUMNS, "actor_id")[0])


def _raw(sql: str, params=()) -> None:
    # In a savepoint: on PostgreSQL a refused statement aborts the surrounding transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- the ORM ------------------------------------------------------------------------------


def test_saving_a_written_row_again_is_refused(db):
    event = _row()
    before = _snapshot(event.pk)
    event.purpose = "改写"
    with pytest.raises(AuditAppendOnly) as refused:
        event.save()
    assert refused.value.code == "AUDIT_APPEND_ONLY"
    with pytest.raises(AuditAppendOnly):
        event.save(update_fields=["purpose"])
    assert _snapshot(event.pk) == before


def test_a_new_row_with_an_existing_id_is_not_turned_into_an_update(db):
    event = _row()
    before = _snapshot(event.pk)
    copy = AuditEvent(pk=event.pk, actor_label="x", action="改写")
    with pytest.raises(DatabaseError), transaction.atomic():
        copy.save()  # forced INSERT: the primary key refuses it
    assert _snapshot(event.pk) == before


def test_orm_delete_and_update_are_refused(db):
    event = _row()
    before = _snapshot(event.pk)
    with pytest.raises(AuditAppendOnly):
        event.delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(purpose="改写")
    with pytest.raises(AuditAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(actor=UserFactory())
    event.purpose = "改写"
    # bulk_update opens its own atomic block without a savepoint; give it one.
    with pytest.raises(AuditAppendOnly), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["purpose"])
    assert AuditEvent.objects.count() == 1
    assert _snapshot(event.pk) == before


# --- the database -------------------------------------------------------------------------


@pytest.mark.parametrize("column", GUARDED_COLUMNS)
def test_the_database_refuses_an_update_of_every_column_but_actor(db, column):
    event = _row(actor=UserFactory())
    before = _snapshot(event.pk)
    field = next(f for f in AuditEvent._meta.concrete_fields if f.column == column)
    kind = field.get_internal_type()
    assert kind in NEW_VALUES, f"add a test value for {kind} (and guard the column on SQLite)"
    value = f'"{column}" + 1000000' if NEW_VALUES[kind] is None else NEW_VALUES[kind]
    with pytest.raises(DatabaseError) as refused:
        sql = f'UPDATE common_auditevent SET "{column}" = {value} WHERE id = %s'  # noqa: S608
        _raw(sql, [event.pk])
    assert "AUDIT_APPEND_ONLY" in str(refused.value)
    assert _snapshot(event.pk) == before


def test_the_database_refuses_pointing_a_row_at_another_user(db):
    event = _row(actor=UserFactory())
    other = UserFactory()
    with pytest.raises(DatabaseError) as refused:
        _raw("UPDATE common_auditevent SET actor_id = %s WHERE id = %s", [other.pk, event.pk])
    assert "AUDIT_APPEND_ONLY" in str(refused.value)
    assert AuditEvent.objects.get(pk=event.pk).actor_id == event.actor_id


def test_an_update_that_changes_nothing_or_clears_actor_passes(db):
    event = _row(actor=UserFactory())
    before = _snapshot(event.pk)
    _raw("UPDATE common_auditevent SET purpose = purpose WHERE id = %s", [event.pk])
    assert _snapshot(event.pk) == before
    _raw("UPDATE common_auditevent SET actor_id = NULL WHERE id = %s", [event.pk])
    assert _snapshot(event.pk) == (*before[:-1], None)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite keeps DELETE: Django's test flush empties tables with it (see migration 0003)",
)
def test_postgresql_refuses_a_delete(db):
    event = _row()
    with pytest.raises(DatabaseError) as refused:
        _raw("DELETE FROM common_auditevent WHERE id = %s", [event.pk])
    assert "AUDIT_APPEND_ONLY" in str(refused.value)
    assert AuditEvent.objects.filter(pk=event.pk).count() == 1


def test_removing_a_user_clears_actor_and_keeps_the_row(db):
    user = UserFactory(username="clerk_gone")
    event = _row(actor=user)
    before = _snapshot(event.pk)
    user.delete()
    after = AuditEvent.objects.get(pk=event.pk)
    assert after.actor_id is None
    assert after.actor_label == f"user:{before[-1]}:clerk_gone"
    assert _snapshot(event.pk) == (*before[:-1], None)


@pytest.mark.django_db(transaction=True)
def test_outside_a_test_transaction_user_removal_works_and_the_flush_after_it_too():
    # transaction=True: the rows are committed and the test ends with Django's flush
    # (DELETE on SQLite, TRUNCATE on PostgreSQL), which the triggers must let through.
    user = UserFactory()
    event = _row(actor=user)
    user.delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_id is None
    with pytest.raises(DatabaseError):
        _raw("UPDATE common_auditevent SET purpose = '改写' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).purpose == "受理审查：核对申请人身份"
