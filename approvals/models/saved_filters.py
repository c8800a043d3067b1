from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedFilter(models.Model):
    """A person's named filter of the change list: the list's query string, kept as typed, so
    that a filter added to the page later never invalidates the saved ones."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("query"), max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_filter_name_per_user")
        ]

    def __str__(self) -> str:
        return self.name
