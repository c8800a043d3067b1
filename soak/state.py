"""What the soak reads and writes in the database directly: changes prepared through the
workflow services (as every interface does), and the checks that compare answers with rows."""

import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


def setup_django() -> None:
    """Called once the environment names the soak's database, Redis and settings."""
    import django

    os.environ["DATABASE_CONN_MAX_AGE"] = "0"  # a restarted PostgreSQL never breaks the harness
    django.setup()


def fresh_connection() -> None:
    from django.db import connection

    connection.close()


@dataclass(frozen=True)
class Prepared:
    change_id: int
    step_id: int  # the open step (department head's, or the final approval once approved)
    seq: int  # the change's last audit event before the race


def _user(username: str) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)


def _window(days: float) -> tuple[datetime, datetime]:
    from django.utils import timezone

    start = timezone.now() + timedelta(days=days)
    return start, start + timedelta(hours=2)


def prepare(
    *, approved: bool = False, title: str = "Soak change", sla_scale: float | None = None
) -> Prepared:
    """A normal low-impact IT change by alice, assessed by ada: hank's step is open. With
    `approved`, hank and mia approve it too. `sla_scale` shrinks the SLA of the steps it opens."""
    from django.test import override_settings

    from approvals import workflow
    from approvals.models import ApprovalStep, AuditEvent, ChangeRequest

    alice = _user("alice")
    start, end = _window(1)
    data = {
        "title": title,
        "description": "Prepared by the soak.",
        "goal": "Exercise the workflow under load.",
        "scope": "Nothing real.",
        "expected_impact": "None.",
        "change_type": "normal",
        "category": "software_upgrade",
        "impact": "low",
        "departments": [],
        "implementer": "ivan",
        "planned_start": start,
        "planned_end": end,
        "backout_plan": "Nothing to undo.",
        "test_plan": "Nothing to test.",
    }
    overrides = {} if sla_scale is None else {"SLA_SCALE": sla_scale}
    with override_settings(**overrides):
        change = workflow.change_create(actor=alice, data=data)
        workflow.change_submit(actor=alice, change_id=change.pk)
        workflow.change_assess(
            actor=_user("ada"), change_id=change.pk, impact="low", risk="low", notes="fine"
        )
        if approved:
            for approver in ("hank", "mia"):
                workflow.step_decide(
                    actor=_user(approver), change_id=change.pk, decision="approve", comment="ok"
                )
    current = ChangeRequest.objects.get(pk=change.pk)
    steps = ApprovalStep.objects.filter(change=current, round=current.round)
    step = steps.filter(status="pending").first() or steps.order_by("-order").first()
    seq = (
        AuditEvent.objects.filter(change=current).order_by("-seq").values_list("seq", flat=True)[0]
    )
    return Prepared(change_id=current.pk, step_id=step.pk if step else 0, seq=seq)


# Answer of an action → the audit event it must leave, once.
ACTION_EVENT = {
    "approve": "approved",
    "reject": "rejected",
    "request_info": "info_requested",
    "reassign": "reassigned",
    "withdraw": "withdrawn",
    "reschedule": "rescheduled",
    "comment": "commented",
    "attachments": "attachment_added",
}
TERMINAL = {"rejected", "withdrawn"}


@dataclass
class RaceVerdict:
    lost: int = 0
    duplicated: int = 0
    double_transitions: int = 0
    problems: tuple[str, ...] = ()


def race_verdict(prepared: Prepared, answers: list[tuple[str, str, int | None]]) -> RaceVerdict:
    """answers: (user, action, status). Every 200 left exactly one event of its kind by its
    user, no event exists without its 200, and the raced step was decided at most once."""
    from approvals.models import AuditEvent, Decision

    events = list(
        AuditEvent.objects.filter(change_id=prepared.change_id, seq__gt=prepared.seq).values_list(
            "action", "actor__username"
        )
    )
    seen = Counter(events)
    ok = Counter((ACTION_EVENT[action], user) for user, action, status in answers if status == 200)
    unknown = Counter(
        (ACTION_EVENT[action], user) for user, action, status in answers if status is None
    )
    lost = sum(max(0, n - seen[key]) for key, n in ok.items())
    duplicated = sum(
        max(0, n - ok[key] - unknown[key])
        for key, n in seen.items()
        if key[0] in ACTION_EVENT.values()
    )
    decisions = Decision.objects.filter(step_id=prepared.step_id, voided=False).count()
    terminal = sum(n for (action, _), n in seen.items() if action in TERMINAL)
    doubles = max(0, decisions - 1) + max(0, terminal - 1)
    problems = []
    if lost or duplicated or doubles:
        problems.append(
            f"change {prepared.change_id}: answers {sorted(ok.items())}, events {sorted(seen.items())}, "
            f"decisions on step {prepared.step_id}: {decisions}"
        )
    return RaceVerdict(lost, duplicated, doubles, tuple(problems))


@dataclass
class Ledger:
    """Side effects, counted once everything has settled."""

    undelivered_events: int
    dead_letters_unexpected: int
    notifications_duplicated: int
    emails_unsent: int
    emails_awaiting_stale_claim: int
    webhooks_undelivered: int
    webhooks_awaiting_sweep: int


def side_effects(*, poisoned: set[int]) -> Ledger:
    from django.conf import settings
    from django.db.models import Count, Q
    from django.utils import timezone

    from approvals.models import AuditEvent
    from integrations.models import WebhookDelivery
    from integrations.webhooks import STALE_SENDING
    from notifications.emails import STALE_CLAIM
    from notifications.models import EventDispatch, Notification

    undelivered = 0
    for consumer in settings.AUDIT_EVENT_CONSUMERS:
        handed = EventDispatch.objects.filter(consumer=consumer).values("event")
        undelivered += AuditEvent.objects.exclude(pk__in=handed).count()
    unexpected_dead = (
        EventDispatch.objects.filter(status__in=["dead", "retrying"])
        .exclude(event_id__in=poisoned, consumer="soak.consumers.refuse_poisoned")
        .count()
    )
    duplicated = (
        Notification.objects.values("event", "user", "kind")
        .annotate(n=Count("pk"))
        .filter(n__gt=1, event__isnull=False)
        .count()
    )
    now = timezone.now()
    unsent = Notification.objects.filter(emailed_at__isnull=True).exclude(user__email="")
    awaiting = unsent.filter(email_claimed_at__gte=now - STALE_CLAIM).count()
    webhooks = WebhookDelivery.objects.exclude(status="delivered").exclude(
        subscription__name="hanging"
    )
    # A queued delivery whose message was lost waits QUEUED_GRACE for the sweep; one a dead
    # worker left "sending" waits STALE_SENDING: both by design, not lost.
    awaiting_sweep = webhooks.filter(
        Q(status="pending", next_attempt_at__gt=now)
        | Q(status="sending", sending_since__gte=now - STALE_SENDING)
    ).count()
    return Ledger(
        undelivered_events=undelivered,
        dead_letters_unexpected=unexpected_dead,
        notifications_duplicated=duplicated,
        emails_unsent=unsent.count() - awaiting,
        emails_awaiting_stale_claim=awaiting,
        webhooks_undelivered=webhooks.count() - awaiting_sweep,
        webhooks_awaiting_sweep=awaiting_sweep,
    )


def notification_message_ids() -> dict[str, int]:
    """Message-ID of every notification that should have been e-mailed → its notification."""
    from notifications.emails import message_id
    from notifications.models import Notification

    wanted = Notification.objects.exclude(user__email="").select_related("user")
    return {message_id(n): n.pk for n in wanted}


def subscribe_webhooks(*, receiver: str, hanging: str) -> None:
    from integrations.events import EVENT_TYPES
    from integrations.models import WebhookSubscription
    from integrations.webhooks import new_secret

    for name, url in (("receiver", receiver), ("hanging", hanging)):
        WebhookSubscription.objects.create(
            name=name, url=url, secret=new_secret(), event_types=list(EVENT_TYPES)
        )


def webhook_event_ids() -> set[str]:
    """webhook-id of every delivery the good receiver is owed."""
    from integrations.models import WebhookDelivery

    return {
        f"evt_{seq}"
        for seq in WebhookDelivery.objects.filter(subscription__name="receiver").values_list(
            "event__seq", flat=True
        )
    }


def comment_count(text: str) -> int:
    from approvals.models import AuditEvent, Comment

    rows = Comment.objects.filter(text=text).count()
    events = AuditEvent.objects.filter(action="commented", data__text=text).count()
    return max(rows, events) if rows == events else -1


def attachment_events(change_id: int) -> tuple[int, int, int]:
    """(attachment rows, their audit events, rows whose file is missing on disk)."""
    from approvals.models import Attachment, AuditEvent

    rows = list(Attachment.objects.filter(change_id=change_id))
    missing = sum(1 for row in rows if not row.file.storage.exists(row.file.name))
    events = AuditEvent.objects.filter(change_id=change_id, action="attachment_added").count()
    return len(rows), events, missing


def reminders_for(change_id: int) -> tuple[int, datetime | None]:
    from approvals.models import AuditEvent

    rows = AuditEvent.objects.filter(change_id=change_id, action="reminder_sent").order_by("seq")
    first = rows.values_list("occurred_at", flat=True).first()
    return rows.count(), first


def poisoned_events() -> set[int]:
    from approvals.models import AuditEvent
    from soak.consumers import POISON

    return set(
        AuditEvent.objects.filter(action="commented", data__text__startswith=POISON).values_list(
            "pk", flat=True
        )
    )


def poison_dead(event_ids: set[int]) -> tuple[int, int]:
    """(dead letters of the poisoned events in the refusing consumer, the same events delivered
    to every other consumer)."""
    from django.conf import settings

    from notifications.models import EventDispatch

    refusing = "soak.consumers.refuse_poisoned"
    dead = EventDispatch.objects.filter(
        event_id__in=event_ids, consumer=refusing, status="dead"
    ).count()
    others = [c for c in settings.AUDIT_EVENT_CONSUMERS if c != refusing]
    delivered = EventDispatch.objects.filter(
        event_id__in=event_ids, consumer__in=others, status="delivered"
    ).count()
    return dead, delivered // max(len(others), 1)
