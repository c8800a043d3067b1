"""The peer's decision, as viewflow's own task view performs it on POST: lock the process,
load the task, check the user may execute it, start it, save the process, execute (which
completes the task and creates the next one)."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from bench.peer.flows import ChangeFlow


def process_decide(*, actor: User, process_id: int, comment: str = "") -> dict[str, Any]:
    with ChangeFlow.lock(process_id), transaction.atomic():
        task = (
            Task.objects.filter(process_id=process_id, owner=actor, status=STATUS.ASSIGNED)
            .select_related("process")
            .first()
        )
        if task is None or not task.flow_task.can_execute(actor, task):
            raise PermissionDenied("Nothing for you to decide here.")
        activation = task.flow_task.activation_class(task)
        activation.start(None)
        process = activation.process
        process.data.setdefault("decisions", []).append(
            {"task": task.pk, "by": actor.get_username(), "decision": "approve", "comment": comment}
        )
        process.save()
        activation.execute()
        return {"process": process.pk, "status": process.status, "task": task.pk}


def processes_start(*, count: int) -> list[int]:
    return [ChangeFlow.start.run(title=f"Change {n}").pk for n in range(count)]
