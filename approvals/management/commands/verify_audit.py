from typing import Any

from django.core.management.base import BaseCommand, CommandError

from approvals.audit import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit hash chains and snapshots; name the first broken event."

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify_chain()
        if result.ok:
            self.stdout.write(self.style.SUCCESS(f"OK: {result.events_checked} events verified"))
            return
        raise CommandError(
            f"BROKEN at event #{result.first_bad_seq}: {result.reason} "
            f"({result.events_checked} events checked)",
            returncode=1,
        )
