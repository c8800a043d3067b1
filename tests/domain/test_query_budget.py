"""Design budget: one decision through the service layer costs six SQL statements — the lock
(with the actor's auditor flag and the round's step count), the round's seats with their live
decisions and delegations, the decision, one UPDATE for the step met and the step it opens, the
audit event and the change — plus the test transaction's two savepoints: at most eight."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import workflow
from approvals.models import Delegation
from tests.helpers import assessed, user

pytestmark = pytest.mark.django_db


def test_an_approval_that_opens_the_next_step_costs_at_most_eight_statements(
    alice, hank, django_assert_max_num_queries
):
    change = assessed(alice, impact="high")
    with django_assert_max_num_queries(8):
        workflow.step_decide(actor=hank, change_id=change.pk, decision="approve", comment="fine")
    assert change.steps.get(order=2).status == "pending"


def test_a_rejection_costs_at_most_eight_statements(alice, hank, django_assert_max_num_queries):
    change = assessed(alice, impact="high")
    with django_assert_max_num_queries(8):
        workflow.step_decide(actor=hank, change_id=change.pk, decision="reject", comment="no")


def test_a_delegated_final_approval_costs_at_most_eight_statements(
    alice, mia, bob, django_assert_max_num_queries
):
    now = timezone.now()
    Delegation.objects.create(
        delegator=mia,
        delegate=bob,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )
    change = assessed(alice)
    workflow.step_decide(actor=user("hank"), change_id=change.pk, decision="approve")
    with django_assert_max_num_queries(8):
        change = workflow.step_decide(actor=bob, change_id=change.pk, decision="approve")
    assert change.state == "approved"
