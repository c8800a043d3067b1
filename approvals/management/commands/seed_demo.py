from typing import Any

from django.core.management.base import BaseCommand

from approvals.demo import seed


class Command(BaseCommand):
    help = "Install the demo departments, users, roles, default policy and templates (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        seed()
        self.stdout.write(
            self.style.SUCCESS("Demo data in place (password for every demo user: demo-pass-1).")
        )
