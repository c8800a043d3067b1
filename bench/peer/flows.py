"""The three-step route in viewflow's own idiom: each step a human task assigned to its approver,
the process row locked with SELECT … FOR UPDATE (viewflow's recommendation on PostgreSQL)."""

from typing import Any

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.flow.views import UpdateProcessView

from bench.peer.models import ChangeProcess


class ChangeFlow(flow.Flow):
    process_class = ChangeProcess
    lock_impl = lock.select_for_update_lock

    start = flow.StartHandle(this.start_change).Next(this.department_head)
    department_head = (
        flow.View(UpdateProcessView.as_view(fields=[]))
        .Assign(username="fiona")
        .Next(this.technical_expert)
    )
    technical_expert = (
        flow.View(UpdateProcessView.as_view(fields=[]))
        .Assign(username="tom")
        .Next(this.final_approval)
    )
    final_approval = (
        flow.View(UpdateProcessView.as_view(fields=[])).Assign(username="carl").Next(this.end)
    )
    end = flow.End()

    def start_change(self, activation: Any, title: str = "") -> Any:
        activation.process.data = {"title": title, "decisions": []}
        return activation.process
