import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

SYSTEM_CHAIN = "system"


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail.

    Each change has its own chain (serialised by the change's row lock, so unrelated changes never
    wait for each other); events without a change form the system chain.
    """

    seq = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(_("actor"), max_length=150, blank=True)
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    on_behalf_of_name = models.CharField(_("on behalf of"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    change = models.ForeignKey(
        "approvals.ChangeRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    from_state = models.CharField(_("from state"), max_length=16, blank=True)
    to_state = models.CharField(_("to state"), max_length=16, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    snapshot = models.JSONField(_("change snapshot"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    chain = models.CharField(max_length=32, db_index=True)
    chain_index = models.PositiveIntegerField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        constraints = [
            models.UniqueConstraint(fields=["chain", "chain_index"], name="audit_chain_position")
        ]
        indexes = [
            models.Index(fields=["change", "seq"]),
            models.Index(fields=["actor_name", "seq"]),
        ]
        triggers = [
            pgtrigger.Protect(
                name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            pgtrigger.Trigger(
                name="audit_no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE refused';",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name or 'system'}"


class AuditChainHead(models.Model):
    """Head of a chain that has no change row to carry it (the system chain)."""

    chain = models.CharField(max_length=32, primary_key=True)
    length = models.PositiveIntegerField(default=0)
    head = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"{self.chain}: {self.length} events"


class AuditSnapshot(models.Model):
    """A periodic seal over a range of the trail: count and a digest of every event hash in it."""

    created_at = models.DateTimeField(auto_now_add=True)
    first_seq = models.BigIntegerField(null=True)
    last_seq = models.BigIntegerField(null=True)
    event_count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    chain_heads = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit snapshot")
        verbose_name_plural = _("audit snapshots")
        triggers = [
            pgtrigger.Protect(
                name="audit_snapshot_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
            pgtrigger.Trigger(
                name="audit_snapshot_no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'audit snapshots are append-only: TRUNCATE refused';",
            ),
        ]

    def __str__(self) -> str:
        return f"snapshot #{self.first_seq}–#{self.last_seq} ({self.event_count} events)"
