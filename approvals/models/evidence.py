import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditCheckpoint(models.Model):
    """A copy, for pages and the API, of a checkpoint written to the checkpoint directory. The
    file is the evidence; verification reads the files, never these rows."""

    number = models.PositiveIntegerField(unique=True)
    tree_size = models.BigIntegerField()
    root = models.CharField(max_length=64)
    last_seq = models.BigIntegerField(null=True)
    signed_at = models.DateTimeField()
    file_name = models.CharField(max_length=200)
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=100)
    # "" (no witness configured), "sent", or why the witness did not take it.
    witness = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-number"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        triggers = [
            pgtrigger.Protect(
                name="audit_checkpoint_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.number}: {self.tree_size} events"


class VerificationStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    ERROR = "error", _("could not run")


class AuditVerification(models.Model):
    """One run of the audit trail's verification, started by an auditor or by beat."""

    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=8, choices=VerificationStatus.choices, default=VerificationStatus.QUEUED
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(null=True)
    events_checked = models.BigIntegerField(default=0)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    # The signed checkpoint the trail was compared with (tree size, root, time, file), if any.
    checkpoint = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("audit verification")
        verbose_name_plural = _("audit verifications")
        indexes = [models.Index(fields=["status", "finished_at"])]

    def __str__(self) -> str:
        return f"verification {self.pk}: {self.status}"
