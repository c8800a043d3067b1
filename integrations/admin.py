from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import services, webhooks
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


class WebhookSubscriptionForm(forms.ModelForm):
    """The same checks as the API: no internal addresses, a Standard Webhooks secret."""

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "secret", "event_types", "is_active")
        help_texts = {
            "secret": "whsec_ and base64; leave empty to generate one (new subscriptions) or to "
            "keep the current one."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["secret"].required = False

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = services.url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        problem = webhooks.secret_problem(secret) if secret else None
        if problem:
            raise forms.ValidationError(problem)
        return secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("__str__", "url", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool
    ) -> None:
        # Through the services, so admin edits are audited like API edits.
        data = {name: getattr(obj, name) for name in services.AUDITED_FIELDS}
        data["secret"] = obj.secret
        if change:
            saved = services.subscription_update(
                actor=cast(User, request.user), subscription_id=obj.pk, data=data
            )
        else:
            saved = services.subscription_create(actor=cast(User, request.user), data=data)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: WebhookSubscription) -> None:
        services.subscription_delete(actor=cast(User, request.user), subscription_id=obj.pk)

    def delete_queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]
    ) -> None:
        # "Delete selected": one audited deletion per subscription, all or none.
        with transaction.atomic():
            for subscription in queryset:
                self.delete_model(request, subscription)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "event_type",
        "event",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "event_type")
    list_select_related = ("subscription",)
    actions = ["redeliver"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Deliver again")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset.exclude(status=DeliveryStatus.SENDING):
            webhooks.redeliver(delivery)
        messages.info(request, "The selected deliveries are queued again.")
