from datetime import UTC, datetime

import pytest

from approvals.choices import StepStatus
from approvals.models import ApprovalStep, ChangeRequest

# A Monday morning, away from the demo blackout windows and any DST change.
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def at(time_machine):
    """Stop the clock at a moment: `at(T0 + timedelta(hours=12))`."""

    def _move(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return _move


def open_step(change: ChangeRequest) -> ApprovalStep:
    return ApprovalStep.objects.get(change=change, round=change.round, status=StepStatus.PENDING)
