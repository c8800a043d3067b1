from viewflow.workflow.models import Process


class ChangeProcess(Process):
    """A change going through the peer's route; its decisions live in the process data."""

    class Meta:
        proxy = True
