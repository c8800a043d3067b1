"""Sign-in hook: the one entry point every sign-in passes through (the pages' form, the admin's,
OpenID Connect's callback), so that none of them skips the second step."""

from typing import Any

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from approvals.identity.mfa import PENDING_SESSION_KEY, mfa_step_after_sign_in


@receiver(user_logged_in, dispatch_uid="identity.second_step_pending")
def _second_step_pending(sender: Any, request: HttpRequest | None, user: User, **_: Any) -> None:
    # The API's token endpoint announces a sign-in too (to reset the lockout) but opens no
    # session; it checks the second factor itself.
    if request is None or request.path.startswith("/api/"):
        return
    step = mfa_step_after_sign_in(user)
    if step is not None:
        request.session[PENDING_SESSION_KEY] = step
