"""Webhooks are managed in the admin too, through the same audited services."""

import pytest

from approvals.models import AuditEvent
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.api.scenarios import approved
from tests.helpers import user

pytestmark = pytest.mark.django_db


def test_admin_lists_subscriptions_and_deliveries(demo, client):
    client.force_login(user("admin"))
    assert client.get("/admin/integrations/webhooksubscription/").status_code == 200
    assert client.get("/admin/integrations/webhookdelivery/").status_code == 200


def test_a_subscription_added_in_the_admin_is_audited(demo, client):
    client.force_login(user("admin"))
    response = client.post(
        "/admin/integrations/webhooksubscription/add/",
        {
            "name": "CMDB",
            "url": "https://cmdb.example/hook",
            "secret": "",
            "event_types": '["change.approved"]',
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    assert subscription.created_by == user("admin")
    assert subscription.secret.startswith("whsec_")  # generated
    event = AuditEvent.objects.get(action="configuration_changed", data__model="webhook")
    assert event.data["url"] == "https://cmdb.example/hook" and "secret" not in event.data


def test_redeliver_action_gives_a_failed_delivery_a_fresh_start(
    demo, client, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations import webhooks

    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk: queued.append(pk))
    WebhookSubscription.objects.create(
        url="https://a.example/hook", secret="whsec_" + "A" * 44, event_types=["change.approved"]
    )
    webhooks.enqueue_deliveries(AuditEvent.objects.filter(change=approved()))
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    client.force_login(user("admin"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/integrations/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [delivery.pk]},
        )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert queued[-1] == delivery.pk


@pytest.mark.parametrize("url", ["https://169.254.169.254/", "https://127.0.0.1:8000/hook"])
def test_the_admin_refuses_internal_destinations_and_saves_nothing(demo, client, url):
    client.force_login(user("admin"))
    before = AuditEvent.objects.count()
    response = client.post(
        "/admin/integrations/webhooksubscription/add/",
        {"name": "x", "url": url, "secret": "", "event_types": '["change.approved"]'},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "address" in response.content.decode()
    assert not WebhookSubscription.objects.exists() and AuditEvent.objects.count() == before
