"""On PostgreSQL, refuse UPDATE and DELETE of audit rows in the database itself.

Events may only be deleted by the retention purge, which sets the transaction-local
``cadml.audit_purge`` to ``on``; digests and purge records are never changed.
Anyone able to drop the trigger can of course still tamper: that is what the
signed digests and ``audit_verify`` are for. TRUNCATE is not guarded, because the
test runner empties tables with it.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION cadml_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_ARGV[0] = 'purgeable'
       AND current_setting('cadml.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit table %% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

TABLES = {
    "audit_auditevent": "purgeable",
    "audit_auditdigest": "sealed",
    "audit_auditpurge": "sealed",
}


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(GUARD.replace("%%", "%"), params=None)
    for table, mode in TABLES.items():
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION cadml_audit_append_only('{mode}')"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS cadml_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
