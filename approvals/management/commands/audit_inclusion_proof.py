import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from approvals.evidence.checkpoints import CheckpointError
from approvals.evidence.proofs import ProofError, inclusion_proof


class Command(BaseCommand):
    help = (
        "Print, as JSON, the proof that audit event SEQ is in a signed checkpoint (the newest, "
        "or --checkpoint N); tools/audit_verify_offline.py --proof checks it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("seq", type=int)
        parser.add_argument("--checkpoint", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            proof = inclusion_proof(seq=options["seq"], checkpoint_number=options["checkpoint"])
        except (ProofError, CheckpointError) as exc:
            raise CommandError(str(exc), returncode=1) from exc
        self.stdout.write(json.dumps(proof, indent=2))
