from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from approvals.demo import seed
from approvals.demo_changes import seed_changes


class Command(BaseCommand):
    help = (
        "Install the demo departments, users, roles, default policy and templates, and once a "
        "few dozen changes in every state (idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--empty", action="store_true", help="Leave out the demo changes.")

    def handle(self, *args: Any, **options: Any) -> None:
        seed()
        added = 0 if options["empty"] else seed_changes()
        if added:
            self.stdout.write(f"Added {added} demo changes, told over the past six weeks.")
        self.stdout.write(
            self.style.SUCCESS("Demo data in place (password for every demo user: demo-pass-1).")
        )
