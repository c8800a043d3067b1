"""The policy engine: picks a route for a change and copies it onto the change as its steps."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _

from approvals.choices import (
    LEVELS,
    ApproverRule,
    ApproverSource,
    ChangeType,
    Role,
    StepKind,
    StepStatus,
)
from approvals.exceptions import InvalidInput
from approvals.models import (
    ApprovalStep,
    ChangeRequest,
    Department,
    Policy,
    PolicyStep,
    StepApprover,
)
from approvals.policy import exclusions

User = get_user_model()


def change_level(impact: str, risk: str = "") -> int:
    """The higher of impact and risk on one scale (low 1 … critical 4)."""
    return max(LEVELS.get(impact, 1), LEVELS.get(risk or "low", 1))


def is_cross_department(department_ids: set[int], requester_department_id: int | None) -> bool:
    """Two or more departments affected, the requester's own always counted."""
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

    @property
    def unstaffed(self) -> bool:
        return not self.seats


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


@dataclass(frozen=True)
class EscalationPools:
    """Who may take an escalated step: (id, username) of the active members, not auditors, of
    each escalation target loaded and of the CAB, by username."""

    groups: dict[int, list[tuple[int, str]]]
    cab: list[tuple[int, str]]

    def targets(self, escalation_group_id: int | None, excluded: set[int]) -> list[tuple[int, str]]:
        """The escalation target's members, else the CAB's, in both cases without anyone the
        segregation rules exclude. Empty when nobody is left: the step then waits for a change
        manager to reassign it."""
        first = self.groups.get(escalation_group_id, []) if escalation_group_id else []
        for pool in (first, self.cab):
            found = [(pk, name) for pk, name in pool if pk not in excluded]
            if found:
                return found
        return []


def escalation_pools(escalation_group_ids: Iterable[int | None]) -> EscalationPools:
    """The escalation candidates of these groups and of the CAB, in one query."""
    wanted = {pk for pk in escalation_group_ids if pk}
    rows = (
        User.objects.filter(Q(groups__in=wanted) | Q(groups__name=Role.CAB), is_active=True)
        .exclude(groups__name=Role.AUDITOR)
        .order_by("username", "groups__id")
        .values_list("groups__id", "groups__name", "pk", "username")
    )
    pools = EscalationPools(groups={pk: [] for pk in wanted}, cab=[])
    for group_id, group_name, pk, username in rows:
        if group_id in wanted:
            pools.groups[group_id].append((pk, username))
        if group_name == Role.CAB:
            pools.cab.append((pk, username))
    return pools


def escalation_targets(escalation_group_id: int | None, excluded: set[int]) -> list[int]:
    """Ids of who takes a step nobody on it may decide (`EscalationPools.targets`)."""
    pools = escalation_pools([escalation_group_id])
    return [pk for pk, _ in pools.targets(escalation_group_id, excluded)]


def plan_route(
    *,
    change: ChangeRequest,
    policy: Policy,
    departments: list[Department],
    requester_department: Department | None,
) -> list[PlannedStep]:
    """Resolve each step's deciders under the segregation rules (`policy.exclusions`); a step
    left with nobody goes to its escalation target, then the CAB, and is otherwise planned empty
    (flagged "no eligible approver" when it opens)."""
    cross = is_cross_department(
        {d.pk for d in departments}, requester_department.pk if requester_department else None
    )
    planned: list[PlannedStep] = []
    for rule in policy.steps.all():
        if rule.only_if_cross_department and not cross:
            continue
        excluded = set(exclusions(change, step_id=None, step_kind=rule.kind))
        users = _rule_user_ids(rule, requester_department, departments) - excluded
        seats: dict[int, str] = dict.fromkeys(sorted(users), ApproverSource.ROUTE.value)
        if not seats:
            fallback = escalation_targets(rule.escalation_group_id, excluded)
            seats = dict.fromkeys(fallback, ApproverSource.ESCALATION.value)
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
        escalated = bool(item.seats) and all(
            src == ApproverSource.ESCALATION for src in item.seats.values()
        )
        steps.append(
            ApprovalStep(
                change=change,
                round=change.round,
                order=position,
                name=rule.name,
                name_zh=rule.name_zh,
                kind=rule.kind,
                approver_rule=rule.approver_rule,
                quorum=rule.quorum,
                sla_hours=rule.sla_hours,
                escalation_group_id=rule.escalation_group_id,
                status=StepStatus.PENDING if opens else StepStatus.WAITING,
                opened_at=now if opens else None,
                due_at=due_at(now, rule.sla_hours) if opens else None,
                escalated_at=now if escalated else None,
                no_eligible_at=now if opens and item.unstaffed else None,
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
    "EscalationPools",
    "escalation_pools",
    "escalation_targets",
    "is_cross_department",
    "plan_route",
    "policy_for_change",
]
