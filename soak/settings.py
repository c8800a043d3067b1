"""Production settings plus one extra outbox consumer that refuses marked events, so a poisoned
event can be injected without touching the audit trail (see soak/consumers.py)."""

from changemgmt.settings.production import *  # noqa: F403
from changemgmt.settings.production import AUDIT_EVENT_CONSUMERS

AUDIT_EVENT_CONSUMERS = [*AUDIT_EVENT_CONSUMERS, "soak.consumers.refuse_poisoned"]
