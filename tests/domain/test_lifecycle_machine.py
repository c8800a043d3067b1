"""The whole lifecycle as a state machine, through the real services: any demo user tries any
action on a few changes while time moves forward. Refusals are fine; after every step the
controls hold: nothing is implemented without its approvals, every effective action wrote exactly
one audit event and every refused one none (and changed nothing), nobody decided two approval
steps of a round or a step of their own change, the implementer decided neither the final
approval nor a review, and the audit trail verifies."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from approvals import workflow
from approvals.audit import verify_chain
from approvals.choices import AuditAction, ChangeState, ChangeType, StepKind, StepStatus
from approvals.exceptions import (
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    VersionMismatch,
)
from approvals.models import (
    ApprovalStep,
    AuditEvent,
    ChangeRequest,
    ChangeTemplate,
    Comment,
    Decision,
    Delegation,
    StepApprover,
)
from approvals.policy import ACTIONS, APPROVAL_KINDS, Actor, can_view
from approvals.selectors import actions_for, load_actor, with_route
from approvals.workflow.common import involved_ids

pytestmark = pytest.mark.django_db

User = get_user_model()

PEOPLE = (
    "alice",
    "bob",
    "ada",
    "hank",
    "fiona",
    "olga",
    "hugo",
    "tom",
    "rita",
    "eve",
    "carl",
    "mia",
    "ivan",
    "audrey",
)
DEPARTMENTS = ("IT", "FIN", "OPS", "HR")
REFUSALS = (NotAllowed, InvalidTransition, InvalidInput, NotFound, VersionMismatch)
# States a change reaches only once it may be carried out.
CARRIED_OUT = (
    ChangeState.APPROVED,
    ChangeState.IMPLEMENTING,
    ChangeState.IMPLEMENTED,
    ChangeState.FAILED,
    ChangeState.CLOSED,
)
# A Monday morning, far from the year-end freeze; the machine moves forward from there.
EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MAX_CHANGES = 4
# Actions that move a change towards its end (what the offered turns mostly pick).
ONWARD = ("submit", "assess", "approve", "start", "complete", "feedback")

people = st.sampled_from(PEOPLE)
picks = st.integers(min_value=0, max_value=MAX_CHANGES - 1)
hours = st.integers(min_value=-2, max_value=96)

# What the runs did, for the summary the test prints (pytest -s).
SEEN: Counter[str] = Counter()
REACHED: set[tuple[int, int, str]] = set()
RUNS = count()


def _state(change_id: int) -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    change = ChangeRequest.objects.filter(pk=change_id)
    return (
        change.values().first(),
        list(ApprovalStep.objects.filter(change_id=change_id).order_by("pk").values()),
        list(Decision.objects.filter(step__change_id=change_id).order_by("pk").values()),
        sorted(
            StepApprover.objects.filter(step__change_id=change_id).values_list(
                "step_id", "user_id", "source"
            )
        ),
        Comment.objects.filter(change_id=change_id).count(),
        Delegation.objects.count(),
        AuditEvent.objects.count(),
    )


class Lifecycle(RuleBasedStateMachine):
    """A few changes, fourteen people and a clock; every rule goes through the services."""

    def __init__(self) -> None:
        super().__init__()
        # Each run is rolled back at the end, so runs never see each other's changes.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.clock = time_machine.travel(EPOCH, tick=False)
        self.traveller = self.clock.start()
        self.users = {u.username: u for u in User.objects.filter(username__in=PEOPLE)}
        self.template_id = (
            ChangeTemplate.objects.filter(status="approved").values_list("pk", flat=True).first()
        )
        self.ids: list[int] = []
        self.run = next(RUNS)
        self.trail_grew = True

    def teardown(self) -> None:
        self.clock.stop()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    # --- attempting an action ------------------------------------------------------------------

    def attempt(self, change_id: int | None, action: str, act: Any) -> None:
        """Run `act`: a domain refusal must change nothing; anything else it raises fails the
        run; an effective action writes exactly one event on the change's trail."""
        before = _state(change_id) if change_id else None
        events = AuditEvent.objects.count()
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        own = AuditEvent.objects.filter(change_id=change_id).count() if change_id else 0
        try:
            result = act()
        except REFUSALS as refusal:
            SEEN[f"refused {action}: {type(refusal).__name__}"] += 1
            if change_id:
                assert _state(change_id) == before, f"{action} refused but changed something"
            assert AuditEvent.objects.count() == events, f"{action} refused but audited"
            return
        if action == "edit" and change_id and _state(change_id) == before:
            return  # an edit that changes nothing records nothing (the state includes the count)
        SEEN[f"done {action}"] += 1
        self.trail_grew = True
        new = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq"))
        if action == "create":
            self.ids.append(result.pk)
            change_id = result.pk
        if action == "delegate":
            assert [e.action for e in new] == [AuditAction.DELEGATION_CREATED], new
            return
        mine = [e for e in new if e.change_id == change_id]
        others = [e for e in new if e.change_id != change_id]
        assert len(mine) == 1, f"{action} wrote {[e.action for e in mine]}"
        assert AuditEvent.objects.filter(change_id=change_id).count() == own + 1
        if others:  # a failed standard change suspends its template: an event of its own
            assert action == "complete", (action, others)
            assert [e.action for e in others] == [AuditAction.TEMPLATE_SUSPENDED], others

    def change_id(self, pick: int) -> int:
        return self.ids[pick % len(self.ids)]

    def version(self, change_id: int, which: str) -> int | None:
        current = ChangeRequest.objects.filter(pk=change_id).values_list("version", flat=True)
        if which == "none" or not current:
            return None
        return current[0] if which == "current" else current[0] - 1

    # --- the rules -------------------------------------------------------------------------------

    @initialize()
    def first_changes(self) -> None:
        """A normal change whose window is open now and an emergency, so the later states are
        within a run's reach."""
        now = timezone.now()
        common = {
            "title": "Upgrade the ticketing database",
            "description": "Move from version 14 to 16.",
            "impact": "low",
            "implementer": "ivan",
            "planned_start": now + timedelta(minutes=5),
            "planned_end": now + timedelta(days=2),
        }
        for who, kind in (("alice", ChangeType.NORMAL), ("bob", ChangeType.EMERGENCY)):
            create = partial(
                workflow.change_create, actor=self.users[who], data=common | {"change_type": kind}
            )
            self.attempt(None, "create", create)

    @precondition(lambda self: len(self.ids) < MAX_CHANGES)
    @rule(who=people, data=st.data())
    def create(self, who: str, data: st.DataObject) -> None:
        self._create(who, data)

    def _create(self, who: str, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(ChangeType.values), label="change_type")
        now = timezone.now()
        start = now + timedelta(hours=data.draw(hours, label="starts in hours"))
        end = start + timedelta(hours=data.draw(st.integers(1, 48), label="lasting hours"))
        fields: dict[str, Any] = {
            "title": "Patch the servers",
            "description": "Apply this month's patches.",
            "change_type": kind,
            "implementer": data.draw(
                st.one_of(st.sampled_from(["ivan", None]), people), label="implementer"
            ),
            "planned_start": start,
            "planned_end": end,
        }
        if kind == ChangeType.STANDARD:
            fields["template"] = self.template_id
        else:
            fields |= {
                "impact": data.draw(st.sampled_from(["low", "medium", "high", "critical"])),
                "departments": data.draw(st.lists(st.sampled_from(DEPARTMENTS), unique=True)),
                "backout_plan": "Restore the snapshot.",
                "test_plan": "Run the smoke suite.",
            }
        actor = self.users[who]
        self.attempt(None, "create", lambda: workflow.change_create(actor=actor, data=fields))

    @precondition(lambda self: self.ids)
    @rule(who=people, pick=picks, action=st.sampled_from([*ACTIONS, "delegate"]), data=st.data())
    def anyone_tries_anything(self, who: str, pick: int, action: str, data: st.DataObject) -> None:
        if action == "delegate":
            self.delegate(who, data.draw(people, label="delegate"), data)
            return
        version = data.draw(st.sampled_from(["none", "current", "old"]), label="If-Match")
        self.act(who, self.change_id(pick), action, data, version)

    @precondition(lambda self: self.ids)
    @rule(pick=picks, turns=st.integers(min_value=1, max_value=3), data=st.data())
    def people_do_what_they_are_offered(self, pick: int, turns: int, data: st.DataObject) -> None:
        """What the pages offer (allowed actions of whoever can see the change), a few turns in a
        row, mostly moving the change along: so the later states are reached too."""
        change_id = self.change_id(pick)
        # Nobody's roles or delegations change during these turns, nor does the time.
        actors = {name: load_actor(user) for name, user in self.users.items()}
        for turn in range(turns):
            if turn:
                self.controls_hold()
            offered = self.offered(change_id, actors)
            onward = [(who, action) for who, action in offered if action in ONWARD]
            choices = onward if onward and data.draw(st.integers(0, 3), label="onward") else offered
            if not choices:
                return
            who, action = data.draw(st.sampled_from(choices), label="offered")
            self.act(who, change_id, action, data, "none")

    @staticmethod
    def offered(change_id: int, actors: dict[str, Actor]) -> list[tuple[str, str]]:
        """(who, action) for everyone who can see the change, as its page would offer."""
        change = with_route(ChangeRequest.objects.filter(pk=change_id)).get()
        involved = involved_ids(change)
        return [
            (name, action)
            for name, actor in actors.items()
            if can_view(actor, change, involved)
            for action in actions_for(actor, change)
        ]

    def delegate(self, who: str, to: str, data: st.DataObject) -> None:
        now = timezone.now()
        days = data.draw(st.integers(min_value=0, max_value=3), label="days")
        self.attempt(
            None,
            "delegate",
            lambda: workflow.delegation_create(
                actor=self.users[who],
                delegate=to,
                starts_at=now,
                ends_at=now + timedelta(days=days, hours=1),
                reason="away",
            ),
        )

    @rule(minutes=st.one_of(st.integers(1, 90), st.integers(1, 3 * 24 * 60)))
    def time_passes(self, minutes: int) -> None:
        self.traveller.shift(timedelta(minutes=minutes))

    # --- one action, its parameters drawn ------------------------------------------------------

    def act(self, who: str, change_id: int, action: str, data: st.DataObject, version: str) -> None:
        common = {
            "actor": self.users[who],
            "change_id": change_id,
            "expected_version": self.version(change_id, version),
        }
        call = getattr(self, f"_{action}")(common, data)
        self.attempt(change_id, action, call)

    def _edit(self, common: dict, data: st.DataObject) -> Any:
        impact = data.draw(st.sampled_from(["low", "medium", "high", "critical"]))
        return lambda: workflow.change_update(**common, data={"impact": impact})

    def _submit(self, common: dict, data: st.DataObject) -> Any:
        return lambda: workflow.change_submit(**common)

    def _assess(self, common: dict, data: st.DataObject) -> Any:
        impact = data.draw(st.sampled_from(["low", "medium", "high", "critical"]))
        risk = data.draw(st.sampled_from(["low", "medium", "high"]))
        return lambda: workflow.change_assess(**common, impact=impact, risk=risk, notes="")

    def _step_id(self, change_id: int, data: st.DataObject) -> int | None:
        """No step named, the open step, or any step of the change (perhaps a stale one)."""
        which = data.draw(st.sampled_from(["none", "open", "any"]), label="step")
        steps = ApprovalStep.objects.filter(change_id=change_id).order_by("pk")
        if which == "open":
            change = ChangeRequest.objects.get(pk=change_id)
            return (
                steps.filter(round=change.round, status=StepStatus.PENDING)
                .values_list("pk", flat=True)
                .first()
            )
        if which == "any":
            ids = list(steps.values_list("pk", flat=True))
            return data.draw(st.sampled_from(ids), label="step id") if ids else None
        return None

    def _decide(self, decision: str, common: dict, data: st.DataObject) -> Any:
        step_id = self._step_id(common["change_id"], data)
        outcome = data.draw(st.sampled_from(["", "accepted", "follow_up"]), label="outcome")
        comment = data.draw(st.sampled_from(["", "because"]), label="comment")
        actions = "add a canary stage" if outcome == "follow_up" else ""
        return lambda: workflow.step_decide(
            **common,
            decision=decision,
            comment=comment,
            step_id=step_id,
            outcome=outcome,
            actions=actions,
        )

    def _approve(self, common: dict, data: st.DataObject) -> Any:
        return self._decide("approve", common, data)

    def _reject(self, common: dict, data: st.DataObject) -> Any:
        return self._decide("reject", common, data)

    def _request_info(self, common: dict, data: st.DataObject) -> Any:
        return self._decide("request_info", common, data)

    def _reassign(self, common: dict, data: st.DataObject) -> Any:
        step_id = self._step_id(common["change_id"], data)
        from_user = data.draw(st.sampled_from(["", *PEOPLE]), label="from")
        to_user = data.draw(people, label="to")
        return lambda: workflow.step_reassign(
            **common, step_id=step_id, from_user=from_user, to_user=to_user, reason="cover"
        )

    def _reschedule(self, common: dict, data: st.DataObject) -> Any:
        start = timezone.now() + timedelta(hours=data.draw(hours, label="starts in hours"))
        end = start + timedelta(hours=data.draw(st.integers(1, 48), label="lasting hours"))
        return lambda: workflow.change_reschedule(
            **common, planned_start=start, planned_end=end, reason="the vendor moved"
        )

    def _withdraw(self, common: dict, data: st.DataObject) -> Any:
        return lambda: workflow.change_withdraw(**common, comment="no longer needed")

    def _start(self, common: dict, data: st.DataObject) -> Any:
        return lambda: workflow.change_start(**common)

    def _complete(self, common: dict, data: st.DataObject) -> Any:
        outcome = data.draw(st.sampled_from(["success", "failed"]), label="outcome")
        return lambda: workflow.change_complete(**common, outcome=outcome, notes="done")

    def _feedback(self, common: dict, data: st.DataObject) -> Any:
        return lambda: workflow.change_feedback(**common, summary="went well")

    def _comment(self, common: dict, data: st.DataObject) -> Any:
        return lambda: workflow.change_comment(**common, text="a note")

    # --- what must hold after every step -------------------------------------------------------

    def controls_hold(self) -> None:
        self.nothing_is_carried_out_without_its_approvals()
        self.nobody_decides_twice_in_a_round_or_on_their_own_change()
        self.the_implementer_never_gives_the_final_approval_or_the_review()
        self.the_audit_trail_verifies()

    @invariant()
    def nothing_is_carried_out_without_its_approvals(self) -> None:
        for change in ChangeRequest.objects.filter(pk__in=self.ids, state__in=CARRIED_OUT):
            REACHED.add((self.run, change.pk, change.state))
            if change.pre_approved:
                assert change.change_type == ChangeType.STANDARD
                continue
            statuses = list(
                ApprovalStep.objects.filter(
                    change=change, round=change.round, kind__in=APPROVAL_KINDS
                ).values_list("status", flat=True)
            )
            assert statuses, f"{change.key} is {change.state} without an approval step"
            # A final step superseded by a moved window is skipped; every other one approved.
            assert set(statuses) - {StepStatus.SKIPPED} == {StepStatus.APPROVED}, (
                change.key,
                change.state,
                statuses,
            )

    @invariant()
    def nobody_decides_twice_in_a_round_or_on_their_own_change(self) -> None:
        # Void decisions (a request for information, a moved window) no longer count.
        decisions = Decision.objects.filter(step__change_id__in=self.ids, voided=False).values_list(
            "step__change_id",
            "step__change__requester_id",
            "step__round",
            "step_id",
            "step__kind",
            "approver_id",
            "on_behalf_of_id",
        )
        steps_of: dict[tuple[int, int, int], set[int]] = {}
        for change_id, requester, round_, step, kind, approver, on_behalf_of in decisions:
            assert requester not in (approver, on_behalf_of), f"own change {change_id} decided"
            if kind in APPROVAL_KINDS:
                steps_of.setdefault((change_id, round_, approver), set()).add(step)
        for (change_id, round_, approver), steps in steps_of.items():
            assert len(steps) == 1, f"user {approver} decided {steps} of {change_id}/{round_}"

    @invariant()
    def the_implementer_never_gives_the_final_approval_or_the_review(self) -> None:
        clashes = Decision.objects.filter(
            step__change_id__in=self.ids,
            step__kind__in=[StepKind.FINAL, StepKind.RETROSPECTIVE],
            step__change__implementer_id__isnull=False,
        ).values_list("step__change_id", "approver_id", "step__change__implementer_id")
        for change_id, approver, implementer in clashes:
            assert approver != implementer, f"the implementer decided a step of {change_id}"

    @invariant()
    def the_audit_trail_verifies(self) -> None:
        # A refusal adds nothing to the trail (checked as it happens), so only a trail that grew
        # needs walking again.
        if self.trail_grew:
            result = verify_chain()
            assert result.ok, result
            self.trail_grew = False


def test_the_controls_hold_whatever_anyone_tries_in_any_order(demo):
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
    reached = Counter(state for _run, _change, state in REACHED)
    print("\nchanges reaching", dict(reached))
    print("actions", dict(sorted(SEEN.items())))
