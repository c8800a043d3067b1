"""Outbound webhooks: subscriptions API, deliveries from committed audit events, signed POSTs to a
real local receiver, retries with backoff, nothing lost while the receiver is down."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from approvals.models import AuditEvent
from integrations import tasks, webhooks
from integrations.events import event_types_of
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.api.conftest import token_client
from tests.api.scenarios import approved
from tests.helpers import user

pytestmark = pytest.mark.django_db

SECRET = "s3cret-s3cret-s3cret"


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records requests and answers with scripted statuses."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def subscribe(url: str, *types: str) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        url=url, secret=SECRET, event_types=list(types), created_by=user("mia")
    )


def events_of(change) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(change=change).order_by("seq"))


def test_audit_actions_map_to_event_types(demo):
    change = approved()
    types = [event_types_of(e) for e in events_of(change)]
    assert types == [
        ["change.created"],
        ["change.submitted"],
        ["change.assessed", "step.opened"],
        ["step.approved", "step.opened"],
        ["change.approved"],
    ]


def test_enqueue_creates_one_delivery_per_matching_subscription_and_is_idempotent(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk, countdown=0: queued.append(pk))
    wanted = subscribe("https://a.example/hook", "change.approved", "step.opened")
    subscribe("https://b.example/hook", "change.rejected")
    WebhookSubscription.objects.create(
        url="https://c.example/hook",
        secret=SECRET,
        event_types=["change.approved"],
        is_active=False,
    )
    events = events_of(approved())
    with django_capture_on_commit_callbacks(execute=True):
        created = webhooks.enqueue_deliveries(events)
    with django_capture_on_commit_callbacks(execute=True):
        again = webhooks.enqueue_deliveries(events)
    assert (created, again) == (3, 0)
    deliveries = WebhookDelivery.objects.order_by("event_id")
    assert {d.subscription_id for d in deliveries} == {wanted.pk}
    assert [d.event_type for d in deliveries] == ["step.opened", "step.opened", "change.approved"]
    assert sorted(queued) == sorted(d.pk for d in deliveries)


def test_a_delivery_reaches_the_receiver_signed(demo, receiver):
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is True
    headers, body = receiver.requests[0]
    assert webhooks.verify_signature(SECRET, headers["X-Change-Signature"], body)
    assert not webhooks.verify_signature(
        "another-secret-value", headers["X-Change-Signature"], body
    )
    assert headers["X-Change-Event"] == "change.approved"
    payload = json.loads(body)
    assert payload["type"] == "change.approved" and payload["change"]["state"] == "approved"
    assert payload["audit"]["actor"] == "mia"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.attempt_log[0]["status_code"] == 204


def test_failed_attempts_are_logged_and_retried_with_growing_backoff(demo, receiver, monkeypatch):
    countdowns: list[int] = []
    original_retry = tasks.deliver_webhook.retry

    def spy_retry(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return original_retry(*args, **kwargs)

    monkeypatch.setattr(tasks.deliver_webhook, "retry", spy_retry)
    receiver.statuses = [500, 503]
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    # Eager apply runs the retries in place, without their countdown.
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is True
    assert countdowns == [30, 60]
    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 503, 204]
    assert delivery.attempt_log[0]["error"].startswith("HTTP 500")
    # each attempt carries the same event id: the receiver can drop duplicates
    assert len({json.loads(body)["id"] for _, body in receiver.requests}) == 1


def test_a_receiver_outage_loses_nothing(demo, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    subscribe("http://127.0.0.1:9/unreachable", "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk, retry_in=30) is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    assert "ConnectionError" in delivery.last_error
    # after the last allowed attempt it is kept, marked failed, for an operator to redeliver
    assert webhooks.deliver(delivery.pk, retry_in=None) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)


def test_the_sweep_requeues_owed_deliveries_only(demo, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk, countdown=0: queued.append(pk))
    subscribe("https://a.example/hook", "change.approved", "step.opened")
    webhooks.enqueue_deliveries(events_of(approved()))
    done, owed, failed = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.DELIVERED)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    assert tasks.requeue_webhooks() == 1
    assert queued == [owed.pk]


def test_a_delivered_webhook_is_not_sent_again(demo, receiver):
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk, retry_in=30) is True
    assert webhooks.deliver(delivery.pk, retry_in=30) is None
    assert len(receiver.requests) == 1


def test_the_consumer_is_registered_for_the_dispatcher(settings):
    assert "integrations.webhooks.enqueue_deliveries" in settings.AUDIT_EVENT_CONSUMERS


# --- the subscriptions API ------------------------------------------------------------------


def test_a_change_manager_subscribes_and_sees_the_secret_once(demo):
    client = token_client("mia")
    created = client.post(
        "/api/v1/webhooks/",
        {"name": "CMDB", "url": "https://cmdb.example/hook", "event_types": ["change.approved"]},
        format="json",
    )
    assert created.status_code == 201
    assert len(created.json()["secret"]) == 64
    shown = client.get(f"/api/v1/webhooks/{created.json()['id']}/").json()
    assert "secret" not in shown and shown["created_by"] == "mia"
    audit_event = AuditEvent.objects.get(action="webhook_created")
    assert "secret" not in audit_event.data


def test_subscriptions_can_be_changed_and_removed(demo):
    client = token_client("mia")
    sid = client.post(
        "/api/v1/webhooks/",
        {"url": "https://cmdb.example/hook", "event_types": ["change.approved"]},
        format="json",
    ).json()["id"]
    changed = client.patch(f"/api/v1/webhooks/{sid}/", {"is_active": False}, format="json")
    assert changed.json()["is_active"] is False
    assert client.delete(f"/api/v1/webhooks/{sid}/").status_code == 204
    assert client.get(f"/api/v1/webhooks/{sid}/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "not a url", "event_types": ["change.approved"]},
        {"url": "https://x.example", "event_types": ["change.exploded"]},
        {"url": "https://x.example", "event_types": []},
        {"url": "https://x.example", "event_types": ["change.approved"], "secret": "short"},
    ],
)
def test_bad_subscriptions_are_400(demo, body):
    assert token_client("mia").post("/api/v1/webhooks/", body, format="json").status_code == 400


def test_webhooks_are_for_change_managers_only(demo):
    assert token_client("hank").get("/api/v1/webhooks/").status_code == 403
    assert token_client("audrey").get("/api/v1/webhooks/").status_code == 403


def test_an_api_action_becomes_a_delivery_through_the_outbox_drain(
    demo, django_capture_on_commit_callbacks, monkeypatch
):
    from approvals.outbox import events_dispatch

    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk, countdown=0: queued.append(pk))
    subscribe("https://a.example/hook", "change.submitted")
    created = token_client("alice").post(
        "/api/v1/changes/",
        {"title": "t", "description": "d", "change_type": "normal", "impact": "low"},
        format="json",
    )
    token_client("alice").post(f"/api/v1/changes/{created.json()['id']}/submit/")
    with django_capture_on_commit_callbacks(execute=True):
        events_dispatch()
    delivery = WebhookDelivery.objects.get()
    assert delivery.event_type == "change.submitted"
    assert delivery.payload["change"]["id"] == created.json()["id"]
    assert queued == [delivery.pk]
    # a second drain hands nothing over again
    with django_capture_on_commit_callbacks(execute=True):
        events_dispatch()
    assert WebhookDelivery.objects.count() == 1 and queued == [delivery.pk]
