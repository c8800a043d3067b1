"""What every API view shares: the actor of the request, visibility, idempotent POSTs."""

from collections.abc import Sequence
from typing import Any, cast

from django.contrib.auth.models import User
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from approvals.api.idempotency import IdempotentPostMixin
from approvals.api.throttling import FailOpen
from approvals.choices import Role
from approvals.exceptions import NotFound
from approvals.policy import Actor
from approvals.selectors import load_actor, visible_changes

ID_PATTERN = r"[0-9]{1,18}"  # longer numbers are no id and would overflow the database


def acting_user(request: Request) -> User:
    """The authenticated user (IsAuthenticated runs before any handler that asks)."""
    return cast(User, request.user)


def actor_of(request: Request) -> Actor:
    """The request's `Actor`, loaded once per request."""
    actor = getattr(request, "_approvals_actor", None)
    if actor is None:
        actor = load_actor(acting_user(request))
        request._approvals_actor = actor  # type: ignore[attr-defined]
    return actor


class AuditorsReadOnly(BasePermission):
    """Auditors read everything and write nothing: every write answers 403, whatever the state
    of the change (the domain refuses them too, but may first name a state conflict)."""

    message = gettext_lazy("Auditors have read-only access and perform no action.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return Role.AUDITOR not in actor_of(request).roles


class ApiMixin(IdempotentPostMixin, APIView):
    """Base of the API views."""

    permission_classes: Sequence[type[BasePermission]] = (IsAuthenticated, AuditorsReadOnly)

    def get_throttles(self) -> list[BaseThrottle]:
        # The configured throttles, let through while their cache is unreachable.
        return [FailOpen(throttle) for throttle in super().get_throttles()]

    @property
    def actor(self) -> Actor:
        return actor_of(self.request)

    def ensure_visible(self, change_id: Any) -> int:
        """The change id if the caller may see that change; NotFound (404) otherwise."""
        if not visible_changes(self.actor).filter(pk=int(change_id)).exists():
            raise NotFound(_("No such change."))
        return int(change_id)


class HasRole(BasePermission):
    """Allows users holding `role` (subclasses set it)."""

    role: str = ""
    message = ""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated) and (
            self.role in actor_of(request).roles
        )


class IsAuditor(HasRole):
    role = Role.AUDITOR
    message = "Only auditors may read the audit trail."


class IsChangeManager(HasRole):
    role = Role.CHANGE_MANAGER
    message = "Only change managers may manage webhooks."
