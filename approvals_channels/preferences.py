"""Each person's channel preferences: which channels carry their notifications (in the app, by
e-mail, in chat), quiet hours in their own time zone during which no e-mail or chat message is
sent (what falls in them goes out when they end), and a daily digest e-mail of everything that
waits for them. Like time zone and language they change how a person is told, never the record,
so saving them leaves no audit event."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.exceptions import InvalidInput
from approvals.localization import zone_named as zone_named
from approvals_channels.models import ChannelPreferences

FIELDS = ("in_app", "email", "chat", "quiet_start", "quiet_end", "digest", "digest_hour")


@dataclass(frozen=True)
class Preferences:
    in_app: bool = True
    email: bool = True
    chat: bool = True
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: bool = False
    digest_hour: int = 8


DEFAULTS = Preferences()


def of(user: Any) -> Preferences:
    """The user's preferences (the defaults when they never saved any); reads the row that
    `select_related("channel_preferences")` loaded, or queries it."""
    try:
        row = user.channel_preferences
    except ChannelPreferences.DoesNotExist:
        return DEFAULTS
    return Preferences(**{name: getattr(row, name) for name in FIELDS})


def mark_read_without_in_app(event_ids: list[int]) -> int:
    """Mark read what these events told people who turned in-app notifications off."""
    from notifications.models import Notification

    return Notification.objects.filter(
        event_id__in=event_ids, read_at__isnull=True, user__channel_preferences__in_app=False
    ).update(read_at=F("created_at"))


def as_data(preferences: Preferences) -> dict[str, Any]:
    return {
        "in_app": preferences.in_app,
        "email": preferences.email,
        "chat": preferences.chat,
        "quiet_start": preferences.quiet_start.strftime("%H:%M")
        if preferences.quiet_start
        else None,
        "quiet_end": preferences.quiet_end.strftime("%H:%M") if preferences.quiet_end else None,
        "digest": preferences.digest,
        "digest_hour": preferences.digest_hour,
    }


def zone_name(user: Any) -> str:
    profile = getattr(user, "profile", None)
    return getattr(profile, "time_zone", "") or ""


def quiet_until(user: Any, *, now: datetime | None = None) -> datetime | None:
    """When the user's quiet hours end, if `now` falls in them; None otherwise."""
    preferences = of(user)
    start, end = preferences.quiet_start, preferences.quiet_end
    if start is None or end is None or start == end:
        return None
    zone = zone_named(zone_name(user))
    local = timezone.localtime(now or timezone.now(), zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=zone)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return ends


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name in ("in_app", "email", "chat", "digest"):
        value = data.get(name, getattr(DEFAULTS, name))
        if not isinstance(value, bool):
            errors[name] = [_("Say true or false.")]
        values[name] = value
    for name in ("quiet_start", "quiet_end"):
        value = data.get(name)
        if value in (None, ""):
            values[name] = None
        elif isinstance(value, time):
            values[name] = value
        else:
            try:
                values[name] = time.fromisoformat(str(value))
            except ValueError:
                errors[name] = [_("Give a time of day as HH:MM.")]
    if (values.get("quiet_start") is None) != (values.get("quiet_end") is None) and not errors:
        errors["quiet_end"] = [_("Quiet hours need both a start and an end.")]
    hour = data.get("digest_hour", DEFAULTS.digest_hour)
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        errors["digest_hour"] = [_("Give an hour from 0 to 23.")]
    values["digest_hour"] = hour
    if errors:
        raise InvalidInput(errors)
    return values


def preferences_save(*, user: User, data: dict[str, Any]) -> Preferences:
    """Replace the user's channel preferences; InvalidInput names every bad value."""
    values = _clean(data)
    with transaction.atomic():
        ChannelPreferences.objects.update_or_create(user=user, defaults=values)
    return Preferences(**values)
