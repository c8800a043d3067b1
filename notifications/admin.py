from django.contrib import admin

from notifications.models import EventDispatch, Notification, SlaAction


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledgers and sent messages are records: looked at, never edited by hand."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "change", "message", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "message"]
    list_select_related = ["user", "change"]
    raw_id_fields = ["event"]


@admin.register(EventDispatch)
class EventDispatchAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "consumer", "dispatched_at"]
    list_filter = ["consumer"]


@admin.register(SlaAction)
class SlaActionAdmin(ReadOnlyAdmin):
    list_display = ["step", "level", "event_id", "created_at"]
    list_filter = ["level"]
    list_select_related = ["step"]
