"""Seed a realistic trail of changes with COPY, in batches, whatever the size.

Every change lives its life through the model's own transitions (submit, assess, grant, reject,
return_for_information, withdraw, start, complete, close), on the route its live policy gives it,
with decisions, comments and an audit chain hashed by `approvals.audit.compute_hash`. Changes are
spread over two years; a change stops where "now" finds it, so recent changes are open and old
ones closed, and a few stalled ones stay open (drafts never sent, steps nobody decides).

Memory stays flat: rows are built for one batch of changes, sent with COPY and dropped.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from approvals import audit, demo
from approvals.choices import (
    LEVELS,
    ApproverRule,
    ApproverSource,
    Category,
    ChangeState,
    ChangeType,
    DecisionKind,
    Impact,
    Outcome,
    Risk,
    Role,
    StepKind,
    StepStatus,
    TemplateStatus,
)
from approvals.models import (
    ApprovalStep,
    AuditEvent,
    ChangeRequest,
    ChangeTemplate,
    Comment,
    Decision,
    Department,
    Policy,
    Profile,
    StepApprover,
)
from bench.copyrows import CopyTable, flush_all
from bench.progress import Progress

User = get_user_model()
S = ChangeState

BATCH = 1000
SPAN_DAYS = 730
# Share of changes that stop early and stay open whatever their age.
STALL_SHARE = 0.04
REQUESTERS_PER_CHANGE = 1 / 250
# alice and bob request a fixed share each: "a requester's list" is measured on alice.
NAMED_REQUESTER_SHARE = 0.01
# Whose department head decides the first step of the changes added for decision measurements.
POOL_DEPARTMENT = "FIN"


@dataclass
class Rule:
    """A policy step with the seats it resolves to, loaded once."""

    name: str
    kind: str
    approver_rule: str
    quorum: str
    sla_hours: int
    escalation_group_id: int
    cross_only: bool
    group_user_ids: list[int]
    escalation_user_ids: list[int]


@dataclass
class World:
    """Everything the seeder reads from the database before it starts."""

    usernames: dict[int, str]
    by_name: dict[str, int]
    departments: dict[int, tuple[str, int | None]]  # id -> (code, head id)
    requesters: list[tuple[int, int]]  # (user id, department id)
    policies: dict[tuple[str, int], tuple[str, list[Rule]]]
    templates: list[ChangeTemplate]
    pool_requesters: list[tuple[int, int]]  # requesters of POOL_DEPARTMENT but alice and bob

    def route_for(self, change_type: str, level: int) -> tuple[str, list[Rule]]:
        return self.policies[(change_type, level)]


def ensure_organisation(*, changes: int) -> World:
    """The demo organisation and policies, plus enough requesters for the size asked."""
    demo.seed(blackout=False)
    wanted = max(8, int(changes * REQUESTERS_PER_CHANGE))
    existing = set(
        User.objects.filter(username__startswith="req").values_list("username", flat=True)
    )
    departments = list(Department.objects.order_by("code"))
    password = make_password(demo.DEMO_PASSWORD)
    new_users = [
        User(username=f"req{n:05d}", password=password, email=f"req{n:05d}@example.com")
        for n in range(1, wanted + 1)
        if f"req{n:05d}" not in existing
    ]
    User.objects.bulk_create(new_users, batch_size=2000)
    requester_group = Group.objects.get(name=Role.REQUESTER)
    created = User.objects.filter(username__in=[u.username for u in new_users])
    Membership = User.groups.through
    Membership.objects.bulk_create(
        [
            Membership(user_id=pk, group_id=requester_group.pk)
            for pk in created.values_list("pk", flat=True)
        ],
        batch_size=2000,
    )
    Profile.objects.bulk_create(
        [
            Profile(user_id=pk, department=departments[pk % len(departments)])
            for pk in created.values_list("pk", flat=True)
        ],
        batch_size=2000,
    )
    return load_world()


def load_world() -> World:
    usernames = dict(User.objects.values_list("pk", "username"))
    by_name = {name: pk for pk, name in usernames.items()}
    departments = {d.pk: (d.code, d.head_id) for d in Department.objects.all()}
    requesters = list(
        Profile.objects.filter(user__groups__name=Role.REQUESTER, department__isnull=False)
        .order_by("user_id")
        .values_list("user_id", "department_id")
    )
    members: dict[int, list[int]] = {}
    for user_id, group_id in User.groups.through.objects.filter(user__is_active=True).values_list(
        "user_id", "group_id"
    ):
        members.setdefault(group_id, []).append(user_id)
    policies: dict[tuple[str, int], tuple[str, list[Rule]]] = {}
    for policy in (
        Policy.objects.filter(is_active=True)
        .prefetch_related("steps__groups")
        .order_by("-priority", "-pk")
    ):
        rules = [
            Rule(
                name=step.name,
                kind=step.kind,
                approver_rule=step.approver_rule,
                quorum=step.quorum,
                sla_hours=step.sla_hours,
                escalation_group_id=step.escalation_group_id,
                cross_only=step.only_if_cross_department,
                group_user_ids=sorted(
                    {u for g in step.groups.all() for u in members.get(g.pk, [])}
                ),
                escalation_user_ids=sorted(members.get(step.escalation_group_id, [])),
            )
            for step in sorted(policy.steps.all(), key=lambda s: s.order)
        ]
        for level in range(policy.min_level, policy.max_level + 1):
            policies[(policy.change_type, level)] = (policy.name, rules)  # lowest priority wins
    # Changes to decide come from Finance, so the inbox measured (the head of IT's) stays the
    # seeded one however many of them a run adds.
    pool_department = Department.objects.get(code=POOL_DEPARTMENT).pk
    named = {by_name.get("alice"), by_name.get("bob")}
    return World(
        pool_requesters=[(u, d) for u, d in requesters if d == pool_department and u not in named],
        usernames=usernames,
        by_name=by_name,
        departments=departments,
        requesters=requesters,
        policies=policies,
        templates=list(
            ChangeTemplate.objects.filter(status=TemplateStatus.APPROVED).order_by("pk")
        ),
    )


class Ids:
    """Primary keys handed out by the seeder (rows are COPYed with their ids)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}
        for model in (ChangeRequest, ApprovalStep, StepApprover, Decision, Comment):
            self.next[model.__name__] = _max_pk(model) + 1
        self.next["departments"] = _max_pk(ChangeRequest.departments.through) + 1

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


def _max_pk(model: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(MAX({connection.ops.quote_name(model._meta.pk.column)}), 0) "
            f"FROM {connection.ops.quote_name(model._meta.db_table)}"
        )
        return int(cursor.fetchone()[0])


@dataclass
class Tables:
    changes: CopyTable = field(default_factory=lambda: CopyTable(ChangeRequest))
    departments: CopyTable = field(
        default_factory=lambda: CopyTable(ChangeRequest.departments.through)
    )
    steps: CopyTable = field(default_factory=lambda: CopyTable(ApprovalStep))
    seats: CopyTable = field(default_factory=lambda: CopyTable(StepApprover))
    decisions: CopyTable = field(default_factory=lambda: CopyTable(Decision))
    comments: CopyTable = field(default_factory=lambda: CopyTable(Comment))
    events: CopyTable = field(default_factory=lambda: CopyTable(AuditEvent, with_pk=False))

    def in_order(self) -> list[CopyTable]:
        # Parents before children: the foreign keys are checked row by row.
        return [
            self.changes,
            self.departments,
            self.steps,
            self.seats,
            self.decisions,
            self.comments,
            self.events,
        ]


class Stop(Exception):
    """The change's next moment lies in the future (or it stalls): it stays where it is."""


class Life:
    """One change living its life: every moment advances its clock and appends to its chain."""

    def __init__(self, *, world: World, ids: Ids, rng: random.Random, now: datetime) -> None:
        self.world = world
        self.ids = ids
        self.rng = rng
        self.now = now
        self.change = ChangeRequest()
        self.steps: list[ApprovalStep] = []
        self.seats: list[StepApprover] = []
        self.seat_map: dict[int, dict[int, str]] = {}  # step id -> user id -> source
        self.decisions: list[Decision] = []
        self.comments: list[Comment] = []
        self.events: list[AuditEvent] = []
        self.department_ids: list[int] = []
        self.clock = now
        self.stall_at = -1
        self.moments = 0
        self.pool = False

    # --- time ---------------------------------------------------------------------------------

    def later(self, *, hours_low: float, hours_high: float) -> datetime:
        """Advance the clock; a moment past now (or the stall point) ends the change's story."""
        self.clock += timedelta(hours=self.rng.uniform(hours_low, hours_high))
        self.moments += 1
        if self.clock >= self.now or self.moments == self.stall_at:
            raise Stop
        return self.clock

    # --- the audit chain ----------------------------------------------------------------------

    def record(
        self,
        action: str,
        *,
        actor_id: int | None,
        from_state: str,
        data: dict[str, Any],
        snapshot: bool,
        on_behalf_of_id: int | None = None,
    ) -> None:
        change = self.change
        event = AuditEvent(
            occurred_at=self.clock,
            actor_id=actor_id,
            actor_name=self.world.usernames[actor_id] if actor_id else "",
            on_behalf_of_id=on_behalf_of_id,
            on_behalf_of_name=self.world.usernames[on_behalf_of_id] if on_behalf_of_id else "",
            action=action,
            change_id=change.pk,
            from_state=from_state,
            to_state=change.state,
            data=data,
            snapshot=audit.change_snapshot(change) if snapshot else None,
            request_id=uuid.UUID(int=self.rng.getrandbits(128)).hex,
            chain=f"change:{change.pk}",
            chain_index=change.audit_length + 1,
            prev_hash=change.audit_head,
        )
        event.hash = audit.compute_hash(event)
        change.audit_length = event.chain_index
        change.audit_head = event.hash
        self.events.append(event)

    def transition(self, action: str, *, actor_id: int | None, data: dict[str, Any]) -> None:
        """Record a state change the way the services do: event first, then the version."""
        before = self.events[-1].to_state if self.events else S.DRAFT
        self.record(action, actor_id=actor_id, from_state=before, data=data, snapshot=True)
        self.change.version += 1

    def comment(self, author_id: int, text: str) -> None:
        comment = Comment(
            id=self.ids.take("Comment"),
            change_id=self.change.pk,
            author_id=author_id,
            text=text,
            created_at=self.clock,
        )
        self.comments.append(comment)
        self.record(
            "commented",
            actor_id=author_id,
            from_state=self.change.state,
            data={"comment": comment.pk, "text": text},
            snapshot=False,
        )


def _pick_requester(world: World, rng: random.Random) -> tuple[int, int]:
    roll = rng.random()
    if roll < NAMED_REQUESTER_SHARE:
        name = "alice"
    elif roll < 2 * NAMED_REQUESTER_SHARE:
        name = "bob"
    else:
        return rng.choice(world.requesters)
    user_id = world.by_name[name]
    department = next(d for u, d in world.requesters if u == user_id)
    return user_id, department


def _seat_users(
    rule: Rule,
    *,
    requester_id: int,
    requester_department: int,
    department_ids: list[int],
    implementer_id: int | None,
    world: World,
) -> dict[int, str]:
    users: set[int]
    if rule.approver_rule == ApproverRule.REQUESTER_DEPARTMENT_HEAD:
        head = world.departments[requester_department][1]
        users = {head} if head else set()
    elif rule.approver_rule == ApproverRule.OTHER_DEPARTMENT_HEADS:
        heads = (world.departments[d][1] for d in department_ids if d != requester_department)
        users = {head for head in heads if head}
    else:
        users = set(rule.group_user_ids)
    excluded = {requester_id}
    if rule.kind == StepKind.FINAL and implementer_id:
        excluded.add(implementer_id)
    users = {u for u in users if u is not None} - excluded
    if users:
        return dict.fromkeys(sorted(users), ApproverSource.ROUTE.value)
    fallback = set(rule.escalation_user_ids) - excluded
    return dict.fromkeys(sorted(fallback), ApproverSource.ESCALATION.value)


def live(life: Life, *, index: int, total: int, pool: bool = False) -> None:
    """Write one change's whole story into `life`, stopping where now (or its stall) finds it.

    `pool`: a change of the three-step route (head of Finance, technical expert, CAB)
    waiting for its first decision, for the decision and approve measurements."""
    world, rng, now = life.world, life.rng, life.now
    # Changes are spread evenly over the span, the newest last; each starts within its slot.
    age_days = 5.0 if pool else SPAN_DAYS * (1 - (index + rng.random()) / total)
    created = now - timedelta(days=age_days)
    if pool:
        requester_id, requester_department = rng.choice(world.pool_requesters)
        change_type = ChangeType.NORMAL
    else:
        requester_id, requester_department = _pick_requester(world, rng)
        roll = rng.random()
        change_type = (
            ChangeType.NORMAL
            if roll < 0.8
            else ChangeType.EMERGENCY
            if roll < 0.88
            else ChangeType.STANDARD
        )
    template = rng.choice(world.templates) if change_type == ChangeType.STANDARD else None
    impact = (
        template.impact
        if template
        else Impact.MEDIUM
        if pool
        else rng.choices(Impact.values, weights=[40, 35, 20, 5])[0]
    )
    others = [d for d in world.departments if d != requester_department]
    departments = [requester_department]
    if change_type == ChangeType.NORMAL and not pool and rng.random() < 0.25:
        departments += rng.sample(others, k=rng.choice([1, 1, 2]))
    planned_start = created + timedelta(days=rng.uniform(3, 20))
    title = (
        f"{rng.choice(['Upgrade', 'Patch', 'Migrate', 'Reconfigure', 'Replace', 'Tune'])} "
        f"{rng.choice(['the ticketing database', 'payroll servers', 'VPN gateways', 'the HR portal', 'the ledger export', 'backup jobs', 'the load balancer'])}"
    )
    change = ChangeRequest(
        id=life.ids.take("ChangeRequest"),
        title=title,
        description=f"{title}: planned work number {index + 1}, with its checks and a way back.",
        goal="Keep the service supported and secure.",
        scope=", ".join(world.departments[d][0] for d in departments),
        expected_impact="Short interruption inside the planned window.",
        change_type=change_type,
        template=template,
        category=template.category if template else rng.choice(Category.values),
        impact=impact,
        requester_id=requester_id,
        implementer_id=world.by_name["ivan"],
        planned_start=planned_start,
        planned_end=planned_start + timedelta(hours=rng.choice([1, 2, 4, 8])),
        backout_plan=template.backout_plan if template else "Restore the previous version.",
        test_plan=template.test_plan if template else "Smoke test after the change.",
        created_at=created,
        updated_at=created,
    )
    life.change = change
    life.department_ids = departments
    life.clock = created
    if pool:
        life.stall_at = 4  # submitted, assessed, first step open
        life.pool = True
    elif rng.random() < STALL_SHARE:
        life.stall_at = rng.randint(1, 6)
    if created >= now:
        return
    life.record(
        "created",
        actor_id=requester_id,
        from_state="",
        data={"fields": {"title": title, "change_type": change_type, "impact": impact}},
        snapshot=True,
    )
    try:
        if change_type == ChangeType.STANDARD:
            _standard(life)
        elif change_type == ChangeType.EMERGENCY:
            _emergency(life, requester_department)
        else:
            _normal(life, requester_department)
    except Stop:
        pass
    change.updated_at = life.events[-1].occurred_at


def _submit(life: Life) -> None:
    change = life.change
    life.later(hours_low=0.2, hours_high=30)
    if life.rng.random() < 0.2:
        life.comment(change.requester_id, "Details added: the window avoids month-end.")
    life.later(hours_low=0.1, hours_high=2)
    change.submit()
    change.submitted_at = life.clock
    if change.change_type == ChangeType.STANDARD:
        change.approved_at = life.clock


def _standard(life: Life) -> None:
    _submit(life)
    life.transition(
        "submitted",
        actor_id=life.change.requester_id,
        data={"pre_approved": True, "template": life.change.template_id},
    )
    _implement(life, review=None)


def _open_route(
    life: Life, requester_department: int, *, change_type: str, level: int
) -> dict[str, Any]:
    world, change = life.world, life.change
    policy_name, rules = world.route_for(change_type, level)
    cross = len(set(life.department_ids)) >= 2
    order = 0
    route = []
    for rule in rules:
        if rule.cross_only and not cross:
            continue
        order += 1
        seats = _seat_users(
            rule,
            requester_id=change.requester_id,
            requester_department=requester_department,
            department_ids=life.department_ids,
            implementer_id=change.implementer_id,
            world=world,
        )
        opens = order == 1 and rule.kind != StepKind.RETROSPECTIVE
        escalated = all(src == ApproverSource.ESCALATION for src in seats.values())
        step = ApprovalStep(
            id=life.ids.take("ApprovalStep"),
            change_id=change.pk,
            round=change.round,
            order=order,
            name=rule.name,
            kind=rule.kind,
            approver_rule=rule.approver_rule,
            quorum=rule.quorum,
            sla_hours=rule.sla_hours,
            escalation_group_id=rule.escalation_group_id,
            status=StepStatus.PENDING if opens else StepStatus.WAITING,
            opened_at=life.clock if opens else None,
            due_at=life.clock + timedelta(hours=rule.sla_hours) if opens else None,
            escalated_at=life.clock if escalated else None,
        )
        life.steps.append(step)
        life.seat_map[step.pk] = seats
        for user_id, source in seats.items():
            life.seats.append(
                StepApprover(
                    id=life.ids.take("StepApprover"),
                    step_id=step.pk,
                    user_id=user_id,
                    source=source,
                )
            )
        route.append(
            {
                "order": order,
                "name": rule.name,
                "kind": rule.kind,
                "quorum": rule.quorum,
                "escalated": escalated,
            }
        )
    change.policy_name = policy_name
    return {"policy": policy_name, "route": route, "opened_step": life.steps[-len(route)].pk}


def _round_steps(life: Life) -> list[ApprovalStep]:
    return [s for s in life.steps if s.round == life.change.round]


def _decide(
    life: Life, step: ApprovalStep, decision: str, approver: int, comment: str
) -> tuple[str, dict[str, Any]]:
    before = life.change.state
    life.decisions.append(
        Decision(
            id=life.ids.take("Decision"),
            step_id=step.pk,
            approver_id=approver,
            seat_id=approver,
            decision=decision,
            comment=comment,
            decided_at=life.clock,
            escalated=life.seat_map[step.pk][approver] == ApproverSource.ESCALATION,
        )
    )
    data = {
        "step": step.order,
        "step_name": step.name,
        "step_kind": step.kind,
        "step_id": step.pk,
        "decision": decision,
        "comment": comment,
        "escalated": life.seat_map[step.pk][approver] == ApproverSource.ESCALATION,
    }
    return before, data


def _record_decision(life: Life, action: str, approver: int, before: str, data: dict) -> None:
    life.record(
        action,
        actor_id=approver,
        from_state=before,
        data=data,
        snapshot=before != life.change.state,
    )
    life.change.version += 1


def _close_step(step: ApprovalStep, status: str, at: datetime) -> None:
    step.status = status
    step.decided_at = at


def _open_step(step: ApprovalStep, at: datetime) -> None:
    step.status = StepStatus.PENDING
    step.opened_at = at
    step.due_at = at + timedelta(hours=step.sla_hours)
    if step.escalated_at is not None:
        step.escalated_at = at


def _skip_rest(life: Life, *, exclude: int | None = None) -> None:
    for step in _round_steps(life):
        if step.pk != exclude and step.status in (StepStatus.WAITING, StepStatus.PENDING):
            step.status = StepStatus.SKIPPED


def _walk_route(life: Life, *, fate: str, fate_step: int) -> bool:
    """Decide the current round's steps in order; True when the change ends up approved."""
    change, rng = life.change, life.rng
    decided_by: set[int] = set()
    steps = [s for s in _round_steps(life) if s.kind != StepKind.RETROSPECTIVE]
    for position, step in enumerate(steps, start=1):
        seats = [u for u in life.seat_map[step.pk] if u not in decided_by]
        if not seats:
            raise Stop  # nobody eligible is left: the step waits for a reassignment
        needed = len(seats) if step.quorum == "all" else 1
        for turn, approver in enumerate(seats[:needed]):
            life.later(hours_low=0.5, hours_high=step.sla_hours * 1.2)
            if turn == 0 and rng.random() < 0.1:
                life.comment(approver, "Which rollback was tested, and when?")
            if position == fate_step and fate in ("reject", "request_info"):
                comment = (
                    "Too risky in this window."
                    if fate == "reject"
                    else "Please attach the test report."
                )
                before, data = _decide(life, step, fate, approver, comment)
                if fate == "reject":
                    _close_step(step, StepStatus.REJECTED, life.clock)
                    _skip_rest(life, exclude=step.pk)
                    change.reject()
                    change.closed_at = life.clock
                    _record_decision(life, "rejected", approver, before, data | {"step_met": False})
                    return False
                _close_step(step, StepStatus.SKIPPED, life.clock)
                _skip_rest(life, exclude=step.pk)
                for decision in life.decisions:
                    if decision.step_id in {s.pk for s in _round_steps(life)}:
                        decision.voided = True
                change.return_for_information()
                _record_decision(
                    life,
                    "info_requested",
                    approver,
                    before,
                    data | {"step_met": False, "decisions_voided": True},
                )
                return False
            before, data = _decide(life, step, DecisionKind.APPROVE, approver, "Fine by me.")
            decided_by.add(approver)
            if turn + 1 < needed:
                _record_decision(life, "approved", approver, before, data | {"step_met": False})
                continue
            _close_step(step, StepStatus.APPROVED, life.clock)
            following = steps[position] if position < len(steps) else None
            if following is None:
                if change.state == S.TIER_APPROVAL:
                    change.enter_final()
                change.grant()
                change.approved_at = life.clock
                outcome: dict[str, Any] = {"step_met": True, "opened_step": None}
            else:
                _open_step(following, life.clock)
                if following.kind == StepKind.FINAL and change.state == S.TIER_APPROVAL:
                    change.enter_final()
                outcome = {
                    "step_met": True,
                    "opened_step": following.pk,
                    "opened_step_name": following.name,
                }
            _record_decision(life, "approved", approver, before, data | outcome)
    return True


def _fate(rng: random.Random, route_length: int) -> tuple[str, int]:
    roll = rng.random()
    if roll < 0.07:
        return "reject", rng.randint(1, route_length)
    if roll < 0.17:
        return "request_info", rng.randint(1, route_length)
    if roll < 0.22:
        return "withdraw", rng.randint(1, route_length)
    return "approve", 0


def _normal(life: Life, requester_department: int) -> None:
    change, rng, world = life.change, life.rng, life.world
    while True:
        _submit(life)
        life.transition("submitted", actor_id=change.requester_id, data={})
        life.later(hours_low=1, hours_high=48)
        risk = Risk.LOW if life.pool else rng.choices(Risk.values, weights=[50, 35, 15])[0]
        assessor = world.by_name["ada"]
        change.assess(assessor_id=assessor, impact=change.impact, risk=risk, notes="Checked.")
        change.assessed_at = life.clock
        level = max(LEVELS[change.impact], LEVELS[risk])
        data = _open_route(life, requester_department, change_type=ChangeType.NORMAL, level=level)
        change.open_route(first_kind=data["route"][0]["kind"])
        life.transition(
            "assessed",
            actor_id=assessor,
            data=data | {"impact": change.impact, "risk": risk, "notes": "Checked."},
        )
        fate, fate_step = _fate(rng, len(data["route"]))
        if change.round > 0 and fate == "request_info":
            fate = "approve"  # one round of questions is plenty
        if fate == "withdraw":
            life.later(hours_low=1, hours_high=72)
            _skip_rest(life)
            change.withdraw()
            change.closed_at = life.clock
            life.transition(
                "withdrawn", actor_id=change.requester_id, data={"comment": "No longer needed."}
            )
            return
        approved = _walk_route(life, fate=fate, fate_step=fate_step)
        if approved:
            break
        if change.state != S.DRAFT:
            return  # rejected
        life.later(hours_low=1, hours_high=72)
        change.description += " Test report attached."
        life.record(
            "edited",
            actor_id=change.requester_id,
            from_state=S.DRAFT,
            data={"changes": {"description": {"old": "…", "new": "… Test report attached."}}},
            snapshot=True,
        )
        change.version += 1
    _implement(life, review=None)


def _emergency(life: Life, requester_department: int) -> None:
    change = life.change
    _submit(life)
    level = LEVELS[change.impact]
    data = _open_route(life, requester_department, change_type=ChangeType.EMERGENCY, level=level)
    life.transition("submitted", actor_id=change.requester_id, data=data)
    ecab, review = _round_steps(life)[0], _round_steps(life)[-1]
    # The ECAB decision goes to whoever will not have to review the change afterwards.
    reviewers = set(life.seat_map[review.pk])
    approver = min(life.seat_map[ecab.pk], key=lambda user_id: user_id in reviewers)
    life.later(hours_low=0.1, hours_high=1.5)
    before, data = _decide(life, ecab, DecisionKind.APPROVE, approver, "Go.")
    _close_step(ecab, StepStatus.APPROVED, life.clock)
    change.grant()
    change.approved_at = life.clock
    _record_decision(
        life, "approved", approver, before, data | {"step_met": True, "opened_step": None}
    )
    _implement(life, review=review if review.kind == StepKind.RETROSPECTIVE else None)


def _implement(life: Life, *, review: ApprovalStep | None) -> None:
    change, rng = life.change, life.rng
    ivan = life.world.by_name["ivan"]
    if change.change_type == ChangeType.EMERGENCY:
        life.later(hours_low=0.1, hours_high=2)
    else:
        planned = change.planned_start or life.clock
        gap = (planned - life.clock).total_seconds() / 3600
        life.later(hours_low=max(gap, 0.1), hours_high=max(gap, 0.1) + 0.2)
    change.start()
    change.started_at = life.clock
    life.transition("started", actor_id=ivan, data={})
    life.later(hours_low=0.5, hours_high=6)
    outcome = Outcome.SUCCESS if rng.random() < 0.95 else Outcome.FAILED
    change.complete(
        outcome=outcome, notes="Done as planned." if outcome == Outcome.SUCCESS else "Rolled back."
    )
    change.completed_at = life.clock
    data: dict[str, Any] = {"outcome": outcome, "notes": change.completion_notes}
    if review is not None:
        _open_step(review, life.clock)
        data |= {"opened_step": review.pk, "opened_step_name": review.name}
    life.transition("completed", actor_id=ivan, data=data)
    if review is not None:
        decided = {d.approver_id for d in life.decisions}
        seats = list(life.seat_map[review.pk])
        reviewer = next((u for u in seats if u not in decided), seats[0])
        life.later(hours_low=2, hours_high=120)
        before, decision_data = _decide(life, review, DecisionKind.APPROVE, reviewer, "Accepted.")
        _close_step(review, StepStatus.APPROVED, life.clock)
        _record_decision(
            life,
            "approved",
            reviewer,
            before,
            decision_data | {"step_met": True, "retrospective_approved": True},
        )
    life.later(hours_low=1, hours_high=96)
    change.close(summary="Went as planned.", lessons="Announce the window earlier.")
    change.closed_at = life.clock
    life.transition(
        "closed",
        actor_id=ivan,
        data={"summary": change.feedback_summary, "lessons": change.feedback_lessons},
    )


def _write(life: Life, tables: Tables) -> None:
    tables.changes.add(life.change)
    for department_id in life.department_ids:
        tables.departments.add(
            ChangeRequest.departments.through(
                id=life.ids.take("departments"),
                changerequest_id=life.change.pk,
                department_id=department_id,
            )
        )
    for step in life.steps:
        tables.steps.add(step)
    for seat in life.seats:
        tables.seats.add(seat)
    for decision in life.decisions:
        tables.decisions.add(decision)
    for comment in life.comments:
        tables.comments.add(comment)
    for event in life.events:
        tables.events.add(event)


@dataclass
class SeedResult:
    changes: int
    audit_events: int
    seconds: float


def seed_changes(*, changes: int, seed: int = 14, quiet: bool = False) -> SeedResult:
    """Add `changes` changes to the database in batches of COPY; returns what was written."""
    world = ensure_organisation(changes=changes)
    return _seed(
        world, changes=changes, seed=seed, pool=False, label="seeding changes", quiet=quiet
    )


def seed_pool(*, count: int, seed: int) -> list[int]:
    """Add `count` changes waiting for their first decision on the three-step route (head of
    Finance, technical expert, CAB); returns their ids, oldest first."""
    world = load_world()
    if not world.pool_requesters:
        world = ensure_organisation(changes=0)
    first = Ids().next["ChangeRequest"]
    _seed(world, changes=count, seed=seed, pool=True, label="changes to decide", quiet=True)
    return list(
        ChangeRequest.objects.filter(pk__gte=first, state=S.TIER_APPROVAL)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _seed(
    world: World, *, changes: int, seed: int, pool: bool, label: str, quiet: bool
) -> SeedResult:
    ids = Ids()
    rng = random.Random(seed)
    now = timezone.now()
    tables = Tables()
    progress = Progress(label, changes, every=1e9 if quiet else 2.0)
    for start in range(0, changes, BATCH):
        with transaction.atomic():
            for index in range(start, min(start + BATCH, changes)):
                life = Life(world=world, ids=ids, rng=rng, now=now)
                live(life, index=index, total=changes, pool=pool)
                _write(life, tables)
            flush_all(tables.in_order())
        progress.advance(min(BATCH, changes - start))
    seconds = progress.finish() if not quiet else 0.0
    _reset_sequences()
    if not pool:  # a few pooled changes leave the planner's statistics as they were
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return SeedResult(
        changes=tables.changes.written, audit_events=tables.events.written, seconds=seconds
    )


def _reset_sequences() -> None:
    models: list[type[Model]] = [
        ChangeRequest,
        ChangeRequest.departments.through,
        ApprovalStep,
        StepApprover,
        Decision,
        Comment,
    ]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
