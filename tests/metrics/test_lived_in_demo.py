"""The demo seed tells a few dozen changes' stories once, so the pages are not blank."""

from collections import Counter

import pytest
from django.core.management import call_command

from approvals import metrics
from approvals.audit import verify_chain
from approvals.choices import ChangeState
from approvals.demo_changes import seed_changes
from approvals.models import AuditEvent, ChangeRequest

pytestmark = pytest.mark.django_db

EVERY_STATE_BUT_THE_PASSING_ONE = set(ChangeState.values) - {ChangeState.ASSESSED}


def test_the_demo_changes_cover_every_state_and_come_only_once(demo):
    assert seed_changes() >= 24
    states = Counter(ChangeRequest.objects.values_list("state", flat=True))
    assert set(states) == EVERY_STATE_BUT_THE_PASSING_ONE
    events = AuditEvent.objects.count()
    assert seed_changes() == 0
    assert AuditEvent.objects.count() == events


def test_the_demo_trail_is_in_time_order_and_verifies(demo):
    seed_changes()
    times = list(AuditEvent.objects.order_by("seq").values_list("occurred_at", flat=True))
    assert times == sorted(times)
    assert verify_chain().ok


def test_the_demo_gives_the_metrics_waits_overdue_steps_and_late_decisions(demo):
    seed_changes()
    report = metrics.report(period=metrics.period_of(since=None, until=None))
    assert sum(s.decided for s in report.steps) >= 30
    assert sum(s.overdue_open for s in report.steps) >= 1
    assert sum(s.decided_late for s in report.steps) >= 1
    assert {d.group for d in report.departments} == {"IT", "FIN"}


def test_seed_demo_empty_installs_the_organisation_without_changes(db):
    call_command("seed_demo", "--empty", verbosity=0)
    assert not ChangeRequest.objects.exists()
