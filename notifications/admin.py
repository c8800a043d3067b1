from django.contrib import admin

from approvals.admin import ReadOnlyAdmin
from notifications.models import EventDispatch, Notification, SlaAction


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
