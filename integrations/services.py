"""Managing webhook subscriptions: every change is audited (never the secret)."""

import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from approvals import audit, outbox
from integrations.models import WebhookSubscription

AUDITED_FIELDS = ("name", "url", "event_types", "is_active")


def new_secret() -> str:
    return secrets.token_hex(32)


def _record(actor: User, subscription: WebhookSubscription, operation: str) -> None:
    audit.configuration_changed(
        actor=actor,
        model="webhook",
        object_id=subscription.pk,
        operation=operation,
        data={name: getattr(subscription, name) for name in AUDITED_FIELDS},
    )
    outbox.events_recorded()


def subscription_create(*, actor: User, data: dict[str, Any]) -> WebhookSubscription:
    """Create a subscription; a secret is generated unless one is given."""
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            created_by=actor, secret=data.get("secret") or new_secret(), **_fields(data)
        )
        _record(actor, subscription, "created")
    return subscription


def subscription_update(
    *, actor: User, subscription_id: int, data: dict[str, Any]
) -> WebhookSubscription:
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        for name, value in _fields(data).items():
            setattr(subscription, name, value)
        if data.get("secret"):
            subscription.secret = data["secret"]
        subscription.save()
        _record(actor, subscription, "updated")
    return subscription


def subscription_delete(*, actor: User, subscription_id: int) -> None:
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
        _record(actor, subscription, "deleted")
        subscription.delete()


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data[name] for name in AUDITED_FIELDS if name in data}
