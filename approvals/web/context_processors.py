"""The header: who is signed in, their roles, and which pages they may open."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from approvals.choices import Role
from approvals.policy import Actor
from approvals.selectors import inbox_counts
from approvals.web.common import actor_of
from approvals.web.queues import APPROVER_ROLES


def _inbox_count(request: HttpRequest, actor: Actor) -> int:
    """The inbox page counts its own rows; elsewhere one query, run only when the menu shows."""
    known = getattr(request, "inbox_count", None)
    return known if known is not None else inbox_counts(actor)["count"]


def header(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = actor_of(request)
    labels = dict(Role.choices)
    roles = [labels[r] for r in Role.values if r in actor.roles]
    may_decide = bool(actor.roles & set(APPROVER_ROLES)) or bool(actor.delegator_ids)
    return {
        "my_roles": roles,
        "nav": {
            "inbox": may_decide and not actor.is_auditor,
            "inbox_count": SimpleLazyObject(lambda: _inbox_count(request, actor)),
            "assess": Role.ASSESSOR in actor.roles,
            "implement": Role.IMPLEMENTER in actor.roles,
            "audit": actor.is_auditor,
            "create": not actor.is_auditor,
        },
    }
