"""Thin, idempotent tasks: each calls one service and is safe to run twice or at once."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from notifications import emails, sla

SLA_SCAN_TASK = "notifications.sla_scan"
SLA_ACT_TASK = "notifications.sla_act"
SEND_PENDING_EMAILS_TASK = "notifications.send_pending_emails"

_RETRY = {"autoretry_for": (OperationalError, InterfaceError), **settings.TASK_RETRY_POLICY}


@shared_task(name=SLA_SCAN_TASK, **_RETRY)
def sla_scan() -> int:
    """Every minute: reminders at 50 % and 100 % of each open step's SLA, then escalation,
    until the backlog is done (or SLA_SCAN_MAX_SECONDS have passed)."""
    return sla.sla_scan()


@shared_task(name=SLA_ACT_TASK, **_RETRY)
def sla_act(step_id: int, level: str) -> int | None:
    """One reminder or escalation of one step (for an operator re-running a single one)."""
    event = sla.step_sla_act(step_id=step_id, level=level)
    return event.pk if event else None


@shared_task(name=SEND_PENDING_EMAILS_TASK, **_RETRY)
def send_pending_emails() -> int:
    """E-mails that could not be sent right after their event (SMTP down) get another try."""
    return emails.send_pending()
