from django.apps import AppConfig


class AccessConfig(AppConfig):
    """Who gets in: expiring, hashed API tokens and the sign-in lockout's audit record."""

    name = "approvals.access"
    label = "access"
    verbose_name = "Access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from approvals.access import receivers  # noqa: F401  (connects the auth receivers)
