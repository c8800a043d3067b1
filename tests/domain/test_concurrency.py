"""Two people acting on the same change at once: one wins, the other gets a clear conflict."""

import threading

import pytest
from django.db import connection

from approvals import workflow
from approvals.exceptions import DomainError, InvalidTransition
from approvals.models import AuditEvent, Decision
from tests.helpers import assessed, user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(*calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            outcomes[i] = call()
        except DomainError as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_two_decisions_on_one_step_produce_one_transition_and_one_event(alice, mia):
    change = assessed(alice)
    workflow.step_decide(actor=user("hank"), change_id=change.pk, decision="approve")
    # The final step is open and mia may decide it: her approve and her reject race.
    outcomes = _race(
        lambda: workflow.step_decide(actor=mia, change_id=change.pk, decision="approve"),
        lambda: workflow.step_decide(
            actor=mia, change_id=change.pk, decision="reject", comment="no"
        ),
    )
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    losses = [o for o in outcomes if isinstance(o, InvalidTransition)]
    assert len(wins) == 1 and len(losses) == 1
    assert Decision.objects.filter(step__change=change, step__order=2).count() == 1
    final_events = AuditEvent.objects.filter(change=change, from_state="final_approval")
    assert final_events.count() == 1


def test_two_heads_approving_a_joint_step_at_once_both_count(alice):
    change = assessed(alice, departments=["FIN", "OPS"])
    workflow.step_decide(actor=user("hank"), change_id=change.pk, decision="approve")
    outcomes = _race(
        lambda: workflow.step_decide(actor=user("fiona"), change_id=change.pk, decision="approve"),
        lambda: workflow.step_decide(actor=user("olga"), change_id=change.pk, decision="approve"),
    )
    assert not any(isinstance(o, Exception) for o in outcomes)
    change.refresh_from_db()
    # the row lock makes quorum counting see the other approval: the step is met exactly once
    assert change.state == "final_approval"
    assert change.steps.get(order=2).status == "approved"
    assert change.steps.get(order=3).status == "pending"
    assert AuditEvent.objects.filter(change=change, data__step_met=True, data__step=2).count() == 1
