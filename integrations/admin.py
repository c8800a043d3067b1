from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import services, webhooks
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookSubscription


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
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


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "event", "subscription", "status", "attempts", "created_at")
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
