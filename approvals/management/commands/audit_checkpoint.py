from typing import Any

from django.core.management.base import BaseCommand, CommandError

from approvals.evidence.checkpoints import CheckpointError, checkpoint_write


class Command(BaseCommand):
    help = (
        "Sign a checkpoint of the audit trail now (several when a backlog exceeds "
        "AUDIT_CHECKPOINT_MAX_LEAVES) and write it to AUDIT_CHECKPOINT_DIR."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        written = 0
        try:
            while (checkpoint := checkpoint_write()) is not None:
                written += 1
                self.stdout.write(
                    f"checkpoint {checkpoint.number}: {checkpoint.tree_size} events, "
                    f"root {checkpoint.root} -> {checkpoint.file_name}"
                )
        except CheckpointError as exc:
            raise CommandError(f"refused: {exc}", returncode=1) from exc
        if not written:
            self.stdout.write("nothing new has settled since the last checkpoint")
