"""审计日志 append-only in the database itself, so no code path (raw SQL, a shell, another
program on the same database) rewrites what a resident was shown on 我的数据使用记录.

- UPDATE: refused for every column but actor_id, and actor_id only to NULL — what
  on_delete=SET_NULL does when a user is removed (actor_label still names them).
- DELETE: refused on PostgreSQL. Not on SQLite: Django's test flush (TransactionTestCase,
  live_server) empties tables with DELETE there, while on PostgreSQL it uses TRUNCATE, which
  fires no row trigger.

SQLite triggers name the columns; a migration adding a column to AuditEvent must recreate
the trigger (test_audit_append_only walks every column on both databases and fails until it
does). A SQLite table rebuild (Django's _remake_table) drops the triggers with the old table;
recreate them in that migration too — the same test catches it.
"""

from django.db import migrations

SQLITE_COLUMNS = (
    "id",
    "at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "subject_resident_id",
    "subject_enterprise_id",
    "purpose",
    "ip_address",
    "data",
)

SQLITE_CHANGED = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in SQLITE_COLUMNS)

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER common_auditevent_append_only_update
    BEFORE UPDATE ON common_auditevent
    FOR EACH ROW WHEN {SQLITE_CHANGED}
        OR (NEW."actor_id" IS NOT OLD."actor_id" AND NEW."actor_id" IS NOT NULL)
    BEGIN
        SELECT RAISE(ABORT, 'AUDIT_APPEND_ONLY: common_auditevent rows cannot be changed');
    END
    """,
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS common_auditevent_append_only_update"]

# to_jsonb(row) - 'actor_id' compares every other column, present and future, at once.
POSTGRES_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION common_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'AUDIT_APPEND_ONLY: common_auditevent rows cannot be deleted'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (to_jsonb(NEW) - 'actor_id') IS DISTINCT FROM (to_jsonb(OLD) - 'actor_id')
           OR (NEW.actor_id IS DISTINCT FROM OLD.actor_id AND NEW.actor_id IS NOT NULL) THEN
            RAISE EXCEPTION 'AUDIT_APPEND_ONLY: common_auditevent rows cannot be changed'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END;
    $$
    """,
    """
    CREATE TRIGGER common_auditevent_append_only
    BEFORE UPDATE OR DELETE ON common_auditevent
    FOR EACH ROW EXECUTE FUNCTION common_auditevent_append_only()
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS common_auditevent_append_only ON common_auditevent",
    "DROP FUNCTION IF EXISTS common_auditevent_append_only()",
]

STATEMENTS = {
    "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD),
    "postgresql": (POSTGRES_FORWARD, POSTGRES_BACKWARD),
}


def _run(schema_editor, backward: bool) -> None:
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        return  # another database: the ORM guard (AuditEvent.save/delete) still holds
    for sql in statements[1 if backward else 0]:
        schema_editor.execute(sql)


def forward(apps, schema_editor):
    _run(schema_editor, backward=False)


def backward(apps, schema_editor):
    _run(schema_editor, backward=True)


class Migration(migrations.Migration):
    dependencies = [
        ("common", "0002_audit_subject_enterprise"),
    ]

    operations = [migrations.RunPython(forward, backward)]
