from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from approvals.choices import (
    ApproverRule,
    Category,
    ChangeType,
    Impact,
    Level,
    StepKind,
    TemplateStatus,
)
from approvals.localization import localized


def validate_quorum(value: str) -> None:
    if value in ("any", "all"):
        return
    if not value.isdigit() or int(value) < 1:
        raise ValidationError(_("Quorum is 'any', 'all' or a positive whole number."))


class Policy(models.Model):
    """Which route a change of a given type and level takes. Data, edited by change managers."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    change_type = models.CharField(_("change type"), max_length=16, choices=ChangeType.choices)
    min_level = models.PositiveSmallIntegerField(
        _("lowest level"), choices=Level.choices, default=Level.LOW
    )
    max_level = models.PositiveSmallIntegerField(
        _("highest level"), choices=Level.choices, default=Level.CRITICAL
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("When several policies match, the lowest wins.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["change_type", "min_level", "priority"]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_level__gte=F("min_level")), name="policy_level_range"
            )
        ]

    def __str__(self) -> str:
        return localized(self)


class PolicyStep(models.Model):
    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=StepKind.choices)
    approver_rule = models.CharField(
        _("who decides"), max_length=32, choices=ApproverRule.choices, default=ApproverRule.GROUPS
    )
    groups = models.ManyToManyField(
        Group, verbose_name=_("approver groups"), blank=True, related_name="+"
    )
    quorum = models.CharField(
        _("quorum"),
        max_length=8,
        default="any",
        validators=[validate_quorum],
        help_text=_("'any', 'all', or how many approvals are needed."),
    )
    sla_hours = models.PositiveIntegerField(_("SLA (hours)"))
    escalation_group = models.ForeignKey(
        Group, verbose_name=_("escalation target"), on_delete=models.PROTECT, related_name="+"
    )
    only_if_cross_department = models.BooleanField(
        _("only for cross-department changes"), default=False
    )

    class Meta:
        ordering = ["policy", "order"]
        verbose_name = _("policy step")
        verbose_name_plural = _("policy steps")
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="policy_step_order_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy} · {self.order}. {localized(self)}"


class ChangeTemplate(models.Model):
    """A standard change from the catalogue: approved once by a change manager or the CAB, then
    reused exactly. The template owns category, impact, departments and plans; a change created
    from it may set only its title, details, window and implementer."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.TextField(_("description"))
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    impact = models.CharField(_("impact"), max_length=16, choices=Impact.choices)
    departments = models.ManyToManyField(
        "approvals.Department",
        verbose_name=_("affected departments"),
        blank=True,
        related_name="+",
    )
    backout_plan = models.TextField(_("backout plan"), blank=True)
    test_plan = models.TextField(_("test plan"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TemplateStatus.choices,
        default=TemplateStatus.PROPOSED,
        db_index=True,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    status_reason = models.CharField(_("reason for the status"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("standard change template")
        verbose_name_plural = _("standard change templates")

    def __str__(self) -> str:
        return localized(self)

    @property
    def is_active(self) -> bool:
        """Usable for new standard changes."""
        return self.status == TemplateStatus.APPROVED


class BlackoutWindow(models.Model):
    """A period when no change may start (emergencies excepted)."""

    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    reason = models.TextField(_("reason"), blank=True)
    departments = models.ManyToManyField(
        "approvals.Department",
        verbose_name=_("departments"),
        blank=True,
        help_text=_("Empty means every department."),
    )

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("blackout window")
        verbose_name_plural = _("blackout windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="blackout_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{localized(self)} ({timezone.localtime(self.starts_at):%Y-%m-%d %H:%M} – {timezone.localtime(self.ends_at):%Y-%m-%d %H:%M})"
