"""A person's own reading preferences: the time zone they read and type times in and the
language their notifications and e-mails are written in. They change how the record is shown,
never the record, so they are not configuration and leave no audit event; a change manager
setting them for someone else goes through `configuration.user_save`, which is audited."""

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.exceptions import InvalidInput
from approvals.models import Profile


def preferences_save(*, user: User, time_zone: str, language: str) -> Profile:
    """Set the user's own time zone and language (empty: the site's)."""
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        profile.time_zone, profile.language = time_zone, language
        try:
            profile.full_clean(exclude=["user", "department", "manager"])
        except ValidationError as error:
            errors = {name: [str(m) for m in msgs] for name, msgs in error.message_dict.items()}
            raise InvalidInput(errors) from None
        profile.save(update_fields=["time_zone", "language"])
    return profile
