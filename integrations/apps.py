from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """Outbound webhooks fed by committed audit events."""

    name = "integrations"
    verbose_name = "Integrations"
    default_auto_field = "django.db.models.BigAutoField"
