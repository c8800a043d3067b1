"""Logs and error tracking: every log line names its request id, user and Celery task id;
Sentry is initialised only when SENTRY_DSN is set."""

import logging
from typing import Any

from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from approvals.middleware import current_request, current_request_id


def _username() -> str:
    request = current_request.get()
    user = request.__dict__.get("user") if request is not None else None
    if user is None:
        return ""
    # AuthenticationMiddleware sets a lazy user; loading it here would query the database from
    # inside logging (perhaps while reporting that the database is down), so only a user the
    # request already loaded is named.
    if isinstance(user, SimpleLazyObject) and getattr(user, "_wrapped", empty) is empty:
        return ""
    return user.get_username() if user.is_authenticated else ""


def _task_id() -> str:
    from celery import current_task

    request = getattr(current_task, "request", None) if current_task else None
    return getattr(request, "id", None) or ""


class ContextFilter(logging.Filter):
    """Adds request_id, user and task_id to every record (empty when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        try:
            record.user = _username()
        except Exception:  # a log line must never fail because its context could not be read
            record.user = ""
        record.task_id = _task_id()
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line; the context fields always present."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for name in ("request_id", "user", "task_id"):
            log_data.setdefault(name, getattr(record, name, ""))


def sentry_init(*, dsn: str, environment: str) -> None:
    """Report unhandled errors of web requests and Celery tasks to Sentry, without personal data
    (user ids only, no cookies, bodies or addresses)."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=0.0,
    )
