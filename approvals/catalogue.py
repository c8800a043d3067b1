"""The standard-change catalogue as requesters see it: each usable template with how often it
was used and how its changes went."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q

from approvals.choices import Outcome, TemplateStatus
from approvals.models import ChangeTemplate, Department


@dataclass(frozen=True)
class CatalogueEntry:
    template: ChangeTemplate
    used: int
    completed: int
    succeeded: int

    @property
    def usable(self) -> bool:
        return self.template.status == TemplateStatus.APPROVED

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.completed if self.completed else None


def catalogue_entries() -> list[CatalogueEntry]:
    """Approved templates, then suspended ones (waiting for the change manager's review after a
    failure), each with its submitted, completed and successful changes. Two queries."""
    templates = (
        ChangeTemplate.objects.filter(
            status__in=[TemplateStatus.APPROVED, TemplateStatus.SUSPENDED]
        )
        .select_related("approved_by")
        .prefetch_related(Prefetch("departments", queryset=Department.objects.order_by("code")))
        .annotate(
            used=Count("changes", filter=Q(changes__submitted_at__isnull=False)),
            completed=Count("changes", filter=~Q(changes__outcome="")),
            succeeded=Count("changes", filter=Q(changes__outcome=Outcome.SUCCESS)),
        )
        .order_by("status", "name")  # "approved" before "suspended"
    )
    return [
        CatalogueEntry(
            template=t,
            used=t.used,  # type: ignore[attr-defined]
            completed=t.completed,  # type: ignore[attr-defined]
            succeeded=t.succeeded,  # type: ignore[attr-defined]
        )
        for t in templates
    ]
