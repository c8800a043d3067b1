"""Configuration is part of the record: policies and their steps, departments and heads, blackout
windows and users' roles change only here, each write in one transaction with one audit event
holding the values before and after (many-to-many ones included).

The admin calls these services; so may any other interface."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import audit, outbox
from approvals.choices import Role
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from approvals.models import (
    BlackoutWindow,
    ChangeRequest,
    ChangeTemplate,
    Department,
    Policy,
    PolicyStep,
    Profile,
)

M = TypeVar("M", bound=models.Model)

# Bookkeeping columns say nothing about the configuration; passwords never enter the trail.
UNRECORDED_FIELDS = frozenset({"updated_at", "created_at", "password", "last_login"})


# --- describing a row as plain values --------------------------------------------------------


def label(obj: models.Model) -> Any:
    """How a related row is named in the audit trail: people by username, groups by name,
    departments by code, permissions by `app.codename`, anything else by id."""
    if isinstance(obj, User):
        return obj.get_username()
    if isinstance(obj, Group):
        return obj.name
    if isinstance(obj, Department):
        return obj.code
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    return obj.pk


def _recorded(value: Any) -> Any:
    # Times typed in the editor's zone are recorded in UTC, like the ones read back from the
    # database, so that before and after compare as instants.
    if isinstance(value, datetime) and timezone.is_aware(value):
        return value.astimezone(UTC)
    return value


def describe(obj: models.Model, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The row's values as the audit trail records them (related rows by `label`)."""
    skipped = UNRECORDED_FIELDS | set(exclude)
    values: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.primary_key or f.name in skipped:
            continue
        if f.is_relation:
            related = getattr(obj, f.name)
            values[f.name] = label(related) if related is not None else None
        else:
            values[f.name] = _recorded(f.value_from_object(obj))
    for m2m in obj._meta.many_to_many:
        if m2m.name in skipped or obj.pk is None:
            continue
        related_rows = getattr(obj, m2m.name).all()
        if m2m.related_model is Permission:
            related_rows = related_rows.select_related("content_type")
        values[m2m.name] = sorted(str(label(r)) for r in related_rows)
    return values


# --- who configures ---------------------------------------------------------------------------


def is_configurer(user: User) -> bool:
    """Change managers configure the system; so do superusers (the installation's owners)."""
    return user.is_superuser or user.groups.filter(name=Role.CHANGE_MANAGER).exists()


def check_configurer(user: User) -> None:
    if not (user.is_active and is_configurer(user)):
        raise NotAllowed(_("Only change managers may change the configuration."))


# --- the shared write -------------------------------------------------------------------------


def _validation_errors(error: ValidationError) -> InvalidInput:
    if hasattr(error, "error_dict"):
        return InvalidInput({name: [str(m) for m in msgs] for name, msgs in error})  # type: ignore[misc]
    return InvalidInput({"detail": [str(m) for m in error.messages]})


def lock_row(model: type[M], object_id: int) -> M:
    try:
        return model._default_manager.select_for_update().get(pk=object_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such %(model)s.") % {"model": model._meta.verbose_name}) from None


def apply_values(obj: M, values: dict[str, Any], m2m: dict[str, Iterable[Any]] | None) -> M:
    for name, value in values.items():
        setattr(obj, name, value)
    try:
        obj.full_clean()
    except ValidationError as error:
        raise _validation_errors(error) from None
    obj.save()
    for name, rows in (m2m or {}).items():
        getattr(obj, name).set(list(rows))
    return obj


def record_configuration(
    *,
    actor: User | None,
    obj: models.Model,
    operation: str,
    before: dict | None,
    after: dict | None,
) -> None:
    audit.configuration_changed(
        actor=actor,
        model=obj._meta.model_name or "",
        object_id=obj.pk,
        operation=operation,
        before=before,
        after=after,
    )
    outbox.events_recorded()


def _save(
    *,
    actor: User,
    model: type[M],
    object_id: int | None,
    values: dict[str, Any],
    m2m: dict[str, Iterable[Any]] | None = None,
) -> M:
    check_configurer(actor)
    with transaction.atomic():
        obj = lock_row(model, object_id) if object_id is not None else model()
        before = describe(obj) if object_id is not None else None
        apply_values(obj, values, m2m)
        record_configuration(
            actor=actor,
            obj=obj,
            operation="updated" if before is not None else "created",
            before=before,
            after=describe(obj),
        )
    return obj


def department_save(
    *, actor: User, department_id: int | None, values: dict[str, Any]
) -> Department:
    """Create or change a department (code, name, head); audited with before and after."""
    return _save(actor=actor, model=Department, object_id=department_id, values=values)


def blackout_window_save(
    *,
    actor: User,
    window_id: int | None,
    values: dict[str, Any],
    departments: Iterable[Department] | None = None,
) -> BlackoutWindow:
    """Create or change a blackout window and the departments it applies to (none: all)."""
    m2m = {"departments": departments} if departments is not None else None
    return _save(actor=actor, model=BlackoutWindow, object_id=window_id, values=values, m2m=m2m)


# --- policies and their steps -------------------------------------------------------------


@dataclass(frozen=True)
class StepInput:
    """One step of a policy as edited: `step_id` None adds it, `delete` removes it."""

    step_id: int | None
    values: dict[str, Any] = field(default_factory=dict)
    groups: Sequence[Group] | None = None
    delete: bool = False


def _policy_values(policy: Policy) -> dict[str, Any]:
    steps = policy.steps.select_related("escalation_group").prefetch_related("groups")
    return describe(policy) | {
        "steps": [describe(s, exclude=("policy",)) | {"id": s.pk} for s in steps.order_by("order")]
    }


def _step_save(policy: Policy, step: StepInput) -> None:
    if step.step_id is not None:
        row = PolicyStep.objects.filter(policy=policy, pk=step.step_id).first()
        if row is None:
            raise NotFound(_("No such policy step."))
        if step.delete:
            row.delete()
            return
    elif step.delete:
        return
    else:
        row = PolicyStep(policy=policy)
    for name, value in step.values.items():
        setattr(row, name, value)
    try:
        # The (policy, order) uniqueness is the database's to enforce: steps being reordered
        # pass through states a row-by-row check would wrongly refuse.
        row.full_clean(exclude=["policy"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise _validation_errors(error) from None
    row.save()
    if step.groups is not None:
        row.groups.set(list(step.groups))


def policy_save(
    *,
    actor: User,
    policy_id: int | None,
    values: dict[str, Any],
    steps: Sequence[StepInput] = (),
) -> Policy:
    """Create or change a policy together with its steps (their approver groups included):
    one write, one audit event with the policy and all its steps before and after."""
    check_configurer(actor)
    with transaction.atomic():
        policy = lock_row(Policy, policy_id) if policy_id is not None else Policy()
        before = _policy_values(policy) if policy_id is not None else None
        apply_values(policy, values, None)
        # Removals first, so that a step may take the order a removed one had.
        for step in sorted(steps, key=lambda s: not s.delete):
            _step_save(policy, step)
        record_configuration(
            actor=actor,
            obj=policy,
            operation="updated" if before is not None else "created",
            before=before,
            after=_policy_values(policy),
        )
    return policy


# --- deleting ------------------------------------------------------------------------------

DELETABLE = (Policy, Department, BlackoutWindow, ChangeTemplate)


def changes_naming(department: Department) -> list[str]:
    """Keys of changes that name the department: deleting it would rewrite their record."""
    changes = ChangeRequest.objects.filter(departments=department).order_by("pk")
    return [c.key for c in changes[:20]]


def configuration_delete(*, actor: User, model: type[models.Model], object_id: int) -> None:
    """Delete a policy (with its steps), department, blackout window or unused template; audited
    with the values it had. A department named on a change stays: the record needs it."""
    check_configurer(actor)
    if model not in DELETABLE:
        raise NotAllowed(_("This record cannot be deleted."))
    with transaction.atomic():
        obj = lock_row(model, object_id)
        if isinstance(obj, Department) and changes_naming(obj):
            raise InvalidTransition(_("Changes name this department; it cannot be deleted."))
        before = _policy_values(obj) if isinstance(obj, Policy) else describe(obj)
        pk = obj.pk
        try:
            obj.delete()
        except ProtectedError:
            raise InvalidTransition(
                _("Other records use this one; it cannot be deleted.")
            ) from None
        obj.pk = pk
        record_configuration(actor=actor, obj=obj, operation="deleted", before=before, after=None)


# --- people: roles, department, account flags ----------------------------------------------

# What a change manager may change on an account; the rest is for superusers.
MANAGER_USER_FIELDS = frozenset({"is_active"})
MANAGER_PROFILE_FIELDS = frozenset({"department", "time_zone", "language"})


def _user_values(user: User) -> dict[str, Any]:
    profile = Profile.objects.select_related("department", "manager").filter(user=user).first()
    values = describe(user)
    values["department"] = label(profile.department) if profile and profile.department else None
    values["manager"] = label(profile.manager) if profile and profile.manager else None
    values["time_zone"] = profile.time_zone if profile else ""
    values["language"] = profile.language if profile else ""
    return values


def _check_account_edit(
    actor: User,
    user: User | None,
    values: dict[str, Any],
    profile: dict[str, Any] | None,
    *,
    permissions: Iterable[Permission] | None,
    password: object,
) -> None:
    check_configurer(actor)
    if actor.is_superuser:
        return
    if user is None:
        raise NotAllowed(_("Only a superuser may create accounts."))
    if user.is_superuser:
        raise NotAllowed(_("Only a superuser may change a superuser's account."))
    if user.pk == actor.pk:
        raise NotAllowed(_("Segregation of duties: you cannot change your own roles or account."))
    if set(values) - MANAGER_USER_FIELDS or set(profile or {}) - MANAGER_PROFILE_FIELDS:
        raise NotAllowed(
            _("Only a superuser may change this: %(names)s.")
            % {"names": ", ".join(sorted((set(values) - MANAGER_USER_FIELDS) | set(profile or {})))}
        )
    if permissions is not None or password is not _UNCHANGED:
        raise NotAllowed(_("Only a superuser may change permissions or passwords."))


class _Unchanged:
    pass


_UNCHANGED: Any = _Unchanged()


def user_save(
    *,
    actor: User,
    user_id: int | None,
    values: dict[str, Any],
    roles: Iterable[Group] | None = None,
    profile: dict[str, Any] | None = None,
    permissions: Iterable[Permission] | None = None,
    password: str | None = _UNCHANGED,
) -> User:
    """Create or change an account: its flags, roles (groups), department and manager
    (profile). A change manager may change only the active flag, roles and department of
    someone else who is not a superuser; everything else is for superusers. One audit event,
    `roles_changed` when the roles moved, `configuration_changed` otherwise.

    `password` (creation only): a raw password to set, or None for an unusable one."""
    with transaction.atomic():
        user = lock_row(User, user_id) if user_id is not None else None
        _check_account_edit(
            actor, user, values, profile, permissions=permissions, password=password
        )
        before = _user_values(user) if user is not None else None
        user = user or User()
        if password is not _UNCHANGED:
            user.set_password(password) if password else user.set_unusable_password()
        m2m: dict[str, Iterable[Any]] = {}
        if roles is not None:
            m2m["groups"] = roles
        if permissions is not None:
            m2m["user_permissions"] = permissions
        apply_values(user, values, m2m)
        if profile:
            Profile.objects.update_or_create(user=user, defaults=profile)
        after = _user_values(user)
        operation = "updated" if before is not None else "created"
        if (before or {}).get("groups", []) != after["groups"]:
            audit.roles_changed(
                actor=actor, user_id=user.pk, operation=operation, before=before, after=after
            )
            outbox.events_recorded()
        else:
            record_configuration(
                actor=actor, obj=user, operation=operation, before=before, after=after
            )
    return user


def user_roles_set(*, actor: User, user_id: int, roles: Iterable[str]) -> User:
    """Give a user exactly these roles (group names); audited with the roles before and after.
    Nobody but a superuser changes their own roles or a superuser's."""
    names = sorted(set(roles))
    groups = list(Group.objects.filter(name__in=names))
    unknown = sorted(set(names) - {g.name for g in groups})
    if unknown:
        raise InvalidInput({"roles": [_("No such role: %(n)s.") % {"n": ", ".join(unknown)}]})
    return user_save(actor=actor, user_id=user_id, values={}, roles=groups)


# --- the change manager's permissions ---------------------------------------------------------

# (app label, model, actions): what a change manager needs to configure the system in the admin.
CHANGE_MANAGER_PERMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("approvals", "policy", ("view", "add", "change", "delete")),
    ("approvals", "policystep", ("view", "add", "change", "delete")),
    ("approvals", "department", ("view", "add", "change", "delete")),
    ("approvals", "blackoutwindow", ("view", "add", "change", "delete")),
    ("approvals", "changetemplate", ("view", "add", "change", "delete")),
    ("approvals", "delegation", ("view", "add", "change", "delete")),
    ("approvals", "profile", ("view", "add", "change", "delete")),
    ("auth", "user", ("view", "change")),
    ("auth", "group", ("view",)),
    ("approvals", "changerequest", ("view",)),
    ("approvals", "auditevent", ("view",)),
)


def change_manager_permissions_install() -> None:
    """Give the change-manager group exactly its permissions (idempotent). The data migration
    does the same in every installation; this re-applies it after a database flush."""
    group, _created = Group.objects.get_or_create(name=Role.CHANGE_MANAGER)
    wanted = []
    for app_label, model, actions in CHANGE_MANAGER_PERMISSIONS:
        content_type, _created = ContentType.objects.get_or_create(app_label=app_label, model=model)
        for action in actions:
            permission, _created = Permission.objects.get_or_create(
                content_type=content_type,
                codename=f"{action}_{model}",
                defaults={"name": f"Can {action} {model}"},
            )
            wanted.append(permission)
    group.permissions.set(wanted)
