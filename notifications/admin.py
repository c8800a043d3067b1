from typing import cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from approvals.admin import ReadOnlyAdmin
from approvals.exceptions import DomainError
from notifications import dead_letters
from notifications.messages import text_of
from notifications.models import EventDispatch, Notification, SlaAction


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "change", "text", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["user__username"]
    list_select_related = ["user", "change"]
    raw_id_fields = ["event"]

    @admin.display(description=gettext_lazy("message"))
    def text(self, notification: Notification) -> str:
        return text_of(notification)


@admin.register(EventDispatch)
class EventDispatchAdmin(ReadOnlyAdmin):
    """The outbox ledger; dead letters are retried or dismissed through the audited services."""

    list_display = ["event_id", "consumer", "status", "attempts", "last_error", "last_attempt_at"]
    list_filter = ["status", "consumer"]
    actions = ["retry", "dismiss"]

    def _each(self, request: HttpRequest, queryset: QuerySet[EventDispatch], action: str) -> None:
        service = getattr(dead_letters, f"dead_letter_{action}")
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                service(actor=cast(User, request.user), dead_letter_id=pk)
                done += 1
            except DomainError as error:
                messages.warning(request, f"#{pk}: {error.message}")
        messages.info(request, f"{done} dead letter(s): {action}.")

    @admin.action(description="Send dead letters again")
    def retry(self, request: HttpRequest, queryset: QuerySet[EventDispatch]) -> None:
        self._each(request, queryset, "retry")

    @admin.action(description="Dismiss dead letters")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[EventDispatch]) -> None:
        self._each(request, queryset, "dismiss")


@admin.register(SlaAction)
class SlaActionAdmin(ReadOnlyAdmin):
    list_display = ["step", "level", "event_id", "created_at"]
    list_filter = ["level"]
    list_select_related = ["step"]
