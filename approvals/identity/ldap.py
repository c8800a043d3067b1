"""LDAP / Active Directory sign-in (django-auth-ldap): the directory checks the password; roles
come from its groups (LDAP_ROLE_MAP) and the department from one of its attributes."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django_auth_ldap.backend import LDAPBackend, _LDAPUser

from approvals.identity.directory import (
    DirectoryEntry,
    directory_account_sync,
    external_account_user,
    role_map_parse,
)
from approvals.identity.models import IdentitySource


def _first(attrs: Any, name: str) -> str | None:
    if not name:
        return None
    values = attrs.get(name) or attrs.get(name.lower()) or []
    return str(values[0]) if values else None


class DirectoryLDAPBackend(LDAPBackend):
    """django-auth-ldap's backend, with accounts linked to the directory: a local account that
    was never signed in through LDAP is not taken over by a directory entry of the same name
    (it may be the break-glass administrator)."""

    def get_or_build_user(self, username: str, ldap_user: _LDAPUser) -> tuple[User, bool]:
        subject = username.lower()
        linked = external_account_user(source=IdentitySource.LDAP, subject=subject)
        if linked is not None:
            return linked, False
        if User.objects.filter(username__iexact=subject).exists():
            raise ldap_user.AuthenticationFailed(f"a local account named {subject!r} exists")
        return User(username=subject), True

    def authenticate_ldap_user(self, ldap_user: _LDAPUser, password: str) -> User | None:
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None or not user.is_active:
            return None
        entry = DirectoryEntry(
            source=IdentitySource.LDAP,
            subject=user.get_username().lower(),
            groups=frozenset(ldap_user.group_names),
            department_code=_first(ldap_user.attrs, settings.LDAP_DEPARTMENT_ATTRIBUTE),
        )
        created = not user.external_accounts.filter(source=IdentitySource.LDAP).exists()
        return directory_account_sync(
            user=user,
            entry=entry,
            role_map=role_map_parse(settings.LDAP_ROLE_MAP),
            created=created,
        )
