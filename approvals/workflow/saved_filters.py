"""A person's saved filters of the change list: their own preference, not part of any change's
record, so they write no audit event."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from approvals.exceptions import InvalidInput, NotFound
from approvals.models import SavedFilter

MAX_SAVED_FILTERS = 30


def saved_filter_save(*, user: User, name: str, query: str) -> SavedFilter:
    """Save the list's query under `name`; saving a name again replaces its query."""
    name = name.strip()
    if not name:
        raise InvalidInput({"name": [_("Name the filter.")]})
    with transaction.atomic():
        existing = SavedFilter.objects.select_for_update().filter(user=user, name=name).first()
        if existing is not None:
            existing.query = query
            existing.save(update_fields=["query"])
            return existing
        if SavedFilter.objects.filter(user=user).count() >= MAX_SAVED_FILTERS:
            raise InvalidInput(
                {
                    "name": [
                        _("You have %(n)s saved filters; delete one first.")
                        % {"n": MAX_SAVED_FILTERS}
                    ]
                }
            )
        return SavedFilter.objects.create(user=user, name=name, query=query)


def saved_filter_delete(*, user: User, filter_id: int) -> None:
    deleted, _rows = SavedFilter.objects.filter(user=user, pk=filter_id).delete()
    if not deleted:
        raise NotFound(_("No such saved filter."))
