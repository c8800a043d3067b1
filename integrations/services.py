"""Managing webhook subscriptions: every change is audited (never the secret), and no
subscription points at an address webhooks may not reach."""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from approvals import audit, outbox
from approvals.exceptions import InvalidInput
from integrations import destinations
from integrations.models import WebhookSubscription
from integrations.webhooks import new_secret, secret_problem

AUDITED_FIELDS = ("name", "url", "event_types", "is_active")


def url_problem(url: str) -> str | None:
    """Why webhooks may not go to `url` (https, no internal addresses), or None."""
    try:
        destinations.check(url, must_resolve=False)
    except destinations.UnsafeDestination as refused:
        return str(refused)
    return None


def _validate(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if "url" in data and (problem := url_problem(data["url"])):
        errors["url"] = [problem]
    if data.get("secret") and (problem := secret_problem(data["secret"])):
        errors["secret"] = [problem]
    if errors:
        raise InvalidInput(errors)


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
    _validate(data)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            created_by=actor, secret=data.get("secret") or new_secret(), **_fields(data)
        )
        _record(actor, subscription, "created")
    return subscription


def subscription_update(
    *, actor: User, subscription_id: int, data: dict[str, Any]
) -> WebhookSubscription:
    """Change a subscription's fields (and its secret, when one is given)."""
    _validate(data)
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
