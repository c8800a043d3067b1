"""Outbound webhooks: subscriptions API, deliveries from committed audit events, Standard
Webhooks signatures checked by a real local receiver, retries owned by the sweep, nothing lost
while the receiver is down, and no delivery to the server's own neighbourhood."""

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from approvals.models import AuditEvent
from integrations import destinations, tasks, webhooks
from integrations.events import event_types_of
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.api.conftest import token_client
from tests.api.scenarios import approved
from tests.helpers import user

pytestmark = pytest.mark.django_db

SECRET = "whsec_" + base64.b64encode(b"s3cret-s3cret-s3cret-s3cret-32by").decode()
PORTS = range(18300, 18400)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What an integrator does: the Standard Webhooks library when it is installed, otherwise an
    independent reading of the specification."""
    try:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    except ImportError:
        lower = {k.lower(): v for k, v in headers.items()}
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{lower['webhook-id']}.{lower['webhook-timestamp']}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(
            hmac.compare_digest(sig.partition(",")[2], expected)
            for sig in lower["webhook-signature"].split()
            if sig.startswith("v1,")
        )
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records requests and answers with scripted statuses
    (and a body that must never be stored)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                reply = b"" if status == 204 else b"internal stack trace: password=hunter2"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = self._bind(Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def _bind(handler: type[BaseHTTPRequestHandler]) -> HTTPServer:
        for port in PORTS:
            try:
                return HTTPServer(("127.0.0.1", port), handler)
            except OSError:
                continue
        raise RuntimeError("no free port for the test receiver")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    # The receiver runs on loopback, which only an operator's allow-list opens.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
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
    monkeypatch.setattr(webhooks, "_queue", lambda pk: queued.append(pk))
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


def test_a_delivery_reaches_the_receiver_signed_as_standard_webhooks(demo, receiver):
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is True
    headers, body = receiver.requests[0]
    assert verify(SECRET, headers, body)
    other = "whsec_" + base64.b64encode(b"another-secret-another-secret-32").decode()
    assert not verify(other, headers, body)
    payload = json.loads(body)
    assert headers["webhook-id"] == payload["id"] == f"evt_{delivery.event_id}"
    assert headers["X-Change-Event"] == "change.approved"
    assert payload["type"] == "change.approved" and payload["change"]["state"] == "approved"
    assert payload["audit"]["actor"] == "mia"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.attempt_log[0]["status_code"] == 204


def test_a_failed_attempt_waits_for_the_sweep_with_growing_backoff(
    demo, receiver, monkeypatch, time_machine
):
    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk: queued.append(pk))
    receiver.statuses = [500, 503]
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    # No countdown in the broker: the task makes one attempt and records when it is due again.
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    first_due = delivery.next_attempt_at
    assert timedelta(seconds=29) <= first_due - timezone.now() <= timedelta(seconds=31)
    assert tasks.requeue_webhooks() == 0  # not due yet

    time_machine.move_to(first_due + timedelta(seconds=1), tick=False)
    assert tasks.requeue_webhooks() == 1 and queued == [delivery.pk]
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is False
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=59) <= second_wait <= timedelta(seconds=61)

    time_machine.move_to(delivery.next_attempt_at + timedelta(seconds=1), tick=False)
    assert tasks.requeue_webhooks() == 1
    assert tasks.deliver_webhook.apply(args=(delivery.pk,)).get() is True
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 503, 204]
    # each attempt carries the same webhook-id: the receiver can drop duplicates
    assert len({headers["webhook-id"] for headers, _ in receiver.requests}) == 1
    assert all(verify(SECRET, headers, body) for headers, body in receiver.requests)


def test_only_the_status_code_of_a_reply_is_kept_never_its_body(demo, receiver):
    receiver.statuses = [500]
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.last_status_code == 500 and delivery.last_error == "HTTP 500"
    stored = json.dumps(delivery.attempt_log) + delivery.last_error
    assert "hunter2" not in stored and "stack trace" not in stored


def test_a_receiver_outage_loses_nothing(demo, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    subscribe("http://127.0.0.1:9/unreachable", "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
    assert "Connection" in delivery.last_error or "Error" in delivery.last_error
    # after the last allowed attempt it is kept, marked failed, for an operator to redeliver
    assert webhooks.deliver(delivery.pk) is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)


def test_the_sweep_requeues_due_deliveries_only_and_not_twice_while_queued(
    demo, monkeypatch, time_machine
):
    queued: list[int] = []
    monkeypatch.setattr(webhooks, "_queue", lambda pk: queued.append(pk))
    subscribe("https://a.example/hook", "change.approved", "step.opened")
    webhooks.enqueue_deliveries(events_of(approved()))
    done, owed, failed = WebhookDelivery.objects.order_by("pk")
    WebhookDelivery.objects.filter(pk=done.pk).update(status=DeliveryStatus.DELIVERED)
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    assert tasks.requeue_webhooks() == 0  # just queued after commit: not owed yet
    time_machine.move_to(timezone.now() + webhooks.QUEUED_GRACE + timedelta(seconds=1))
    assert tasks.requeue_webhooks() == 1
    assert tasks.requeue_webhooks() == 0  # queued again once, not on every sweep
    assert queued == [owed.pk]


def test_a_delivered_webhook_is_not_sent_again(demo, receiver):
    subscribe(receiver.url, "change.approved")
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is True
    assert webhooks.deliver(delivery.pk) is None
    assert len(receiver.requests) == 1


def test_no_webhook_wait_is_a_broker_countdown_beyond_the_visibility_timeout(settings):
    assert settings.TASK_RETRY_POLICY["retry_backoff_max"] < settings.REDIS_VISIBILITY_TIMEOUT
    assert webhooks.backoff(settings.WEBHOOK_MAX_ATTEMPTS) > settings.REDIS_VISIBILITY_TIMEOUT
    assert not getattr(tasks.deliver_webhook, "autoretry_for", ())
    sweep = settings.CELERY_BEAT_SCHEDULE["requeue-webhooks"]
    assert sweep["schedule"] <= 60


# --- where webhooks may go ------------------------------------------------------------------


def test_the_address_is_checked_again_at_send_time_and_the_checked_one_is_used(
    demo, receiver, settings, monkeypatch
):
    answers = {"hooks.example.com": ["93.184.215.14"], "hooks.internal": ["127.0.0.1"]}
    monkeypatch.setattr(destinations, "resolve", lambda host, port: answers[host])
    created = token_client("mia").post(
        "/api/v1/webhooks/",
        {
            "url": f"http://hooks.example.com:{receiver.port}/hook",
            "event_types": ["change.approved"],
        },
        format="json",
    )
    assert created.status_code == 201
    # By the time of delivery the name points at loopback too (DNS rebinding): refused, and no
    # request leaves.
    answers["hooks.example.com"] = ["93.184.215.14", "127.0.0.1"]
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    webhooks.enqueue_deliveries(events_of(approved()))
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.last_error == "Refused: 127.0.0.1 is a loopback address."
    assert receiver.requests == []

    # An allowed on-premises name: the request goes to the address that was checked, with the
    # name in the Host header (the name resolves nowhere outside this test).
    settings.WEBHOOK_ALLOWED_NETWORKS = ["hooks.internal"]
    WebhookSubscription.objects.update(url=f"http://hooks.internal:{receiver.port}/hook")
    WebhookDelivery.objects.update(status=DeliveryStatus.PENDING)
    assert webhooks.deliver(delivery.pk) is True
    headers, body = receiver.requests[0]
    assert headers["Host"] == f"hooks.internal:{receiver.port}"
    assert verify(created.json()["secret"], headers, body)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]:6379/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://[fd00:ec2::254]/",
        "https://[::ffff:127.0.0.1]/",
        "https://224.0.0.1/",
        "https://0.0.0.0/",
        "https://localhost/hook",
        "https://user:pw@hooks.example.com/hook",
    ],
)
def test_internal_destinations_are_refused_and_nothing_is_saved(demo, url):
    before = (WebhookSubscription.objects.count(), AuditEvent.objects.count())
    response = token_client("mia").post(
        "/api/v1/webhooks/", {"url": url, "event_types": ["change.approved"]}, format="json"
    )
    assert response.status_code == 400
    assert "url" in json.dumps(response.json())
    assert (WebhookSubscription.objects.count(), AuditEvent.objects.count()) == before


def test_a_name_that_resolves_to_an_internal_address_is_refused(demo, monkeypatch):
    monkeypatch.setattr(destinations, "resolve", lambda host, port: ["172.16.0.5"])
    response = token_client("mia").post(
        "/api/v1/webhooks/",
        {"url": "https://cmdb.example.com/hook", "event_types": ["change.approved"]},
        format="json",
    )
    assert response.status_code == 400 and not WebhookSubscription.objects.exists()


def test_https_is_required_when_the_setting_says_so(demo, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    response = token_client("mia").post(
        "/api/v1/webhooks/",
        {"url": "http://cmdb.example/hook", "event_types": ["change.approved"]},
        format="json",
    )
    assert response.status_code == 400 and not WebhookSubscription.objects.exists()


def test_production_settings_require_https_for_webhooks():
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "changes.example.com",
        "DATABASE_URL": "postgres://app@db.example.com:5432/app",
        "REDIS_URL": "redis://cache.example.com:6379/0",
    }
    env.pop("WEBHOOK_REQUIRE_HTTPS", None)
    code = "import changemgmt.settings.production as p; print(p.WEBHOOK_REQUIRE_HTTPS)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True"


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
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    shown = client.get(f"/api/v1/webhooks/{created.json()['id']}/").json()
    assert "secret" not in shown and shown["created_by"] == "mia"
    audit_event = AuditEvent.objects.get(action="configuration_changed", data__model="webhook")
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
        {"url": "https://x.example", "event_types": ["change.approved"], "secret": "x" * 40},
        {"url": "https://x.example", "event_types": ["change.approved"], "secret": "whsec_!!"},
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
    monkeypatch.setattr(webhooks, "_queue", lambda pk: queued.append(pk))
    subscribe("https://a.example/hook", "change.submitted")
    start = timezone.now() + timedelta(days=1)
    created = token_client("alice").post(
        "/api/v1/changes/",
        {
            "title": "t",
            "description": "d",
            "change_type": "normal",
            "impact": "low",
            "planned_start": start.isoformat(),
            "planned_end": (start + timedelta(hours=2)).isoformat(),
        },
        format="json",
    )
    submit = token_client("alice").post(f"/api/v1/changes/{created.json()['id']}/submit/")
    assert submit.status_code == 200, submit.json()
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
