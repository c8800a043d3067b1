"""Decision links: approve / reject from an approver's own e-mail, without signing in.

A link is bound to one step and one approver: a 256-bit random token, of which only the SHA-256
is stored, used once, and expiring at the earlier of LINK_LIFETIME and the step's due time. Its
page shows the change and asks for confirmation (GET decides nothing, so mail scanners that
follow links change nothing); the POST decides through `workflow.step_decide` as the link's
approver, naming the link's step, so every control of the workflow holds and a link for a step
that has moved on is refused as stale. The decision's audit event names the channel and the link.
Chat messages, which a group reads, carry no link; a link ever issued for chat decides nothing.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import workflow
from approvals.choices import DecisionKind, StepStatus
from approvals.exceptions import InvalidInput, InvalidTransition, NotAllowed, NotFound
from approvals.models import ApprovalStep, ChangeRequest
from approvals_channels.models import DecisionLink, LinkChannel

TOKEN_BYTES = 32  # 256 bits
LINK_LIFETIME = timedelta(hours=72)
DECISIONS = (DecisionKind.APPROVE, DecisionKind.REJECT)


class LinkUsed(InvalidTransition):
    """The link (or its sibling from the same message) has already decided."""

    code = "link_used"


class LinkExpired(InvalidTransition):
    code = "link_expired"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def expiry(step: ApprovalStep, now: datetime) -> datetime:
    """The earlier of LINK_LIFETIME from now and the step's due time."""
    ends = now + LINK_LIFETIME
    return min(ends, step.due_at) if step.due_at is not None else ends


def issue(
    *, step: ApprovalStep, user: User, decision: str, channel: str, now: datetime | None = None
) -> str | None:
    """A new link's token, or None when the step is no longer open or already due."""
    now = now or timezone.now()
    expires_at = expiry(step, now)
    if step.status != StepStatus.PENDING or expires_at <= now:
        return None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    DecisionLink.objects.create(
        token_hash=token_hash(token),
        step=step,
        user=user,
        decision=decision,
        channel=channel,
        created_at=now,
        expires_at=expires_at,
    )
    return token


def url_of(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("approvals_channels:decide", args=[token])


def find(token: str) -> DecisionLink | None:
    """The e-mail link of a token, with its step, change and approver."""
    if not token or len(token) > 100:
        return None
    return (
        DecisionLink.objects.select_related("step", "step__change", "step__change__requester")
        .select_related("user")
        .filter(token_hash=token_hash(token), channel=LinkChannel.EMAIL)
        .first()
    )


def refusal(link: DecisionLink | None, *, now: datetime | None = None) -> str | None:
    """Why the link cannot decide anything, before anything is tried; None when it may."""
    now = now or timezone.now()
    if link is None:
        return _("This link is not known. Open the change in the application instead.")
    if link.used_at is not None:
        return _("This link was already used: the decision it carried is recorded.")
    if link.expires_at <= now:
        return _("This link has expired. Open the change in the application to decide it.")
    if link.step.status != StepStatus.PENDING:
        return _(
            "This step has moved on (it was decided, or the change changed): the link changes "
            "nothing. Open the change in the application."
        )
    return None


def decide_by_link(*, token: str, decision: str, comment: str = "") -> ChangeRequest:
    """Decide the link's step as its approver, once. Raises NotFound, LinkUsed, LinkExpired,
    InvalidInput, or whatever the workflow refuses (a stale step, a control); a refusal changes
    nothing and leaves the link unused."""
    now = timezone.now()
    with transaction.atomic():
        link = (
            DecisionLink.objects.select_for_update()
            .select_related("step", "user")
            .filter(token_hash=token_hash(token), channel=LinkChannel.EMAIL)
            .first()
        )
        if link is None:
            raise NotFound(_("This link is not known. Open the change in the application instead."))
        if link.used_at is not None:
            raise LinkUsed(_("This link was already used: the decision it carried is recorded."))
        if link.expires_at <= now:
            raise LinkExpired(
                _("This link has expired. Open the change in the application to decide it.")
            )
        if decision not in DECISIONS or (link.decision and decision != link.decision):
            raise InvalidInput({"decision": [_("This link cannot make that decision.")]})
        if not link.user.is_active:
            raise NotAllowed(_("This account is disabled."))
        change = workflow.step_decide(
            actor=link.user,
            change_id=link.step.change_id,
            decision=decision,
            comment=comment,
            step_id=link.step_id,
            channel={"channel": link.channel, "token_id": link.pk},
        )
        # The seat has decided: every other link of this step for this approver is spent too.
        DecisionLink.objects.filter(
            step_id=link.step_id, user_id=link.user_id, used_at__isnull=True
        ).update(used_at=now)
    return change
