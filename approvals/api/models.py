from django.conf import settings
from django.db import models


class IdempotencyRecord(models.Model):
    """A POST made with an `Idempotency-Key`: claimed before the action runs, then the response.

    The unique (user, key) pair is what makes concurrent repeats execute once: the second
    insert waits for the first transaction and then finds its stored response.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} by user {self.user_id}"
