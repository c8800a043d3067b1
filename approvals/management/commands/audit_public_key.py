from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from approvals.evidence import signing


class Command(BaseCommand):
    help = (
        "Print the public key that verifies the audit checkpoints (give it to auditors); with "
        "--create, first create the signing key at AUDIT_SIGNING_KEY when there is none."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["create"] and not Path(settings.AUDIT_SIGNING_KEY).exists():
            signing.create_signing_key(Path(settings.AUDIT_SIGNING_KEY))
            self.stderr.write(f"created {settings.AUDIT_SIGNING_KEY}")
        key = signing.public_key()
        self.stdout.write(signing.public_pem(key), ending="")
        self.stderr.write(f"key id {signing.key_id(key)}")
