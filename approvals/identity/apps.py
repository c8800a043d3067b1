from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """Enterprise sign-in: OpenID Connect and LDAP accounts, their roles from the directory, and
    the second factor (TOTP and recovery codes)."""

    name = "approvals.identity"
    label = "identity"
    verbose_name = "Identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.identity import (  # noqa: F401  (the sign-in receiver, start-up checks)
            checks,
            receivers,
        )
