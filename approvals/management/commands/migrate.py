from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from approvals.evidence.roles import owner_connection


class Command(DjangoMigrate):
    help = (
        f"{DjangoMigrate.help} Connects as MIGRATE_DATABASE_URL (the tables' owner) when set, "
        "so the runtime role of DATABASE_URL never needs to own them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with owner_connection(options["database"]):
            super().handle(*args, **options)
