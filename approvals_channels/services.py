"""Configuring chat targets (change managers, through the admin): every change is audited, never
the URL's credential (WeCom's key, Slack's and Teams' secret path) nor the signing secret, and no
target points at an address the server may not reach."""

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import Role
from approvals.exceptions import InvalidInput, NotAllowed
from approvals.selectors import load_actor
from approvals_channels.models import ChatPlatform, ChatTarget
from integrations.services import url_problem

FIELDS = ("name", "platform", "url", "secret", "department", "policy_step", "language", "is_active")
SIGNED = {ChatPlatform.DINGTALK, ChatPlatform.FEISHU}


def _require_change_manager(actor: User) -> None:
    if not (actor.is_superuser or load_actor(actor).has_role(Role.CHANGE_MANAGER)):
        raise NotAllowed(_("Only change managers configure chat targets."))


def _described(target: ChatTarget) -> dict[str, Any]:
    """What the audit trail keeps of a target: no credentials."""
    return {
        "name": target.name,
        "platform": target.platform,
        "host": urlsplit(target.url).hostname or "",
        "signed": bool(target.secret),
        "department": target.department_id,
        "policy_step": target.policy_step_id,
        "language": target.language,
        "is_active": target.is_active,
    }


def _validate(data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if data.get("platform") not in ChatPlatform.values:
        errors["platform"] = [_("Choose a chat platform.")]
    if problem := url_problem(data.get("url", "")):
        errors["url"] = [problem]
    if data.get("secret") and data.get("platform") not in SIGNED:
        errors["secret"] = [_("Only DingTalk and Feishu robots sign their messages.")]
    if data.get("department") is None and data.get("policy_step") is None:
        errors["department"] = [_("Name a department, a policy step, or both.")]
    if errors:
        raise InvalidInput(errors)


def target_save(*, actor: User, target_id: int | None, data: dict[str, Any]) -> ChatTarget:
    """Create (target_id None) or update a chat target; an empty secret keeps the current one."""
    _require_change_manager(actor)
    with transaction.atomic():
        if target_id is None:
            target, before = ChatTarget(), None
        else:
            target = ChatTarget.objects.select_for_update().get(pk=target_id)
            before = _described(target)
        merged = {name: getattr(target, name, None) for name in FIELDS} | data
        if not data.get("secret") and target_id is not None:
            merged["secret"] = target.secret
        _validate(merged)
        for name in FIELDS:
            setattr(target, name, merged.get(name))
        target.save()
        audit.configuration_changed(
            actor=actor,
            model="chat_target",
            object_id=target.pk,
            operation="created" if before is None else "updated",
            before=before,
            after=_described(target),
        )
        outbox.events_recorded()
    return target


def target_delete(*, actor: User, target_id: int) -> None:
    _require_change_manager(actor)
    with transaction.atomic():
        target = ChatTarget.objects.select_for_update().get(pk=target_id)
        audit.configuration_changed(
            actor=actor,
            model="chat_target",
            object_id=target.pk,
            operation="deleted",
            before=_described(target),
        )
        outbox.events_recorded()
        target.delete()
