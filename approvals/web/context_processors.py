"""The header: who is signed in, their roles, and which pages they may open."""

from django.http import HttpRequest

from approvals.choices import Role
from approvals.web.common import actor_of
from approvals.web.queues import APPROVER_ROLES


def header(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = actor_of(request)
    labels = dict(Role.choices)
    roles = [labels[r] for r in Role.values if r in actor.roles]
    return {
        "my_roles": roles,
        "nav": {
            "inbox": bool(actor.roles & set(APPROVER_ROLES)) or bool(actor.delegator_ids),
            "assess": Role.ASSESSOR in actor.roles,
            "implement": Role.IMPLEMENTER in actor.roles,
            "audit": actor.is_auditor,
            "create": not actor.is_auditor,
        },
    }
