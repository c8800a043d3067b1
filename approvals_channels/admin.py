from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from approvals.admin import ReadOnly
from approvals.choices import Role
from approvals_channels import services
from approvals_channels.models import ChatDelivery, ChatTarget, DecisionLink


class ChatTargetForm(forms.ModelForm):
    class Meta:
        model = ChatTarget
        fields = services.FIELDS
        widgets = {"secret": forms.PasswordInput(render_value=False)}
        help_texts = {
            "secret": "DingTalk's SEC… secret or Feishu's signing secret; leave empty to keep the "
            "current one.",
            "url": "The robot's webhook address as the platform gives it (WeCom's includes its key).",
        }


def _change_manager(request: HttpRequest) -> bool:
    """Chat targets belong to the change-manager role (the service checks it again)."""
    user = request.user
    return bool(
        user.is_active
        and (user.is_superuser or user.groups.filter(name=Role.CHANGE_MANAGER).exists())
    )


class ChangeManagerAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _change_manager(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _change_manager(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _change_manager(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _change_manager(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _change_manager(request)


@admin.register(ChatTarget)
class ChatTargetAdmin(ChangeManagerAdmin):
    form = ChatTargetForm
    list_display = ("name", "platform", "department", "policy_step", "is_active")
    list_filter = ("platform", "is_active")

    def save_model(self, request: HttpRequest, obj: ChatTarget, form: Any, change: bool) -> None:
        # Through the service, so every edit is checked and audited.
        data = {name: form.cleaned_data.get(name) for name in services.FIELDS}
        saved = services.target_save(
            actor=cast(User, request.user), target_id=obj.pk if change else None, data=data
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ChatTarget) -> None:
        services.target_delete(actor=cast(User, request.user), target_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ChatTarget]) -> None:
        # "Delete selected": one audited deletion per target, all or none.
        with transaction.atomic():
            for target in queryset:
                self.delete_model(request, target)


@admin.register(ChatDelivery)
class ChatDeliveryAdmin(ReadOnly, ChangeManagerAdmin):
    list_display = ("event", "target", "status", "attempts", "last_status_code", "delivered_at")
    list_filter = ("status",)
    list_select_related = ("target",)
    readonly_fields = [f.name for f in ChatDelivery._meta.fields]


@admin.register(DecisionLink)
class DecisionLinkAdmin(ReadOnly, ChangeManagerAdmin):
    """Issued links, for tracing a decision's token id; the tokens themselves are never stored."""

    list_display = ("pk", "step", "user", "decision", "channel", "expires_at", "used_at")
    list_filter = ("channel",)
    readonly_fields = [f.name for f in DecisionLink._meta.fields if f.name != "token_hash"]
    exclude = ("token_hash",)
