from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import User as UserModel
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from approvals import audit
from approvals.models import (
    AuditEvent,
    AuditSnapshot,
    BlackoutWindow,
    ChangeRequest,
    ChangeTemplate,
    Delegation,
    Department,
    Policy,
    PolicyStep,
    Profile,
)

User = get_user_model()


def _field_values(obj: Any, form: ModelForm | None) -> dict[str, Any]:
    names = form.changed_data if form is not None else []
    return {name: str(form.cleaned_data.get(name)) for name in names} if form is not None else {}


def _acting(request: HttpRequest) -> UserModel | None:
    user = request.user
    return user if isinstance(user, UserModel) else None


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records shown, never edited here: changes move only through the workflow services, the
    audit trail is append-only, ledgers and sent messages are history."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditedAdmin(admin.ModelAdmin):
    """Configuration edits (policies, departments, windows…) land in the audit trail."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.configuration_changed(
                actor=_acting(request),
                model=obj._meta.model_name,
                object_id=obj.pk,
                operation="updated" if change else "created",
                data={"repr": str(obj), "changed": _field_values(obj, form)},
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            audit.configuration_changed(
                actor=_acting(request),
                model=obj._meta.model_name,
                object_id=obj.pk,
                operation="deleted",
                data={"repr": str(obj)},
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class PolicyStepInline(admin.TabularInline):
    model = PolicyStep
    extra = 0
    filter_horizontal = ("groups",)


@admin.register(Policy)
class PolicyAdmin(AuditedAdmin):
    list_display = ("name", "change_type", "min_level", "max_level", "priority", "is_active")
    list_filter = ("change_type", "is_active")
    inlines = [PolicyStepInline]

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        edited = [str(f.instance) for fs in formsets for f in fs.forms if f.has_changed()]
        if edited:
            audit.configuration_changed(
                actor=_acting(request),
                model="policystep",
                object_id=form.instance.pk,
                operation="updated",
                data={"policy": str(form.instance), "steps": edited},
            )


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ("code", "name", "head")
    search_fields = ("code", "name")


@admin.register(ChangeTemplate)
class ChangeTemplateAdmin(AuditedAdmin):
    list_display = ("name", "category", "impact", "status", "approved_by", "approved_at")
    list_filter = ("category", "status")


@admin.register(BlackoutWindow)
class BlackoutWindowAdmin(AuditedAdmin):
    list_display = ("name", "starts_at", "ends_at")
    filter_horizontal = ("departments",)


@admin.register(Delegation)
class DelegationAdmin(AuditedAdmin):
    list_display = ("delegator", "delegate", "starts_at", "ends_at", "reason")
    list_filter = ("starts_at",)


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fk_name = "user"


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff")


@admin.register(ChangeRequest)
class ChangeRequestAdmin(ReadOnlyAdmin):
    """Read-only here: changes move only through the workflow services."""

    list_display = (
        "key",
        "title",
        "change_type",
        "impact",
        "risk",
        "state",
        "requester",
        "updated_at",
    )
    list_filter = ("state", "change_type", "impact")
    search_fields = ("title", "description")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "occurred_at",
        "actor_name",
        "on_behalf_of_name",
        "action",
        "change",
        "from_state",
        "to_state",
    )
    list_filter = ("action",)
    search_fields = ("actor_name", "action")


@admin.register(AuditSnapshot)
class AuditSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "first_seq", "last_seq", "event_count", "digest")
