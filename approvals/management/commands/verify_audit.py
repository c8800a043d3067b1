from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.evidence import signing
from approvals.evidence.verification import verify_trail


class Command(BaseCommand):
    help = (
        "Verify the audit trail against the signed checkpoints, its hash chains, snapshots, "
        "the change rows and the decisions; name the first bad event (exit code 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoints", help="checkpoint directory (AUDIT_CHECKPOINT_DIR)")
        parser.add_argument("--public-key", help="PEM file of the key checkpoints are signed with")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["checkpoints"]) if options["checkpoints"] else None
        key = (
            signing.load_public_key(Path(options["public_key"]).read_bytes())
            if options["public_key"]
            else None
        )
        result = verify_trail(directory=directory, key=key)
        against = (
            f"signed checkpoint of {result.checkpoint['tree_size']} events "
            f"({result.checkpoint['timestamp']})"
            if result.checkpoint
            else "no signed checkpoint yet"
        )
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(f"OK: {result.events_checked} events verified; {against}")
            )
            return
        where = f"event #{result.first_bad_seq}" if result.first_bad_seq else "the trail"
        raise CommandError(
            f"BROKEN at {where}: {result.reason} ({result.events_checked} events checked; "
            f"{against})",
            returncode=1,
        )
