"""Start-up checks: a role map that names no real role fails `manage.py check` (and start-up),
rather than the first sign-in."""

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from approvals.identity.directory import role_map_parse


@checks.register(checks.Tags.security)
def role_maps_valid(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name in ("OIDC_ROLE_MAP", "LDAP_ROLE_MAP"):
        try:
            role_map_parse(getattr(settings, name, ""))
        except ImproperlyConfigured as error:
            errors.append(checks.Error(f"{name}: {error}", id="identity.E001"))
    return errors
