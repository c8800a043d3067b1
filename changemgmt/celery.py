"""The Celery app. Configuration comes from Django settings (namespace CELERY): Redis as broker
and result backend when REDIS_URL is set, otherwise kombu's filesystem transport under
var/broker, so `make run` starts a real worker and beat with no servers to install."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "changemgmt.settings.local")

app = Celery("changemgmt")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each installed app's tasks module (notifications.tasks: SLA scan, e-mail sweep)…
app.autodiscover_tasks()
# …and the audit trail's own jobs, which live beside their services: the outbox drain
# ("approvals.dispatch_events") and the hourly audit snapshot ("approvals.audit_snapshot").
app.autodiscover_tasks(lambda: ["approvals"], related_name="outbox")
app.autodiscover_tasks(lambda: ["approvals"], related_name="snapshots")
# Signed checkpoints and verification runs of the audit trail ("approvals.audit_checkpoint",
# "approvals.audit_verify").
app.autodiscover_tasks(lambda: ["approvals.evidence"], related_name="tasks")
