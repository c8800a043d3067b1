"""The runtime role the web, worker and beat connect as cannot rewrite the audit trail: no
UPDATE, DELETE or TRUNCATE, and no ownership, so no switching the triggers off either."""

import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from approvals.models import AuditEvent, AuditSnapshot
from tests.helpers import new_change

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTACKS = [
    "UPDATE {table} SET {column} = 'x'",
    "DELETE FROM {table}",
    "TRUNCATE {table} CASCADE",
    "ALTER TABLE {table} DISABLE TRIGGER USER",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
]


@pytest.fixture
def runtime_role(alice):
    new_change(alice)
    role = f"cm_runtime_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
    try:
        call_command("grant_runtime_role", role)
        call_command("grant_runtime_role", role)  # idempotent
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def _connect(role):
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )


@pytest.mark.parametrize(
    "table,column", [("approvals_auditevent", "action"), ("approvals_auditsnapshot", "digest")]
)
@pytest.mark.parametrize("attack", ATTACKS)
def test_the_runtime_role_cannot_rewrite_or_unguard_the_audit_tables(
    runtime_role, table, column, attack
):
    events, snapshots = AuditEvent.objects.count(), AuditSnapshot.objects.count()
    sql = attack.format(table=table, column=column)
    with _connect(runtime_role) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        # pgtrigger's escape hatch is a session setting anyone may set: privileges come first.
        conn.execute(
            "SET pgtrigger.ignore = '{approvals_auditevent:pgtrigger_audit_append_only_b26c0}'"
        )
        conn.execute(sql)
    assert (AuditEvent.objects.count(), AuditSnapshot.objects.count()) == (events, snapshots)


def test_the_runtime_role_reads_and_appends_the_trail_and_writes_the_rest(runtime_role):
    def can(table, privilege):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT has_table_privilege(%s, %s, %s)", [runtime_role, table, privilege]
            )
            return cursor.fetchone()[0]

    for table in ("approvals_auditevent", "approvals_auditsnapshot", "approvals_auditcheckpoint"):
        assert can(table, "SELECT") and can(table, "INSERT")
        assert not any(can(table, p) for p in ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER"))
    assert all(can("approvals_changerequest", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE"))
    assert not can("django_migrations", "INSERT")
    with _connect(runtime_role) as conn:
        assert conn.execute("SELECT count(*) FROM approvals_auditevent").fetchone()[0] == 1


def test_a_role_that_owns_tables_or_is_a_superuser_is_refused():
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_runtime_role", "postgres")
    with pytest.raises(CommandError, match="no role"):
        call_command("grant_runtime_role", "nobody_by_that_name")
