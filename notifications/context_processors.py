from typing import Any

from django.http import HttpRequest

from notifications.selectors import unread_count


def unread(request: HttpRequest) -> dict[str, Any]:
    """`unread_notifications_count` for every template: a number, or None when anonymous."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications_count": None}
    return {"unread_notifications_count": unread_count(user.pk)}
