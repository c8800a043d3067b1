"""Free text has a ceiling, a title is one line, and no free text carries control characters:
the services refuse, naming the field, and nothing changes (no row, no audit event)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.exceptions import InvalidInput
from approvals.limits import DESCRIPTION_MAX, NOTE_MAX, PLAN_MAX, TITLE_MAX
from approvals.models import AuditEvent, ChangeRequest, Comment, Delegation
from tests.helpers import (
    approve,
    assessed,
    counts,
    new_change,
    open_step_id,
    refresh,
    submitted,
    user,
)

pytestmark = pytest.mark.django_db

MEGABYTES_2_4 = "x" * 2_400_000
MEGABYTES_2 = "y" * 2_000_000


def refused_naming(field: str, change: ChangeRequest | None, action: Callable[[], Any]) -> None:
    """`action` is refused for `field`, and nothing anywhere changed."""
    before = counts(change) if change else None
    totals = (ChangeRequest.objects.count(), AuditEvent.objects.count(), Comment.objects.count())
    with pytest.raises(InvalidInput) as refusal:
        action()
    assert field in refusal.value.errors, refusal.value.errors
    if change is not None:
        assert counts(change) == before
    assert (
        ChangeRequest.objects.count(),
        AuditEvent.objects.count(),
        Comment.objects.count(),
    ) == totals


# --- a change's own fields ----------------------------------------------------------------------


def test_a_description_of_2_4_megabytes_is_refused_and_nothing_is_created(alice):
    refused_naming("description", None, lambda: new_change(alice, description=MEGABYTES_2_4))


@pytest.mark.parametrize(
    "title",
    [
        "Upgrade the database\nBcc: everyone@example.com",
        "Upgrade\r\nthe database",
        "Upgrade\rthe database",
        "Upgrade\u2028the database",
        "Upgrade\tthe database",
    ],
    ids=["lf", "crlf", "cr", "line-separator", "tab"],
)
def test_a_title_with_a_line_break_is_refused_and_nothing_is_created(alice, title):
    refused_naming("title", None, lambda: new_change(alice, title=title))


def test_a_title_is_at_most_200_characters(alice):
    refused_naming("title", None, lambda: new_change(alice, title="t" * (TITLE_MAX + 1)))
    assert new_change(alice, title="t" * TITLE_MAX).title == "t" * TITLE_MAX


def test_a_description_of_exactly_the_limit_is_accepted(alice):
    change = new_change(alice, description="d" * DESCRIPTION_MAX)
    assert len(refresh(change).description) == DESCRIPTION_MAX


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("backout_plan", PLAN_MAX),
        ("test_plan", PLAN_MAX),
        ("goal", 10_000),
        ("scope", 10_000),
        ("expected_impact", 10_000),
    ],
)
def test_plans_goal_scope_and_impact_are_capped(alice, field, limit):
    refused_naming(field, None, lambda: new_change(alice, **{field: "p" * (limit + 1)}))
    assert len(getattr(new_change(alice, **{field: "p" * limit}), field)) == limit


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\ud800"])
def test_control_characters_are_refused_in_a_description(alice, char):
    refused_naming(
        "description", None, lambda: new_change(alice, description=f"Step one{char}step two")
    )


def test_editing_a_draft_with_an_oversized_field_changes_nothing(alice):
    change = new_change(alice)
    refused_naming(
        "test_plan",
        change,
        lambda: workflow.change_update(
            actor=alice, change_id=change.pk, data={"test_plan": "t" * (PLAN_MAX + 1)}
        ),
    )
    refused_naming(
        "title",
        change,
        lambda: workflow.change_update(
            actor=alice, change_id=change.pk, data={"title": "two\nlines"}
        ),
    )


def test_line_breaks_and_tabs_stay_in_free_text_and_crlf_is_stored_as_lf(alice):
    change = new_change(alice, description="Step one:\r\n\tstop the service\r\nStep two")
    assert refresh(change).description == "Step one:\n\tstop the service\nStep two"


# --- what people add to a change ----------------------------------------------------------------


def test_a_comment_of_2_megabytes_is_refused_and_nothing_changes(alice):
    change = submitted(alice)
    refused_naming(
        "text",
        change,
        lambda: workflow.change_comment(actor=alice, change_id=change.pk, text=MEGABYTES_2),
    )


def test_a_comment_of_exactly_the_limit_is_accepted(alice):
    change = submitted(alice)
    comment = workflow.change_comment(actor=alice, change_id=change.pk, text="c" * NOTE_MAX)
    assert len(comment.text) == NOTE_MAX


def _approved() -> ChangeRequest:
    return approve("mia", approve("hank", assessed(user("alice"))))


def _implementing() -> ChangeRequest:
    change = _approved()
    return workflow.change_start(actor=user("ivan"), change_id=change.pk)


def _implemented() -> ChangeRequest:
    change = _implementing()
    return workflow.change_complete(actor=user("ivan"), change_id=change.pk, outcome="success")


def _reschedule(change: ChangeRequest, text: str) -> Any:
    start = timezone.now() + timedelta(days=1)
    return workflow.change_reschedule(
        actor=user("alice"),
        change_id=change.pk,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        reason=text,
    )


# (field refused, how to reach the state, the action carrying the text)
FREE_TEXT: dict[
    str, tuple[str, Callable[[], ChangeRequest], Callable[[ChangeRequest, str], Any]]
] = {
    "comment": (
        "text",
        lambda: submitted(user("alice")),
        lambda c, t: workflow.change_comment(actor=user("alice"), change_id=c.pk, text=t),
    ),
    "assessment notes": (
        "notes",
        lambda: submitted(user("alice")),
        lambda c, t: workflow.change_assess(
            actor=user("ada"), change_id=c.pk, impact="low", risk="low", notes=t
        ),
    ),
    "assessor's reason": (
        "comment",
        lambda: submitted(user("alice")),
        lambda c, t: workflow.step_decide(
            actor=user("ada"), change_id=c.pk, decision="reject", comment=t
        ),
    ),
    "decision comment": (
        "comment",
        lambda: assessed(user("alice")),
        lambda c, t: workflow.step_decide(
            actor=user("hank"),
            change_id=c.pk,
            decision="approve",
            comment=t,
            step_id=open_step_id(c),
        ),
    ),
    "reassign reason": (
        "reason",
        lambda: assessed(user("alice")),
        lambda c, t: workflow.step_reassign(
            actor=user("mia"),
            change_id=c.pk,
            step_id=open_step_id(c),
            from_user="hank",
            to_user="fiona",
            reason=t,
        ),
    ),
    "reschedule reason": ("reason", _approved, _reschedule),
    "withdraw comment": (
        "comment",
        lambda: submitted(user("alice")),
        lambda c, t: workflow.change_withdraw(actor=user("alice"), change_id=c.pk, comment=t),
    ),
    "completion notes": (
        "notes",
        _implementing,
        lambda c, t: workflow.change_complete(
            actor=user("ivan"), change_id=c.pk, outcome="success", notes=t
        ),
    ),
    "feedback summary": (
        "summary",
        _implemented,
        lambda c, t: workflow.change_feedback(actor=user("ivan"), change_id=c.pk, summary=t),
    ),
    "lessons learned": (
        "lessons",
        _implemented,
        lambda c, t: workflow.change_feedback(
            actor=user("ivan"), change_id=c.pk, summary="done", lessons=t
        ),
    ),
}


@pytest.mark.parametrize("what", FREE_TEXT)
@pytest.mark.parametrize(
    "text",
    ["w" * (NOTE_MAX + 1), "fine until\x00here", "escape \x1b[2J sequence"],
    ids=["too-long", "nul", "escape"],
)
def test_every_free_text_is_capped_and_free_of_control_characters(demo, what, text):
    field, build, act = FREE_TEXT[what]
    change = build()
    refused_naming(field, change, lambda: act(change, text))


def test_a_delegation_reason_with_a_control_character_is_refused(hank):
    starts = timezone.now()
    before = (Delegation.objects.count(), AuditEvent.objects.count())
    for reason in ("away\x00", "r" * 201):
        with pytest.raises(InvalidInput) as refusal:
            workflow.delegation_create(
                actor=hank,
                delegate="fiona",
                starts_at=starts,
                ends_at=starts + timedelta(days=1),
                reason=reason,
            )
        assert "reason" in refusal.value.errors
    assert (Delegation.objects.count(), AuditEvent.objects.count()) == before


def test_the_refusal_says_how_long_the_text_is_and_what_the_limit_is(alice):
    with pytest.raises(InvalidInput) as refusal:
        new_change(alice, description="d" * (DESCRIPTION_MAX + 5))
    assert refusal.value.errors["description"] == ["At most 20,000 characters (this has 20,005)."]


def test_the_refusal_names_the_control_character(alice):
    change = submitted(alice)
    with pytest.raises(InvalidInput) as refusal:
        workflow.change_comment(actor=alice, change_id=change.pk, text="a\x00b")
    assert refusal.value.errors["text"] == ["Control characters are not allowed (found U+0000)."]
