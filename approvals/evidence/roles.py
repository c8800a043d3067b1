"""Least privilege in PostgreSQL: migrations run as the tables' owner; the web, worker and beat
connect as a runtime role that may read everything, write what the application writes, and only
append to the audit tables. Without ownership it cannot ALTER TABLE … DISABLE TRIGGER either."""

from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url
from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from approvals.models import AuditCheckpoint, AuditEvent, AuditSnapshot

APPEND_ONLY_TABLES = tuple(m._meta.db_table for m in (AuditEvent, AuditSnapshot, AuditCheckpoint))
READ_ONLY_TABLES = ("django_migrations",)


class RoleError(Exception):
    pass


@contextmanager
def owner_connection(alias: str = "default") -> Iterator[BaseDatabaseWrapper]:
    """The connection `alias`, logged in as MIGRATE_DATABASE_URL's user (the owner) when that is
    set; the database itself stays the one the connection names (a test database stays one)."""
    connection = connections[alias]
    url = settings.MIGRATE_DATABASE_URL
    if not url:
        yield connection
        return
    owner = dj_database_url.parse(url)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(
        USER=owner["USER"], PASSWORD=owner["PASSWORD"], HOST=owner["HOST"], PORT=owner["PORT"]
    )
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _check_role(cursor, role: str) -> None:
    cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        raise RoleError(f"no role {role!r}: create it first (CREATE ROLE {role} LOGIN PASSWORD …)")
    if row[0] or row[1]:
        raise RoleError(f"{role!r} is a superuser or bypasses row security: use a plain role")
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = %s",
        [role],
    )
    owned = [name for (name,) in cursor.fetchall()]
    if owned:
        raise RoleError(
            f"{role!r} owns {', '.join(sorted(owned)[:5])}: the runtime role must own nothing "
            "(an owner can switch the audit triggers off)"
        )


def runtime_role_grant(*, role: str, connection: BaseDatabaseWrapper) -> list[str]:
    """Give `role` exactly what the application needs on every table of the schema; safe to
    repeat (it starts from nothing each time). Returns the statements it ran."""
    if connection.vendor != "postgresql":
        raise RoleError("database roles exist on PostgreSQL only")
    quote = connection.ops.quote_name
    who = quote(role)
    statements: list[str] = []
    with connection.cursor() as cursor:
        _check_role(cursor, role)
        cursor.execute("SELECT current_database(), current_schema()")
        database, schema = cursor.fetchone()
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1"
        )
        tables = [name for (name,) in cursor.fetchall()]
        statements += [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {who}",
            f"GRANT USAGE ON SCHEMA {quote(schema)} TO {who}",
            f"REVOKE CREATE ON SCHEMA {quote(schema)} FROM {who}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {who}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {who}",
        ]
        for table in tables:
            if table in APPEND_ONLY_TABLES:
                rights = "SELECT, INSERT"
            elif table in READ_ONLY_TABLES:
                rights = "SELECT"
            else:
                rights = "SELECT, INSERT, UPDATE, DELETE"
            statements.append(f"GRANT {rights} ON {quote(table)} TO {who}")
        for statement in statements:
            cursor.execute(statement)
    return statements
