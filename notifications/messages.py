"""What a notification says, written when it is read or sent, in the reader's language.

A notification is stored as its kind and parameters (the change's key, who acted, the step's
names in both languages, the state or decision as recorded); the sentence is composed from them
in whatever language is active: the reader's on a page, the recipient's in an e-mail.
"""

from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals.choices import ChangeState, DecisionKind
from approvals.localization import localized_value
from notifications.models import Notification, NotificationKind

SENTENCES: dict[str, Promise] = {
    NotificationKind.SUBMITTED: _("%(key)s was submitted by %(who)s and awaits assessment."),
    NotificationKind.STEP_OPENED: _("%(key)s awaits your decision on “%(step)s”."),
    NotificationKind.RETROSPECTIVE_DUE: _(
        "%(key)s was implemented: its retrospective review “%(step)s” is due."
    ),
    NotificationKind.OUTCOME: _("%(key)s was %(state)s (last decision by %(who)s on “%(step)s”)."),
    NotificationKind.DECISION: _("%(who)s decided “%(decision)s” on step “%(step)s” of %(key)s."),
    NotificationKind.APPROVED: _("%(key)s is approved: you may implement it in its window."),
    NotificationKind.REMINDER: _(
        "Reminder: %(key)s has waited for your decision on “%(step)s” for %(p)s %% of its SLA."
    ),
    NotificationKind.ESCALATION: _(
        "%(key)s is overdue on “%(step)s” and was escalated to you: you may decide it."
    ),
    NotificationKind.MENTIONED: _("%(who)s mentioned you on %(key)s: %(excerpt)s"),
}


def _label(choices: type[ChangeState] | type[DecisionKind], value: str) -> str:
    return str(choices(value).label).lower() if value in choices.values else value


def _values(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": params.get("key", ""),
        "who": params.get("who") or gettext("the system"),
        "step": localized_value(params.get("step", ""), params.get("step_zh", "")),
        "state": _label(ChangeState, params.get("state", "")),
        "decision": _label(DecisionKind, params.get("decision", "")),
        "p": params.get("percent", ""),
        "excerpt": params.get("excerpt", ""),
    }


def sentence(*, kind: str, params: Mapping[str, Any]) -> str:
    """The notification's sentence in the active language."""
    if "text" in params:
        return str(params["text"])  # written before sentences were composed when read
    template = SENTENCES.get(kind)
    if template is None:
        return str(NotificationKind(kind).label) if kind in NotificationKind.values else kind
    return str(template) % _values(params)


def text_of(notification: Notification, *, language: str | None = None) -> str:
    """The notification's sentence, in `language` when given (an e-mail to its recipient)."""
    if language is None:
        return sentence(kind=notification.kind, params=notification.params)
    with translation.override(language):
        return sentence(kind=notification.kind, params=notification.params)
