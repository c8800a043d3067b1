"""The policy engine: picks a route for a change and copies it onto the change as its steps."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from approvals.choices import LEVELS, ApproverRule, ApproverSource, ChangeType, StepKind, StepStatus
from approvals.exceptions import InvalidInput
from approvals.models import (
    ApprovalStep,
    ChangeRequest,
    Department,
    Policy,
    PolicyStep,
    StepApprover,
)

User = get_user_model()


def change_level(impact: str, risk: str = "") -> int:
    """The higher of impact and risk on one scale (low 1 … critical 4)."""
    return max(LEVELS.get(impact, 1), LEVELS.get(risk or "low", 1))


def is_cross_department(department_ids: set[int], requester_department_id: int | None) -> bool:
    return len(department_ids | ({requester_department_id} - {None})) >= 2


def choose_policy(change_type: str, level: int) -> Policy:
    steps = PolicyStep.objects.select_related("escalation_group").prefetch_related("groups")
    policy = (
        Policy.objects.filter(
            change_type=change_type, is_active=True, min_level__lte=level, max_level__gte=level
        )
        .prefetch_related(Prefetch("steps", queryset=steps.order_by("order")))
        .order_by("priority", "pk")
        .first()
    )
    if policy is None:
        raise InvalidInput(
            _("No active policy covers %(type)s changes at this level; ask a change manager.")
            % {"type": change_type}
        )
    return policy


@dataclass
class PlannedStep:
    template: PolicyStep
    seats: dict[int, str] = field(default_factory=dict)  # user id -> source


def _rule_user_ids(
    rule: PolicyStep, requester_department: Department | None, departments: list[Department]
) -> set[int]:
    if rule.approver_rule == ApproverRule.REQUESTER_DEPARTMENT_HEAD:
        return (
            {requester_department.head_id}
            if requester_department and requester_department.head_id
            else set()
        )
    if rule.approver_rule == ApproverRule.OTHER_DEPARTMENT_HEADS:
        return {
            d.head_id
            for d in departments
            if d.head_id and (requester_department is None or d.pk != requester_department.pk)
        }
    group_ids = [g.pk for g in rule.groups.all()]
    return set(
        User.objects.filter(groups__in=group_ids, is_active=True).values_list("pk", flat=True)
    )


def plan_route(
    *,
    change: ChangeRequest,
    policy: Policy,
    departments: list[Department],
    requester_department: Department | None,
) -> list[PlannedStep]:
    """Resolve each step's deciders. Segregation of duties removes the requester everywhere and the
    implementer from final approval; a step left with nobody goes to its escalation target."""
    cross = (
        len(
            {d.pk for d in departments}
            | ({requester_department.pk} if requester_department else set())
        )
        >= 2
    )
    planned: list[PlannedStep] = []
    for rule in policy.steps.all():
        if rule.only_if_cross_department and not cross:
            continue
        excluded = {change.requester_id}
        if rule.kind == StepKind.FINAL and change.implementer_id:
            excluded.add(change.implementer_id)
        users = _rule_user_ids(rule, requester_department, departments) - excluded
        seats: dict[int, str] = dict.fromkeys(users, ApproverSource.ROUTE.value)
        if not seats:
            fallback = (
                set(
                    User.objects.filter(
                        groups=rule.escalation_group_id, is_active=True
                    ).values_list("pk", flat=True)
                )
                - excluded
            )
            seats = dict.fromkeys(fallback, ApproverSource.ESCALATION.value)
        if not seats:
            raise InvalidInput(
                _(
                    "Nobody may decide the step “%(step)s” of policy “%(policy)s”; ask a change manager to fix the policy or its groups."
                )
                % {"step": rule.name, "policy": policy.name}
            )
        planned.append(PlannedStep(template=rule, seats=seats))
    return planned


def due_at(opened_at: datetime, sla_hours: int) -> datetime:
    return opened_at + timedelta(hours=sla_hours * settings.SLA_SCALE)


def create_steps(
    *, change: ChangeRequest, planned: list[PlannedStep], now: datetime
) -> list[ApprovalStep]:
    """Copy the planned route onto the change and open its first step."""
    steps = []
    for position, item in enumerate(planned, start=1):
        rule = item.template
        opens = position == 1 and rule.kind != StepKind.RETROSPECTIVE
        escalated = all(src == ApproverSource.ESCALATION for src in item.seats.values())
        steps.append(
            ApprovalStep(
                change=change,
                round=change.round,
                order=position,
                name=rule.name,
                kind=rule.kind,
                approver_rule=rule.approver_rule,
                quorum=rule.quorum,
                sla_hours=rule.sla_hours,
                escalation_group_id=rule.escalation_group_id,
                status=StepStatus.PENDING if opens else StepStatus.WAITING,
                opened_at=now if opens else None,
                due_at=due_at(now, rule.sla_hours) if opens else None,
                escalated_at=now if escalated else None,
            )
        )
    ApprovalStep.objects.bulk_create(steps)
    StepApprover.objects.bulk_create(
        StepApprover(step=step, user_id=user_id, source=source)
        for step, item in zip(steps, planned, strict=True)
        for user_id, source in item.seats.items()
    )
    return steps


def policy_for_change(change: ChangeRequest) -> Policy:
    return choose_policy(change.change_type, change_level(change.impact, change.risk))


__all__ = [
    "ChangeType",
    "change_level",
    "choose_policy",
    "create_steps",
    "plan_route",
    "policy_for_change",
]
