from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API: serializers and views over the workflow services, plus idempotency keys."""

    name = "approvals.api"
    label = "approvals_api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"
