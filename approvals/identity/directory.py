"""Accounts that a directory signs in (OpenID Connect, LDAP / Active Directory): created on first
sign-in, their roles and department taken from the directory at every sign-in, each change
audited like an administrator's grant.

The directory owns the roles named in its role map and nothing else: a role the map can grant is
removed when the directory no longer grants it; roles outside the map (given by a change manager)
are left alone."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from approvals import audit, outbox
from approvals.choices import Role
from approvals.identity.models import ExternalAccount
from approvals.models import Department, Profile
from approvals.workflow.configuration import describe, label


def role_map_parse(text: str) -> dict[str, frozenset[str]]:
    """`"it-heads=approver,cab=cab,it-heads=assessor"` → directory group → roles. Unknown roles
    fail loudly at start-up rather than silently granting nothing."""
    mapping: dict[str, set[str]] = {}
    known = set(Role.values)
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        group, sep, role = (s.strip() for s in item.rpartition("="))
        if not sep or not group or not role:
            raise ImproperlyConfigured(f"role map entry {item!r} is not group=role")
        if role not in known:
            raise ImproperlyConfigured(f"role map entry {item!r}: no such role {role!r}")
        mapping.setdefault(group, set()).add(role)
    return {group: frozenset(roles) for group, roles in mapping.items()}


def roles_for_groups(
    *, groups: Iterable[str], role_map: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The roles the directory grants to a member of `groups` (matched without regard to case)."""
    by_name = {name.casefold(): roles for name, roles in role_map.items()}
    granted: set[str] = set()
    for group in groups:
        granted |= by_name.get(group.casefold(), frozenset())
    return frozenset(granted)


@dataclass(frozen=True)
class DirectoryEntry:
    """What a directory says about a person at sign-in."""

    source: str
    subject: str
    groups: frozenset[str]
    department_code: str | None = None


def _values(user: User) -> dict[str, Any]:
    profile = Profile.objects.select_related("department").filter(user=user).first()
    department = profile.department if profile else None
    return describe(user, exclude=("user_permissions",)) | {
        "department": label(department) if department else None
    }


def _department(code: str | None) -> Department | None:
    if not code:
        return None
    return Department.objects.filter(code__iexact=code.strip()).first()


def external_account_user(*, source: str, subject: str) -> User | None:
    """The account a directory entry signed in before, if any."""
    account = ExternalAccount.objects.select_related("user").filter(source=source, subject=subject)
    found = account.first()
    return found.user if found else None


def directory_account_sync(
    *,
    user: User,
    entry: DirectoryEntry,
    role_map: Mapping[str, frozenset[str]],
    created: bool,
) -> User:
    """Bring `user` in line with the directory: link the entry, set the roles the map owns and
    the department (when the directory names a known one). One audit event when anything moved;
    a new account always gets one."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = None if created else _values(user)
        ExternalAccount.objects.get_or_create(
            source=entry.source, subject=entry.subject, defaults={"user": user}
        )
        owned = frozenset().union(*role_map.values()) if role_map else frozenset()
        granted = roles_for_groups(groups=entry.groups, role_map=role_map)
        current = set(user.groups.values_list("name", flat=True))
        wanted = (current - owned) | granted
        if wanted != current:
            user.groups.set(Group.objects.filter(name__in=wanted))
        department = _department(entry.department_code)
        if department is not None:
            Profile.objects.update_or_create(user=user, defaults={"department": department})
        after = _values(user)
        if before != after:
            audit.directory_account_synced(
                user_id=user.pk,
                source=entry.source,
                operation="created" if created else "updated",
                before=before,
                after=after,
            )
            outbox.events_recorded()
    return user
