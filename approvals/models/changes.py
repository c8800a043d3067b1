from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from approvals.choices import (
    APPROVAL_STATES,
    OPEN_STATES,
    ApproverRule,
    ApproverSource,
    Category,
    ChangeState,
    ChangeType,
    DecisionKind,
    Impact,
    Outcome,
    ReviewOutcome,
    Risk,
    StepKind,
    StepStatus,
)
from approvals.naming import change_key

S = ChangeState


class ChangeRequest(FSMModelMixin, models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    goal = models.TextField(_("goal"), blank=True)
    scope = models.TextField(_("scope"), blank=True)
    expected_impact = models.TextField(_("expected impact"), blank=True)
    change_type = models.CharField(_("change type"), max_length=16, choices=ChangeType.choices)
    template = models.ForeignKey(
        "approvals.ChangeTemplate",
        verbose_name=_("standard change template"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="changes",
    )
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, blank=True)
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    risk = models.CharField(_("risk"), max_length=16, choices=Risk.choices, blank=True)
    departments = models.ManyToManyField(
        "approvals.Department", verbose_name=_("affected departments"), related_name="changes"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        related_name="requested_changes",
    )
    implementer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("implementer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="implemented_changes",
    )
    planned_start = models.DateTimeField(_("planned start"), null=True, blank=True)
    planned_end = models.DateTimeField(_("planned end"), null=True, blank=True)
    backout_plan = models.TextField(_("backout plan"), blank=True)
    test_plan = models.TextField(_("test plan"), blank=True)

    state = FSMField(
        _("state"), default=S.DRAFT, choices=ChangeState.choices, protected=True, db_index=True
    )
    # Each request_info starts a new round; steps of earlier rounds keep their (void) decisions.
    round = models.PositiveIntegerField(default=0)
    policy_name = models.CharField(_("policy"), max_length=100, blank=True)
    policy_name_zh = models.CharField(_("policy (Chinese)"), max_length=100, blank=True)
    pre_approved = models.BooleanField(_("pre-approved"), default=False)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessment_notes = models.TextField(_("assessment notes"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)
    completion_notes = models.TextField(_("implementation notes"), blank=True)
    feedback_summary = models.TextField(_("feedback summary"), blank=True)
    feedback_lessons = models.TextField(_("lessons learned"), blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    # Head of this change's audit hash chain; the row lock every action holds serialises the chain.
    audit_length = models.PositiveIntegerField(default=0, editable=False)
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True)
                | Q(planned_start__isnull=True)
                | Q(planned_end__gt=F("planned_start")),
                name="change_planned_end_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["requester", "state"]),
            models.Index(fields=["state", "planned_start"]),
            models.Index(fields=["-updated_at"]),
            models.Index(fields=["-created_at", "-id"], name="change_newest_first"),
            # Conflict detection: scheduled changes only (the states of policy.SCHEDULED_STATES).
            models.Index(
                fields=["planned_start", "planned_end"],
                condition=Q(
                    state__in=[
                        S.SUBMITTED,
                        S.ASSESSED,
                        S.TIER_APPROVAL,
                        S.FINAL_APPROVAL,
                        S.APPROVED,
                        S.IMPLEMENTING,
                    ]
                ),
                name="change_scheduled_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def key(self) -> str:
        return change_key(self.pk) if self.pk else "CHG-new"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # --- transitions: they set fields on self and nothing else -------------------------------

    @transition(
        field=state, source=S.DRAFT, target=RETURN_VALUE(S.SUBMITTED, S.FINAL_APPROVAL, S.APPROVED)
    )
    def submit(self) -> str:
        now = timezone.now()
        self.submitted_at = now
        if self.change_type == ChangeType.EMERGENCY:
            return S.FINAL_APPROVAL
        if self.change_type == ChangeType.STANDARD:
            self.pre_approved = True
            self.approved_at = now
            return S.APPROVED
        return S.SUBMITTED

    @transition(field=state, source=S.SUBMITTED, target=S.ASSESSED)
    def assess(self, *, assessor_id: int, impact: str, risk: str, notes: str) -> None:
        self.impact = impact
        self.risk = risk
        self.assessment_notes = notes
        self.assessed_by_id = assessor_id
        self.assessed_at = timezone.now()

    @transition(
        field=state, source=S.ASSESSED, target=RETURN_VALUE(S.TIER_APPROVAL, S.FINAL_APPROVAL)
    )
    def open_route(self, *, first_kind: str) -> str:
        return S.FINAL_APPROVAL if first_kind == StepKind.FINAL else S.TIER_APPROVAL

    @transition(field=state, source=S.TIER_APPROVAL, target=S.FINAL_APPROVAL)
    def enter_final(self) -> None:
        pass

    @transition(field=state, source=S.FINAL_APPROVAL, target=S.APPROVED)
    def grant(self) -> None:
        self.approved_at = timezone.now()

    @transition(field=state, source=[S.SUBMITTED, *APPROVAL_STATES], target=S.REJECTED)
    def reject(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=[S.SUBMITTED, *APPROVAL_STATES], target=S.DRAFT)
    def return_for_information(self) -> None:
        self.round += 1
        self.policy_name = ""
        self.policy_name_zh = ""
        self.submitted_at = None

    @transition(field=state, source=S.APPROVED, target=S.FINAL_APPROVAL)
    def reschedule(self, *, planned_start: datetime, planned_end: datetime) -> None:
        self.planned_start = planned_start
        self.planned_end = planned_end
        self.approved_at = None

    @transition(field=state, source=list(OPEN_STATES), target=S.WITHDRAWN)
    def withdraw(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=S.APPROVED, target=S.IMPLEMENTING)
    def start(self) -> None:
        self.started_at = timezone.now()

    @transition(field=state, source=S.IMPLEMENTING, target=RETURN_VALUE(S.IMPLEMENTED, S.FAILED))
    def complete(self, *, outcome: str, notes: str) -> str:
        self.outcome = outcome
        self.completion_notes = notes
        self.completed_at = timezone.now()
        return S.IMPLEMENTED if outcome == Outcome.SUCCESS else S.FAILED

    @transition(field=state, source=[S.IMPLEMENTED, S.FAILED], target=S.CLOSED)
    def close(self, *, summary: str, lessons: str) -> None:
        self.feedback_summary = summary
        self.feedback_lessons = lessons
        self.closed_at = timezone.now()


class ApprovalStep(models.Model):
    """One step of a change's route, copied from its policy so later policy edits never reach it."""

    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="steps")
    round = models.PositiveIntegerField(default=0)
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=StepKind.choices)
    approver_rule = models.CharField(max_length=32, choices=ApproverRule.choices)
    quorum = models.CharField(max_length=8, default="any")
    sla_hours = models.PositiveIntegerField()
    escalation_group = models.ForeignKey(
        "auth.Group", null=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=StepStatus.choices, default=StepStatus.WAITING, db_index=True
    )
    opened_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Set while segregation of duties leaves nobody to decide the step: it waits on the change
    # manager's queue for a reassignment and never collapses onto one person.
    no_eligible_at = models.DateTimeField(null=True, blank=True)
    approvers: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="StepApprover", related_name="approval_steps"
    )

    class Meta:
        ordering = ["change", "round", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["change", "round", "order"], name="step_order_unique_per_round"
            )
        ]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.change_id}/{self.round}/{self.order} {self.name}"


class StepApprover(models.Model):
    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="seats")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(
        max_length=16, choices=ApproverSource.choices, default=ApproverSource.ROUTE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "user"], name="step_approver_unique")
        ]
        indexes = [models.Index(fields=["user", "step"])]

    def __str__(self) -> str:
        return f"user {self.user_id} on step {self.step_id} ({self.source})"


class Decision(models.Model):
    step = models.ForeignKey(ApprovalStep, on_delete=models.PROTECT, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions"
    )
    # The seat used: the approver's own, or the absent approver's when acting as delegate.
    seat = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=DecisionKind.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField(default=timezone.now)
    escalated = models.BooleanField(default=False)
    # Void decisions stay on record (request for information, a re-opened final approval) but no
    # longer count, so the seat may be decided again.
    voided = models.BooleanField(default=False)
    # Reviews (kind "retrospective") record what they concluded.
    review_outcome = models.CharField(
        max_length=16, choices=ReviewOutcome.choices, blank=True, default=""
    )
    follow_up_actions = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["decided_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["step", "seat"],
                condition=Q(voided=False),
                name="one_live_decision_per_seat",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} by user {self.approver_id} on step {self.step_id}"


class Comment(models.Model):
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment {self.pk} on change {self.change_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    return f"changes/{instance.change_id}/{instance.sha256[:16]}-{filename}"


class Attachment(models.Model):
    change = models.ForeignKey(ChangeRequest, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
