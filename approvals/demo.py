"""The demo organisation and default policy of PRODUCT.md (used by `seed_demo` and tests)."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from approvals.choices import (
    ApproverRule,
    Category,
    ChangeType,
    Impact,
    Level,
    Role,
    StepKind,
    TemplateStatus,
)
from approvals.models import BlackoutWindow, ChangeTemplate, Department, Policy, PolicyStep, Profile
from approvals.workflow.configuration import change_manager_permissions_install

DEMO_PASSWORD = "demo-pass-1"

DEPARTMENTS = [
    ("IT", "Information Technology", "hank"),
    ("FIN", "Finance", "fiona"),
    ("OPS", "Operations", "olga"),
    ("HR", "Human Resources", "hugo"),
]

# username, department, groups, full name
USERS = [
    ("alice", "IT", [Role.REQUESTER], "Alice Requester"),
    ("bob", "FIN", [Role.REQUESTER], "Bob Requester"),
    ("ada", "IT", [Role.ASSESSOR], "Ada Assessor"),
    ("hank", "IT", [Role.APPROVER], "Hank Head-of-IT"),
    ("fiona", "FIN", [Role.APPROVER], "Fiona Head-of-Finance"),
    ("olga", "OPS", [Role.APPROVER], "Olga Head-of-Operations"),
    ("hugo", "HR", [Role.APPROVER], "Hugo Head-of-HR"),
    ("tom", "IT", [Role.APPROVER, Role.TECHNICAL_EXPERT], "Tom Technical-Expert"),
    ("rita", "OPS", [Role.APPROVER, Role.RISK_REVIEWER], "Rita Risk-Assessment"),
    ("eve", None, [Role.APPROVER, Role.EXTERNAL_EXPERT], "Eve External-Expert"),
    ("carl", None, [Role.APPROVER, Role.CAB], "Carl CAB"),
    ("mia", "IT", [Role.CHANGE_MANAGER], "Mia Change-Manager"),
    ("ivan", "IT", [Role.IMPLEMENTER], "Ivan Implementer"),
    ("audrey", None, [Role.AUDITOR], "Audrey Auditor"),
]

# name, kind, rule, groups, quorum, SLA hours, escalation group, only if cross-department
StepSpec = tuple[str, str, str, list[str], str, int, str, bool]

DEPT_HEAD: StepSpec = (
    "Department head",
    StepKind.TIER,
    ApproverRule.REQUESTER_DEPARTMENT_HEAD,
    [],
    "any",
    24,
    Role.CHANGE_MANAGER,
    False,
)
JOINT: StepSpec = (
    "Joint approval (affected departments)",
    StepKind.TIER,
    ApproverRule.OTHER_DEPARTMENT_HEADS,
    [],
    "all",
    48,
    Role.CHANGE_MANAGER,
    True,
)
TECH: StepSpec = (
    "Technical expert",
    StepKind.TIER,
    ApproverRule.GROUPS,
    [Role.TECHNICAL_EXPERT],
    "any",
    24,
    Role.CHANGE_MANAGER,
    False,
)
RISK: StepSpec = (
    "Risk assessment",
    StepKind.TIER,
    ApproverRule.GROUPS,
    [Role.RISK_REVIEWER],
    "any",
    48,
    Role.CHANGE_MANAGER,
    False,
)
EXTERNAL: StepSpec = (
    "External expert review",
    StepKind.TIER,
    ApproverRule.GROUPS,
    [Role.EXTERNAL_EXPERT],
    "any",
    72,
    Role.CHANGE_MANAGER,
    False,
)

PolicySpec = tuple[str, str, int, int, str, list[StepSpec]]

POLICIES: list[PolicySpec] = [
    (
        "Normal change — low impact",
        ChangeType.NORMAL,
        Level.LOW,
        Level.LOW,
        "Department head, then the change manager's final approval.",
        [
            DEPT_HEAD,
            JOINT,
            (
                "Final approval (change manager)",
                StepKind.FINAL,
                ApproverRule.GROUPS,
                [Role.CHANGE_MANAGER],
                "any",
                48,
                Role.CAB,
                False,
            ),
        ],
    ),
    (
        "Normal change — medium impact",
        ChangeType.NORMAL,
        Level.MEDIUM,
        Level.MEDIUM,
        "Department head, technical expert, then the CAB.",
        [
            DEPT_HEAD,
            JOINT,
            TECH,
            (
                "Final approval (CAB)",
                StepKind.FINAL,
                ApproverRule.GROUPS,
                [Role.CAB],
                "any",
                48,
                Role.CHANGE_MANAGER,
                False,
            ),
        ],
    ),
    (
        "Normal change — high or critical impact",
        ChangeType.NORMAL,
        Level.HIGH,
        Level.CRITICAL,
        "High-impact change: adds risk assessment and external expert review before the CAB.",
        [
            DEPT_HEAD,
            JOINT,
            TECH,
            RISK,
            EXTERNAL,
            (
                "Final approval (CAB / senior management)",
                StepKind.FINAL,
                ApproverRule.GROUPS,
                [Role.CAB],
                "any",
                48,
                Role.CHANGE_MANAGER,
                False,
            ),
        ],
    ),
    (
        "Emergency change — fast track",
        ChangeType.EMERGENCY,
        Level.LOW,
        Level.CRITICAL,
        "ECAB decides at once; the CAB reviews the change after it is carried out.",
        [
            (
                "Emergency CAB (ECAB)",
                StepKind.FINAL,
                ApproverRule.GROUPS,
                [Role.CHANGE_MANAGER, Role.CAB],
                "any",
                1,
                Role.CAB,
                False,
            ),
            (
                "Retrospective review (CAB)",
                StepKind.RETROSPECTIVE,
                ApproverRule.GROUPS,
                [Role.CAB],
                "any",
                120,
                Role.CHANGE_MANAGER,
                False,
            ),
        ],
    ),
    (
        "Standard change — pre-approved",
        ChangeType.STANDARD,
        Level.LOW,
        Level.CRITICAL,
        "Created from a catalogue template approved once by a change manager; no approval steps.",
        [],
    ),
]

TEMPLATES = [
    (
        "Monthly OS security patches on application servers",
        Category.SECURITY,
        Impact.LOW,
        "Apply the vendor's monthly security patches to the application server pool, one node at a time behind the load balancer.",
        "Reinstall the previous package versions from the local mirror and reboot the node.",
        "Health check of each node after reboot; smoke test of the login page.",
    ),
    (
        "Renew a TLS certificate on the load balancer",
        Category.INFRASTRUCTURE,
        Impact.LOW,
        "Replace an expiring TLS certificate with the renewed one from the internal CA.",
        "Re-activate the previous certificate, still valid until its expiry date.",
        "Check the served certificate chain and expiry with an external probe.",
    ),
]


def _groups() -> dict[str, Group]:
    return {role.value: Group.objects.get_or_create(name=role.value)[0] for role in Role}


@transaction.atomic
def seed(*, blackout: bool = True) -> None:
    """Install the demo data; `blackout=False` leaves out the year-end freeze, whose dates move
    with the calendar (tests must not depend on the day they run)."""
    groups = _groups()
    change_manager_permissions_install()
    User = get_user_model()
    departments = {
        code: Department.objects.update_or_create(code=code, defaults={"name": name})[0]
        for code, name, _head in DEPARTMENTS
    }
    users = {}
    for username, dept, roles, full_name in USERS:
        first, last = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        if created or not user.has_usable_password():
            user.set_password(DEMO_PASSWORD)
            user.save()
        user.groups.set([groups[r] for r in roles])
        Profile.objects.update_or_create(
            user=user, defaults={"department": departments[dept] if dept else None}
        )
        users[username] = user
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    for user in (users["mia"],):  # change managers configure policies in Django admin
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    for code, _name, head in DEPARTMENTS:
        Department.objects.filter(code=code).update(head=users[head])
    _seed_policies(groups)
    _seed_templates(users["mia"])
    if blackout:
        _seed_blackout()


def _seed_policies(groups: dict[str, Group]) -> None:
    for name, change_type, low, high, description, steps in POLICIES:
        policy, _ = Policy.objects.update_or_create(
            name=name,
            defaults={
                "change_type": change_type,
                "min_level": low,
                "max_level": high,
                "description": description,
                "is_active": True,
            },
        )
        if policy.steps.exists():
            continue  # keep a change manager's edits; the defaults are installed once
        for order, (
            step_name,
            kind,
            rule,
            step_groups,
            quorum,
            sla,
            escalation,
            cross,
        ) in enumerate(steps, start=1):
            step = PolicyStep.objects.create(
                policy=policy,
                order=order,
                name=step_name,
                kind=kind,
                approver_rule=rule,
                quorum=quorum,
                sla_hours=sla,
                escalation_group=groups[escalation],
                only_if_cross_department=cross,
            )
            step.groups.set([groups[g] for g in step_groups])


def _seed_templates(approver: object) -> None:
    it = Department.objects.get(code="IT")
    for name, category, impact, description, backout, test in TEMPLATES:
        template, created = ChangeTemplate.objects.get_or_create(
            name=name,
            defaults={
                "category": category,
                "impact": impact,
                "description": description,
                "backout_plan": backout,
                "test_plan": test,
                "status": TemplateStatus.APPROVED,
                "approved_by": approver,
                "approved_at": timezone.now(),
            },
        )
        if created:
            template.departments.set([it])


def _seed_blackout() -> None:
    year = timezone.now().year
    starts = timezone.make_aware(datetime(year, 12, 22))
    BlackoutWindow.objects.get_or_create(
        name=f"Year-end freeze {year}",
        defaults={
            "starts_at": starts,
            "ends_at": starts + timedelta(days=12),
            "reason": "Financial year-end closing: no changes except emergencies.",
        },
    )
