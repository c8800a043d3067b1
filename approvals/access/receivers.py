"""Hooks into sign-in and sign-out. These are the only entry points Django and django-axes offer
for them, and both sign-out paths (the pages' and the admin's) pass through them."""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from approvals import audit
from approvals.access.tokens import tokens_revoke_for_session


@receiver(user_locked_out, dispatch_uid="access.lockout_audited")
def _lockout_audited(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **_: Any
) -> None:
    # django-axes announces a lockout again for each attempt made while it lasts; only the
    # attempt that reached the limit carries the failure count, and only that one is recorded.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    audit.login_locked_out(
        username=username or "",
        ip_address=ip_address or "",
        path=request.path,
        failures=failures,
    )


@receiver(user_logged_out, dispatch_uid="access.session_tokens_revoked")
def _session_tokens_revoked(sender: Any, request: HttpRequest | None, **_: Any) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        tokens_revoke_for_session(session_key=session.session_key)
