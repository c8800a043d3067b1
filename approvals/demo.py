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

# The demo organisation works in Beijing; olga and hugo read the interface, notifications and
# e-mails in Simplified Chinese, everyone else in the site's language (English).
DEMO_TIME_ZONE = "Asia/Shanghai"
CHINESE_READERS = frozenset({"olga", "hugo"})

# Chinese names of the demo's configuration (shared/spec/GLOSSARY.md), by English name.
NAMES_ZH = {
    "Information Technology": "信息技术部",
    "Finance": "财务部",
    "Operations": "运营部",
    "Human Resources": "人力资源部",
    "Department head": "部门负责人审批",
    "Joint approval (affected departments)": "联合审批（受影响部门）",
    "Technical expert": "技术专家审批",
    "Risk assessment": "风险评估",
    "External expert review": "外部专家评审",
    "Final approval (change manager)": "最终批准（变更经理）",
    "Final approval (CAB)": "最终批准（变更管理委员会）",
    "Final approval (CAB / senior management)": "最终批准（变更管理委员会 / 高层管理者）",
    "Emergency CAB (ECAB)": "紧急变更委员会 (ECAB)",
    "Retrospective review (CAB)": "事后评审（变更管理委员会）",
    "Normal change — low impact": "常规变更 — 低影响",
    "Normal change — medium impact": "常规变更 — 中影响",
    "Normal change — high or critical impact": "常规变更 — 高或严重影响",
    "Emergency change — fast track": "紧急变更 — 快速通道",
    "Standard change — pre-approved": "标准变更 — 预先批准",
    "Department head, then the change manager's final approval.": (
        "部门负责人审批，然后由变更经理最终批准。"
    ),
    "Department head, technical expert, then the CAB.": (
        "部门负责人、技术专家依次审批，然后由变更管理委员会 (CAB) 最终批准。"
    ),
    "High-impact change: adds risk assessment and external expert review before the CAB.": (
        "高影响变更：在变更管理委员会 (CAB) 审批前增加风险评估和外部专家评审。"
    ),
    "ECAB decides at once; the CAB reviews the change after it is carried out.": (
        "紧急变更委员会 (ECAB) 立即决定；变更实施后由变更管理委员会 (CAB) 进行事后评审。"
    ),
    "Created from a catalogue template approved once by a change manager; no approval steps.": (
        "由变更经理一次性批准的目录模板创建，无审批步骤（预先批准）。"
    ),
    "Monthly OS security patches on application servers": "应用服务器每月操作系统安全补丁",
    "Apply the vendor's monthly security patches to the application server pool, one node at a time behind the load balancer.": (
        "在负载均衡器后逐台节点为应用服务器池安装厂商每月发布的安全补丁。"
    ),
    "Renew a TLS certificate on the load balancer": "更新负载均衡器上的 TLS 证书",
    "Replace an expiring TLS certificate with the renewed one from the internal CA.": (
        "用内部 CA 签发的新证书替换即将到期的 TLS 证书。"
    ),
}


def zh(english: str) -> str:
    return NAMES_ZH.get(english, "")


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
        code: Department.objects.update_or_create(
            code=code, defaults={"name": name, "name_zh": zh(name)}
        )[0]
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
            user=user,
            defaults={"department": departments[dept] if dept else None},
            # Installed once: a person's own settings survive a re-seed.
            create_defaults={
                "department": departments[dept] if dept else None,
                "time_zone": DEMO_TIME_ZONE,
                "language": "zh-hans" if username in CHINESE_READERS else "",
            },
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
                "name_zh": zh(name),
                "change_type": change_type,
                "min_level": low,
                "max_level": high,
                "description": description,
                "description_zh": zh(description),
                "is_active": True,
            },
        )
        if policy.steps.exists():
            # Keep a change manager's edits (the defaults are installed once); steps that still
            # carry a default name and no Chinese one get theirs.
            for step_spec in steps:
                PolicyStep.objects.filter(policy=policy, name=step_spec[0], name_zh="").update(
                    name_zh=zh(step_spec[0])
                )
            continue
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
                name_zh=zh(step_name),
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
                "name_zh": zh(name),
                "description_zh": zh(description),
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
        elif not template.name_zh:
            ChangeTemplate.objects.filter(pk=template.pk).update(
                name_zh=zh(name), description_zh=zh(template.description)
            )


def _seed_blackout() -> None:
    year = timezone.now().year
    starts = timezone.make_aware(datetime(year, 12, 22))
    BlackoutWindow.objects.get_or_create(
        name=f"Year-end freeze {year}",
        defaults={
            "name_zh": f"{year} 年年终变更冻结期",
            "starts_at": starts,
            "ends_at": starts + timedelta(days=12),
            "reason": "Financial year-end closing: no changes except emergencies.",
        },
    )
