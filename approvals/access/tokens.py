"""API tokens: issued for a password (or a signed-in session), hashed at rest, expiring after
API_TOKEN_DAYS, listed and revoked by their owner, and revoked with the session that made them."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from approvals.access.models import ApiToken

# Writing last_used_at on every call would turn each API read into a write; this is precise
# enough for an owner deciding which token to revoke.
LAST_USED_PRECISION = timedelta(minutes=5)


def _digest(raw: str) -> str:
    # The token carries 256 random bits, so a fast hash is safe: there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def token_issue(*, user: User, session_key: str = "", now: datetime | None = None) -> str:
    """Create a token for `user` and return it; this is the only time it is ever readable."""
    now = now or timezone.now()
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        digest=_digest(raw),
        prefix=raw[:8],
        created_at=now,
        expires_at=now + timedelta(days=settings.API_TOKEN_DAYS),
        session_key=session_key,
    )
    return raw


def token_authenticate(*, raw: str, now: datetime | None = None) -> ApiToken | None:
    """The live token matching `raw` (with its user), or None when unknown or expired."""
    now = now or timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), expires_at__gt=now)
        .first()
    )
    if token is None:
        return None
    if now - (token.last_used_at or token.created_at) > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_of(*, user: User, now: datetime | None = None) -> QuerySet[ApiToken]:
    """The user's live tokens, newest first."""
    now = now or timezone.now()
    return ApiToken.objects.filter(user=user, expires_at__gt=now).order_by("-created_at", "-pk")


def token_revoke(*, user: User, token_id: int) -> bool:
    """Delete one of the user's own tokens; False when the user owns no such token."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return deleted > 0


def tokens_revoke_for_session(*, session_key: str) -> int:
    """Delete every token issued in the browser session `session_key` (it is signing out)."""
    if not session_key:
        return 0
    deleted, _ = ApiToken.objects.filter(session_key=session_key).delete()
    return deleted


def tokens_purge_expired(*, now: datetime | None = None) -> int:
    """Delete expired tokens (they no longer authenticate; this only keeps the table small)."""
    deleted, _ = ApiToken.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
