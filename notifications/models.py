from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.outbox import DispatchStatus


class NotificationKind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted for assessment")
    STEP_OPENED = "step_opened", _("Waiting for your decision")
    REMINDER = "reminder", _("Reminder")
    ESCALATION = "escalation", _("Escalation")
    DECISION = "decision", _("Decision")
    OUTCOME = "outcome", _("Final outcome")
    APPROVED = "approved", _("Approved, ready to implement")
    RETROSPECTIVE_DUE = "retrospective_due", _("Retrospective review due")
    MENTIONED = "mentioned", _("Mentioned in a comment")


class Notification(models.Model):
    """One message to one person, shown in the app and sent by e-mail."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    change = models.ForeignKey(
        "approvals.ChangeRequest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # The audit event that caused it: with the unique constraint below, replaying an event never
    # notifies anyone twice.
    event = models.ForeignKey(
        "approvals.AuditEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What to say, not how: the sentence is composed from the kind and these values (change key,
    # who acted, step names in both languages, state, decision, …) in the reader's language.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    # Set by the worker that is sending it; a claim older than emails.STALE_CLAIM belongs to a
    # worker that died, and the sweep sends the e-mail again (at least once, never lost).
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "kind"], name="notification_once_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["user", "read_at"]),
            models.Index(fields=["emailed_at", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for user {self.user_id}: {self.params.get('key', '')}"


class EventDispatch(models.Model):
    """Ledger of the outbox: where one audit event stands with one consumer.

    A row exists once the consumer was given the event: delivered, retrying after a failure
    (with the attempts made and the last error), dead after OUTBOX_MAX_ATTEMPTS failures (a change
    manager retries or dismisses it), or dismissed. Events without a row are still to be handed
    over.
    """

    event = models.ForeignKey("approvals.AuditEvent", on_delete=models.PROTECT, related_name="+")
    consumer = models.CharField(max_length=200)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DispatchStatus.choices,
        default=DispatchStatus.DELIVERED,
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    last_error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event dispatch")
        verbose_name_plural = _("event dispatches")
        constraints = [
            models.UniqueConstraint(fields=["event", "consumer"], name="event_dispatched_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"event #{self.event_id} → {self.consumer} ({self.status})"


class EventDispatchFloor(models.Model):
    """Every event below `below_seq` has a ledger row for `consumer`: the drain looks from here,
    so its work stays bounded however long the audit trail grows, and nothing is skipped."""

    consumer = models.CharField(max_length=200, unique=True)
    below_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.consumer} from #{self.below_seq}"


class SlaLevel(models.TextChoices):
    HALF = "reminder_50", _("Reminder at 50 % of the SLA")
    DUE = "reminder_100", _("Reminder at 100 % of the SLA")
    ESCALATION = "escalation", _("Escalation")


class SlaAction(models.Model):
    """Ledger of reminders and escalations: each (step, level) happens once, whatever the scans.

    `event` is empty when a half-time reminder was superseded (the step was already overdue).
    """

    step = models.ForeignKey(
        "approvals.ApprovalStep", on_delete=models.CASCADE, related_name="sla_actions"
    )
    level = models.CharField(max_length=16, choices=SlaLevel.choices)
    event = models.ForeignKey(
        "approvals.AuditEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("SLA action")
        verbose_name_plural = _("SLA actions")
        constraints = [
            models.UniqueConstraint(fields=["step", "level"], name="sla_action_once_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.level} of step {self.step_id}"
