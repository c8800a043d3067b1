"""Times as a person types them into the pages: in their own time zone (their profile's)."""

from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.localization import zone_named


def typed(moment, username):
    """`moment` as `username` types it into a date-and-time field, read in their time zone."""
    profile = get_user_model().objects.select_related("profile").get(username=username).profile
    return timezone.localtime(moment, zone_named(profile.time_zone)).strftime("%Y-%m-%dT%H:%M")
