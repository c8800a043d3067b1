"""OpenID Connect sign-in (mozilla-django-oidc): the authorization-code flow with PKCE, accounts
matched by the provider's subject, roles and department from configurable claims."""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from approvals.identity.directory import (
    DirectoryEntry,
    directory_account_sync,
    external_account_user,
    role_map_parse,
)
from approvals.identity.models import IdentitySource


def oidc_enabled() -> bool:
    """OpenID Connect sign-in is offered when a client is configured."""
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def _claim(claims: dict[str, Any], name: str) -> Any:
    """A claim by name; a dotted name reads a nested one (`realm_access.roles` in Keycloak)."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def groups_from_claims(claims: dict[str, Any]) -> frozenset[str]:
    value = _claim(claims, settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return frozenset(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def entry_from_claims(claims: dict[str, Any]) -> DirectoryEntry:
    department = (
        _claim(claims, settings.OIDC_DEPARTMENT_CLAIM) if settings.OIDC_DEPARTMENT_CLAIM else None
    )
    return DirectoryEntry(
        source=IdentitySource.OIDC,
        subject=str(claims["sub"]),
        groups=groups_from_claims(claims),
        department_code=str(department) if department else None,
    )


class DirectoryOIDCBackend(OIDCAuthenticationBackend):
    """Signs in the account linked to the provider's `sub`, creating it on first sign-in (with
    no usable local password), then takes roles and department from the claims."""

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub")) and bool(self._username(claims))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> list[User]:
        user = external_account_user(source=IdentitySource.OIDC, subject=str(claims["sub"]))
        return [user] if user is not None else []

    def _username(self, claims: dict[str, Any]) -> str:
        value = _claim(claims, settings.OIDC_USERNAME_CLAIM) or ""
        return str(value).strip()[:150]

    def create_user(self, claims: dict[str, Any]) -> User:
        username = self._username(claims)
        with transaction.atomic():
            # A local account of the same name is not taken over: it may be the break-glass
            # administrator. The directory entry must be linked by a superuser instead.
            if User.objects.filter(username__iexact=username).exists():
                raise SuspiciousOperation(f"a local account named {username!r} already exists")
            user = User(username=username)
            self._copy_names(user, claims)
            user.set_unusable_password()
            user.save()
            return directory_account_sync(
                user=user, entry=entry_from_claims(claims), role_map=self._role_map(), created=True
            )

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        if not user.is_active:
            raise SuspiciousOperation("the account is deactivated")
        self._copy_names(user, claims)
        user.save(update_fields=["email", "first_name", "last_name"])
        return directory_account_sync(
            user=user, entry=entry_from_claims(claims), role_map=self._role_map(), created=False
        )

    def _copy_names(self, user: User, claims: dict[str, Any]) -> None:
        user.email = str(claims.get("email") or user.email)[:254]
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]

    def _role_map(self) -> dict[str, frozenset[str]]:
        return role_map_parse(settings.OIDC_ROLE_MAP)


class SsoStartView(OIDCAuthenticationRequestView):
    """Starts the sign-in at the provider; absent (404) when no provider is configured."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc_enabled():
            raise Http404
        return super().get(request)
