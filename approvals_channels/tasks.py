"""Thin, idempotent tasks: each calls one service and is safe to run twice or at once."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from approvals_channels import chat, mail

SEND_PENDING_CHAT_TASK = "approvals_channels.send_pending_chat"
SEND_DIGESTS_TASK = "approvals_channels.send_digests"

_RETRY = {"autoretry_for": (OperationalError, InterfaceError), **settings.TASK_RETRY_POLICY}


@shared_task(name=SEND_PENDING_CHAT_TASK, **_RETRY)
def send_pending_chat() -> int:
    """Every minute: chat messages that failed or waited for quiet hours to end."""
    return chat.send_pending()


@shared_task(name=SEND_DIGESTS_TASK, **_RETRY)
def send_digests() -> int:
    """Every hour: the daily digest e-mails whose hour has come in their reader's time zone."""
    return mail.send_digests()
