from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.evidence.roles import RoleError, owner_connection, runtime_role_grant


class Command(BaseCommand):
    help = (
        "Grant the PostgreSQL role the web, worker and beat connect as exactly what they need: "
        "read and write the application's tables, only read and append the audit tables (no "
        "UPDATE, DELETE or TRUNCATE), own nothing. Idempotent; run it again after migrations. "
        "Connects as MIGRATE_DATABASE_URL (the owner) when set."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role")
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        with owner_connection(options["database"]) as connection:
            try:
                statements = runtime_role_grant(role=options["role"], connection=connection)
            except RoleError as exc:
                raise CommandError(str(exc), returncode=1) from exc
        if options["verbosity"] > 1:
            self.stdout.write("\n".join(statements))
        self.stdout.write(f"{options['role']}: granted on {len(statements) - 5} tables")
