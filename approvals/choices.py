from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ChangeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    ASSESSED = "assessed", _("Assessed")
    TIER_APPROVAL = "tier_approval", _("Tier approval")
    # The same English words as the step kind; in Chinese the state is 最终审批中.
    FINAL_APPROVAL = "final_approval", pgettext_lazy("change state", "Final approval")
    APPROVED = "approved", _("Approved")
    IMPLEMENTING = "implementing", _("Implementing")
    IMPLEMENTED = "implemented", _("Implemented")
    FAILED = "failed", _("Failed")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


APPROVAL_STATES = (ChangeState.TIER_APPROVAL, ChangeState.FINAL_APPROVAL)
OPEN_STATES = (
    ChangeState.DRAFT,
    ChangeState.SUBMITTED,
    ChangeState.ASSESSED,
    ChangeState.TIER_APPROVAL,
    ChangeState.FINAL_APPROVAL,
    ChangeState.APPROVED,
)
TERMINAL_STATES = (ChangeState.CLOSED, ChangeState.REJECTED, ChangeState.WITHDRAWN)


class ChangeType(models.TextChoices):
    NORMAL = "normal", _("Normal change")
    EMERGENCY = "emergency", _("Emergency change")
    STANDARD = "standard", _("Standard change")


class Impact(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Risk(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


# Impact and risk share one scale so that "the higher of impact and risk" is a comparison.
LEVELS = {"low": 1, "medium": 2, "high": 3, "critical": 4}


class Level(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


class Category(models.TextChoices):
    SOFTWARE_UPGRADE = "software_upgrade", _("Software upgrade")
    PROCESS = "process", _("Process optimisation")
    INFRASTRUCTURE = "infrastructure", _("Infrastructure")
    SECURITY = "security", _("Security patch")
    OTHER = "other", _("Other")


class StepKind(models.TextChoices):
    TIER = "tier", _("Approval tier")
    FINAL = "final", _("Final approval")
    RETROSPECTIVE = "retrospective", _("Retrospective review")


class StepStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SKIPPED = "skipped", _("Skipped")


class ApproverRule(models.TextChoices):
    GROUPS = "groups", _("Members of the step's groups")
    REQUESTER_DEPARTMENT_HEAD = "requester_department_head", _("Head of the requester's department")
    OTHER_DEPARTMENT_HEADS = "other_department_heads", _("Heads of the other affected departments")


class DecisionKind(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REQUEST_INFO = "request_info", _("Request information")


class ReviewOutcome(models.TextChoices):
    """What a post-implementation or retrospective review concluded."""

    ACCEPTED = "accepted", _("Accepted")
    FOLLOW_UP = "follow_up", _("Follow-up actions")


class TemplateStatus(models.TextChoices):
    """A standard-change template is usable only while approved."""

    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


class ApproverSource(models.TextChoices):
    ROUTE = "route", _("Named by the route")
    ESCALATION = "escalation", _("Escalation target")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILED = "failed", _("Failed")


class Role(models.TextChoices):
    """Django group names of the roles in PRODUCT.md."""

    REQUESTER = "requester", _("Requester")
    ASSESSOR = "assessor", _("Assessor")
    APPROVER = "approver", _("Approver")
    IMPLEMENTER = "implementer", _("Implementer")
    AUDITOR = "auditor", _("Auditor")
    CHANGE_MANAGER = "change_manager", _("Change manager")
    CAB = "cab", _("CAB / senior management")
    TECHNICAL_EXPERT = "technical_expert", _("Technical expert")
    RISK_REVIEWER = "risk_reviewer", _("Risk assessment")
    EXTERNAL_EXPERT = "external_expert", _("External expert")


class AuditAction(models.TextChoices):
    """Every kind of audit event. Recorders in `approvals.audit` write them; consumers
    (notifications, webhooks, verification) match on these values, never on literals."""

    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Submitted")
    ASSESSED = "assessed", _("Assessed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    INFO_REQUESTED = "info_requested", _("Information requested")
    REASSIGNED = "reassigned", _("Approver reassigned")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    STARTED = "started", _("Started")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    COMMENTED = "commented", _("Commented")
    ATTACHMENT_ADDED = "attachment_added", _("File attached")
    REMINDED = "reminder_sent", _("Reminder sent")
    ESCALATED = "escalated", _("Escalated")
    NO_ELIGIBLE_APPROVER = "no_eligible_approver", _("No eligible approver")
    DELEGATION_CREATED = "delegation_created", _("Delegation created")
    DELEGATION_ENDED = "delegation_ended", _("Delegation ended")
    DELEGATION_CANCELLED = "delegation_cancelled", _("Delegation cancelled")
    CONFIGURATION_CHANGED = "configuration_changed", _("Configuration changed")
    TEMPLATE_APPROVED = "template_approved", _("Template approved")
    TEMPLATE_SUSPENDED = "template_suspended", _("Template suspended")
    TEMPLATE_RETIRED = "template_retired", _("Template retired")
    ROLES_CHANGED = "roles_changed", _("Roles changed")
