"""Side effects after commit. Audit events are the outbox: every action writes one in its own
transaction, and a task turns committed, not yet dispatched events into notifications and
webhooks. After commit we only nudge that task; if the broker is down, the periodic drain
picks the events up later, so nothing is lost and nothing is sent twice."""

import logging

from django.db import transaction

log = logging.getLogger(__name__)

DISPATCH_TASK = "approvals.dispatch_events"


def _kick() -> None:
    from changemgmt.celery import app

    try:
        app.send_task(DISPATCH_TASK, retry=False)
    except Exception:  # the broker is down: the periodic drain will deliver
        log.warning(
            "could not queue %s; the periodic drain will deliver", DISPATCH_TASK, exc_info=True
        )


def events_recorded() -> None:
    """Call inside an action's transaction: dispatch runs only if and when it commits."""
    transaction.on_commit(_kick)
