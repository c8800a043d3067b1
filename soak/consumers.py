"""An outbox consumer that fails on every event whose comment carries POISON, as a consumer
with a bug would, and accepts every other event."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from approvals.models import AuditEvent

POISON = "soak-poisoned-event"


class PoisonedEvent(RuntimeError):
    pass


def refuse_poisoned(events: list["AuditEvent"]) -> None:
    for event in events:
        if POISON in str((event.data or {}).get("text", "")):
            raise PoisonedEvent(f"event #{event.pk} is poisoned")
