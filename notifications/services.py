from django.utils import timezone

from notifications.models import Notification


def notifications_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now()
    )
