"""The change manager's configuration pages. Every save and delete goes through the services in
`approvals.workflow` (configuration, templates, delegations), so each write is checked and lands
in the audit trail with its values before and after; records of changes and of the audit trail
are shown, never edited."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.contrib.auth.models import User as UserModel
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.exceptions import DomainError
from approvals.localization import time_zone_names
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
from approvals.selectors import load_actor, visible_changes
from approvals.workflow import configuration, delegations, templates
from approvals.workflow.configuration import StepInput

User = get_user_model()


def _acting(request: HttpRequest) -> UserModel:
    return cast(UserModel, request.user)


def _form_values(form: ModelForm, *, skip: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """The form's cleaned values for the model's own columns, and for its many-to-many ones."""
    opts = form._meta.model._meta
    columns = {f.name for f in opts.concrete_fields if not f.primary_key}
    m2m = {f.name for f in opts.many_to_many}
    data = form.cleaned_data
    names = [n for n in form.fields if n in data and n not in skip]
    return (
        {n: data[n] for n in names if n in columns},
        {n: list(data[n]) for n in names if n in m2m},
    )


def _note_inline_changes(formset: Any) -> None:
    """What the admin's own history message reads from a formset it saved itself."""
    deleted = [f for f in formset.forms if formset.can_delete and formset._should_delete_form(f)]
    kept = [f for f in formset.forms if f not in deleted and f.has_changed()]
    formset.deleted_objects = [f.instance for f in deleted if f.instance.pk is not None]
    formset.new_objects = [f.instance for f in kept if f.instance.pk is None]
    formset.changed_objects = [(f.instance, f.changed_data) for f in kept if f.instance.pk]


class ReadOnly:
    """Shown, never added, edited or deleted in the admin (mixed into a ModelAdmin)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """Records shown, never edited here: changes move only through the workflow services, the
    audit trail is append-only, ledgers and sent messages are history."""


class ServiceAdmin(admin.ModelAdmin):
    """Saves a row together with its many-to-many values and inline rows in one service call
    (one transaction, one audit event with before and after), and deletes through a service."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        pass  # saved with its related values in save_related, in one audited write

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        object_id = form.instance.pk if change else None
        saved = self.save_through_service(request, form, formsets, object_id)
        form.instance.pk = saved.pk
        for formset in formsets:
            _note_inline_changes(formset)

    def save_through_service(
        self, request: HttpRequest, form: ModelForm, formsets: Any, object_id: int | None
    ) -> models.Model:
        raise NotImplementedError

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        configuration.configuration_delete(
            actor=_acting(request), model=type(obj), object_id=obj.pk
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


# --- policies, departments, windows ---------------------------------------------------------


class PolicyStepInline(admin.TabularInline):
    model = PolicyStep
    extra = 0
    filter_horizontal = ("groups",)


def _step_inputs(formset: Any) -> list[StepInput]:
    steps = []
    for form in formset.forms:
        pk = form.instance.pk
        if formset.can_delete and formset._should_delete_form(form):
            if pk is not None:
                steps.append(StepInput(step_id=pk, delete=True))
            continue
        if not form.has_changed():
            continue
        values, m2m = _form_values(form, skip=("policy",))
        steps.append(StepInput(step_id=pk, values=values, groups=m2m.get("groups")))
    return steps


@admin.register(Policy)
class PolicyAdmin(ServiceAdmin):
    list_display = ("name", "change_type", "min_level", "max_level", "priority", "is_active")
    list_filter = ("change_type", "is_active")
    inlines = [PolicyStepInline]

    def save_through_service(
        self, request: HttpRequest, form: ModelForm, formsets: Any, object_id: int | None
    ) -> models.Model:
        values, _m2m = _form_values(form)
        steps = [step for formset in formsets for step in _step_inputs(formset)]
        return configuration.policy_save(
            actor=_acting(request), policy_id=object_id, values=values, steps=steps
        )


@admin.register(Department)
class DepartmentAdmin(ServiceAdmin):
    list_display = ("code", "name", "head")
    search_fields = ("code", "name")

    def save_through_service(
        self, request: HttpRequest, form: ModelForm, formsets: Any, object_id: int | None
    ) -> models.Model:
        values, _m2m = _form_values(form)
        return configuration.department_save(
            actor=_acting(request), department_id=object_id, values=values
        )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        to_delete, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for department in objs:
            protected += [
                _("%(department)s is named on %(change)s")
                % {"department": department, "change": key}
                for key in configuration.changes_naming(department)
            ]
        return to_delete, counts, perms_needed, protected


@admin.register(BlackoutWindow)
class BlackoutWindowAdmin(ServiceAdmin):
    list_display = ("name", "starts_at", "ends_at")
    filter_horizontal = ("departments",)

    def save_through_service(
        self, request: HttpRequest, form: ModelForm, formsets: Any, object_id: int | None
    ) -> models.Model:
        values, m2m = _form_values(form)
        return configuration.blackout_window_save(
            actor=_acting(request),
            window_id=object_id,
            values=values,
            departments=m2m.get("departments"),
        )


# --- standard-change templates --------------------------------------------------------------


class RetireForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


@admin.register(ChangeTemplate)
class ChangeTemplateAdmin(ServiceAdmin):
    list_display = ("name", "category", "impact", "status", "approved_by", "approved_at")
    list_filter = ("category", "status")
    filter_horizontal = ("departments",)
    readonly_fields = ("status", "status_reason", "approved_by", "approved_at")
    actions = ["approve", "retire"]

    def save_through_service(
        self, request: HttpRequest, form: ModelForm, formsets: Any, object_id: int | None
    ) -> models.Model:
        values, m2m = _form_values(form)
        return templates.template_save(
            actor=_acting(request),
            template_id=object_id,
            values=values,
            departments=m2m.get("departments"),
        )

    def _each(self, request: HttpRequest, queryset: QuerySet, service: Any, done: str) -> None:
        count = 0
        for template in queryset:
            try:
                service(template.pk)
            except DomainError as refused:
                self.message_user(request, f"{template}: {refused.message}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Approve for use"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _acting(request)
        self._each(
            request,
            queryset,
            lambda pk: templates.template_approve(actor=actor, template_id=pk),
            _("%(count)d template(s) approved."),
        )

    @admin.action(description=gettext_lazy("Retire"), permissions=["change"])
    def retire(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = RetireForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            actor, reason = _acting(request), form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                lambda pk: templates.template_retire(actor=actor, template_id=pk, reason=reason),
                _("%(count)d template(s) retired."),
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Retire standard-change templates"),
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/approvals/changetemplate/retire.html", context)


# --- delegations ----------------------------------------------------------------------------


class DelegationAdminForm(forms.ModelForm):
    """Checked by the same rules as the delegation service (no auditor as delegate, dates)."""

    actor: UserModel | None = None

    class Meta:
        model = Delegation
        fields = ("delegator", "delegate", "starts_at", "ends_at", "reason")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        assert self.actor is not None
        errors = delegations.delegation_errors(
            actor=self.actor,
            delegator=data.get("delegator"),
            delegate=data.get("delegate"),
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            reason=data.get("reason", ""),
        )
        for name, messages_ in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, messages_)
        return data


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    """Delegations are created and ended, never rewritten: history says who held which seat."""

    form = DelegationAdminForm
    list_display = ("delegator", "delegate", "starts_at", "ends_at", "reason")
    list_filter = ("starts_at",)
    list_select_related = ("delegator", "delegate")
    actions = ["end_now"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        form = super().get_form(request, obj, change=change, **kwargs)
        # The rules depend on who acts (only a change manager delegates another's seat).
        return type(form.__name__, (form,), {"actor": _acting(request)})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        saved = delegations.delegation_create(
            actor=_acting(request),
            delegator=data["delegator"],
            delegate=data["delegate"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            reason=data.get("reason", ""),
        )
        obj.pk = saved.pk

    @admin.action(description=gettext_lazy("End now"), permissions=["change"])
    def end_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = _acting(request)
        for delegation in queryset:
            try:
                delegations.delegation_end(actor=actor, delegation_id=delegation.pk)
            except DomainError as refused:
                self.message_user(request, f"{delegation}: {refused.message}", messages.ERROR)


# --- people ---------------------------------------------------------------------------------


class ProfileForm(forms.ModelForm):
    time_zone = forms.TypedChoiceField(
        label=gettext_lazy("time zone"),
        required=False,
        choices=lambda: (
            [("", gettext_lazy("the site's time zone"))]
            + [(name, name) for name in time_zone_names()]
        ),
    )

    class Meta:
        model = Profile
        fields = ("department", "manager", "time_zone", "language")


class ProfileInline(admin.StackedInline):
    model = Profile
    form = ProfileForm
    can_delete = False
    fk_name = "user"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _acting(request).is_superuser:
            return ["department", "manager", "time_zone", "language"]
        return ["department", "time_zone", "language"]


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """Superusers see the whole account; a change manager sees and changes only whether it is
    active, its roles and its department, and never their own account or a superuser's."""

    inlines = [ProfileInline]
    list_display = ("username", "email", "first_name", "last_name", "is_staff")
    manager_fieldsets = ((None, {"fields": ("username", "is_active", "groups")}),)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if _acting(request).is_superuser or obj is None:
            return super().get_fieldsets(request, obj)
        return self.manager_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if _acting(request).is_superuser:
            return super().get_readonly_fields(request, obj)
        return ("username",)

    def get_list_display(self, request: HttpRequest) -> Any:
        if _acting(request).is_superuser:
            return self.list_display
        return ("username", "first_name", "last_name", "is_active")

    def get_list_filter(self, request: HttpRequest) -> Any:
        if _acting(request).is_superuser:
            return self.list_filter
        return ("is_active", "groups")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        actor = _acting(request)
        if obj is not None and not actor.is_superuser and (obj.is_superuser or obj.pk == actor.pk):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # accounts are deactivated, never deleted: the record names them

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        if not _acting(request).is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        pass  # saved with roles and profile in save_related, in one audited write

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        values, m2m = _form_values(form, skip=("password",))
        profile: dict[str, Any] = {}
        for formset in formsets:
            for inline in formset.forms:
                if inline.has_changed() or inline.instance.pk is not None:
                    profile.update(_form_values(inline, skip=("user",))[0])
        extra: dict[str, Any] = {}
        if not change:
            usable = form.cleaned_data.get("set_usable_password", True)
            extra["password"] = form.cleaned_data.get("password1") if usable else None
        if "user_permissions" in m2m:
            extra["permissions"] = m2m["user_permissions"]
        saved = configuration.user_save(
            actor=_acting(request),
            user_id=form.instance.pk if change else None,
            values=values,
            roles=m2m.get("groups"),
            profile=profile or None,
            **extra,
        )
        form.instance.pk = saved.pk
        for formset in formsets:
            _note_inline_changes(formset)


@admin.register(Group)
class GroupAdmin(ReadOnly, BaseGroupAdmin):
    """Roles and their permissions are installed by migrations (the same in every installation)
    and shown here; who holds a role is changed on the user's page."""


# --- records ------------------------------------------------------------------------------


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

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChangeRequest]:
        """Need to know holds here too: only a superuser sees changes beyond the ones the
        signed-in person may open in the product (never someone else's private draft)."""
        qs = super().get_queryset(request)
        if _acting(request).is_superuser:
            return qs
        return qs.filter(pk__in=visible_changes(load_actor(_acting(request))).values("pk"))


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

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        """Events of changes the signed-in person may see, and events of no change; a superuser
        sees every event."""
        qs = super().get_queryset(request)
        if _acting(request).is_superuser:
            return qs
        visible = visible_changes(load_actor(_acting(request))).values("pk")
        return qs.filter(Q(change__isnull=True) | Q(change_id__in=visible))


@admin.register(AuditSnapshot)
class AuditSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "first_seq", "last_seq", "event_count", "digest")
