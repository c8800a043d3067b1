"""Fault kinds. Each injection: prepare changes (one with an SLA of seconds, so a reminder falls
due during the fault), run actions in the background, inject the fault, recover, wait for the
side effects to settle, then compare every answer with the database."""

import contextlib
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO

from soak import state
from soak.client import Api
from soak.consumers import POISON
from soak.servers import Servers
from soak.sinks import Sinks

# The probe change's SLA: its 24 h department-head step falls due (50 %) after 3 s.
PROBE_SLA_SCALE = 6 / 86400
REMINDER_WITHIN_SECONDS = 300
# After each injection the outbox gets this long to catch up before the next fault; whatever
# is still pending then is checked after the final settle, so nothing is excused.
SETTLE_SECONDS = 30


@dataclass
class Context:
    servers: Servers
    api: Api
    sinks: Sinks
    rng: random.Random
    injections: int = 0
    probes: list[tuple[str, state.Prepared, datetime]] = field(default_factory=list)


@dataclass
class FaultResult:
    injections: int = 0
    actions: int = 0
    lost: int = 0
    duplicated: int = 0
    five_xx: int = 0
    reminders_late: int = 0
    unsettled: int = 0
    reminder_seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Workload:
    """Comments and decisions sent while the fault happens, each retried with its key."""

    api: Api
    changes: list[state.Prepared]
    extra_comment: str = ""
    comments: list[tuple[str, int | None]] = field(default_factory=list)
    decisions: list[tuple[state.Prepared, int | None]] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        threads = [threading.Thread(target=self._one, args=(c,)) for c in self.changes]
        for thread in threads:
            thread.start()
            time.sleep(0.15)
        for thread in threads:
            thread.join()

    def _one(self, prepared: state.Prepared) -> None:
        texts = [f"soak comment {uuid.uuid4().hex}"]
        if self.extra_comment:
            texts.append(f"{self.extra_comment} {uuid.uuid4().hex}")
        for text in texts:
            answer = self.api.post(
                "alice", f"/changes/{prepared.change_id}/comment/", {"text": text}, deadline=90
            )
            self.comments.append((text, answer.status))
        answer = self.api.post(
            "hank",
            f"/changes/{prepared.change_id}/approve/",
            {"step": prepared.step_id, "comment": "fine"},
            deadline=90,
        )
        self.decisions.append((prepared, answer.status))

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=240)


# --- the faults --------------------------------------------------------------------------------


def worker_kill(ctx: Context) -> str:
    """kill -9 a pool process mid-task, every other time the whole worker (then a new one)."""
    time.sleep(0.6)
    children = ctx.servers.worker_child_pids()
    if children and ctx.injections % 2 == 0:
        os.kill(ctx.rng.choice(children), signal.SIGKILL)
        return "pool process"
    ctx.servers.worker_kill()
    return "whole worker"


def web_kill(ctx: Context) -> str:
    time.sleep(0.4)
    workers = ctx.servers.web_worker_pids()
    if workers:
        os.kill(ctx.rng.choice(workers), signal.SIGKILL)
    return "gunicorn worker"


def redis_restart(ctx: Context) -> str:
    time.sleep(0.4)
    ctx.servers.redis_stop()
    time.sleep(1)
    ctx.servers.redis_start()
    return ""


def redis_flushall(ctx: Context) -> str:
    time.sleep(0.4)
    ctx.servers.redis_flushall()
    return ""


def postgres_restart(ctx: Context) -> str:
    time.sleep(0.5)
    ctx.servers.postgres_restart()
    return ""


def broker_down(ctx: Context) -> str:
    """Redis (broker and cache) away for 8 s while the actions go on."""
    ctx.servers.redis_stop()
    time.sleep(8)
    ctx.servers.redis_start()
    return ""


def duplicate_delivery(ctx: Context) -> str:
    """Every periodic task and the newest webhook delivery, each enqueued twice at once."""
    from changemgmt.celery import app
    from integrations.models import WebhookDelivery

    time.sleep(1)
    names = [
        "approvals.dispatch_events",
        "notifications.send_pending_emails",
        "notifications.sla_scan",
        "integrations.requeue_webhooks",
    ]
    state.fresh_connection()
    delivery = WebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True).first()
    for _ in range(2):
        for name in names:
            app.send_task(name)
        if delivery:
            app.send_task("integrations.deliver_webhook", args=[delivery])
    return ""


def _clock(offset: str) -> Callable[[Context], str]:
    def jump(ctx: Context) -> str:
        ctx.servers.restart_scheduling(faketime=offset)
        time.sleep(10)
        ctx.servers.restart_scheduling()
        return f"worker and beat at {offset}"

    jump.__name__ = f"clock_{'forward' if offset.startswith('+') else 'back'}"
    return jump


def pool_exhaustion(ctx: Context) -> str:
    """Every PostgreSQL connection slot taken for 6 s while the actions go on."""
    import psycopg

    held = []
    with contextlib.suppress(psycopg.OperationalError):
        for _ in range(200):
            held.append(psycopg.connect(ctx.servers.runtime_url, connect_timeout=3))
    time.sleep(6)
    for connection in held:
        connection.close()
    return f"{len(held)} connections held"


def poisoned_event(ctx: Context) -> str:
    return "a consumer refuses one event"  # the workload carries the poisoned comment


def webhook_hang(ctx: Context) -> str:
    from integrations.models import WebhookSubscription

    state.fresh_connection()
    WebhookSubscription.objects.filter(name="hanging").update(is_active=True)
    time.sleep(8)
    WebhookSubscription.objects.filter(name="hanging").update(is_active=False)
    return f"{ctx.sinks.hanging.accepted} connections left hanging"


def disk_full(ctx: Context) -> str:
    """Attachments of 400 KiB until the attachment filesystem is full, and some more."""
    prepared = state.prepare(title="Soak attachments")
    answers: list[int | None] = []
    payload = os.urandom(400 * 1024)
    for index in range(8):
        upload = {"file": (f"evidence-{index}.log", BytesIO(payload), "text/plain")}
        answer = ctx.api.post(
            "alice",
            f"/changes/{prepared.change_id}/attachments/",
            {},
            files=upload,
            deadline=30,
            retry_503=False,
        )
        answers.append(answer.status)
    ctx.disk_change = prepared.change_id  # type: ignore[attr-defined]
    ctx.disk_answers = answers  # type: ignore[attr-defined]
    return " ".join(str(status) for status in answers)


KINDS: dict[str, Callable[[Context], str]] = {
    "worker_kill": worker_kill,
    "web_kill": web_kill,
    "redis_restart": redis_restart,
    "redis_flushall": redis_flushall,
    "postgres_restart": postgres_restart,
    "broker_down": broker_down,
    "duplicate_delivery": duplicate_delivery,
    "clock_forward": _clock("+3600"),
    "clock_back": _clock("-3600"),
    "disk_full": disk_full,
    "pool_exhaustion": pool_exhaustion,
    "poisoned_event": poisoned_event,
    "webhook_hang": webhook_hang,
}


# --- one injection -----------------------------------------------------------------------------


def inject(ctx: Context, kind: str, result: FaultResult, *, changes: int = 3) -> None:
    state.fresh_connection()
    prepared = [state.prepare(title=f"Soak {kind}") for _ in range(changes)]
    probe = state.prepare(title=f"Soak SLA probe {kind}", sla_scale=PROBE_SLA_SCALE)
    five_xx_before = ctx.api.tally.five_xx
    extra = f"{POISON} {uuid.uuid4().hex}" if kind == "poisoned_event" else ""
    load = Workload(ctx.api, prepared, extra_comment=extra)
    load.start()
    note = KINDS[kind](ctx)
    recovered = datetime.now().astimezone()
    load.join()
    ctx.injections += 1
    result.injections += 1
    ctx.probes.append((kind, probe, recovered))
    if not settle(ctx):
        result.unsettled += 1
    _judge(ctx, kind, load, result)
    result.five_xx += ctx.api.tally.five_xx - five_xx_before
    print(f"   {kind:<20} {note}", flush=True)


def settle(ctx: Context) -> bool:
    """Until every event is handed to every consumer and every e-mail that is not waiting by
    design is sent (at most SETTLE_SECONDS)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        try:
            state.fresh_connection()
            ledger = state.side_effects(poisoned=state.poisoned_events())
        except Exception:  # the database restarting
            time.sleep(1)
            continue
        if ledger.undelivered_events == 0 and ledger.emails_unsent == 0:
            return True
        time.sleep(1)
    return False


def judge_reminders(ctx: Context, by_kind: dict[str, FaultResult]) -> None:
    """Each probe's first reminder must have gone out within 5 minutes of its fault's
    recovery (or of falling due, if that was later). A probe whose reminder has not gone out
    yet is waited for, up to that bound: the last probe may fall due after the outbox has
    already settled."""
    state.fresh_connection()
    if ctx.probes:
        bound = max(recovered for _, _, recovered in ctx.probes).timestamp()
        bound += REMINDER_WITHIN_SECONDS + 5
        while time.time() < bound:
            state.fresh_connection()
            if all(state.reminders_for(probe.change_id)[0] for _, probe, _ in ctx.probes):
                break
            time.sleep(1)
    for kind, probe, recovered in ctx.probes:
        result = by_kind[kind]
        reminders, first = state.reminders_for(probe.change_id)
        if not reminders or first is None:
            result.reminders_late += 1
            result.problems.append(f"{kind}: no reminder for the overdue probe step")
            continue
        waited = max(0.0, (first - recovered).total_seconds())
        result.reminder_seconds.append(waited)
        if waited > REMINDER_WITHIN_SECONDS:
            result.reminders_late += 1
            result.problems.append(f"{kind}: reminder {waited:.0f} s after recovery")


def _judge(ctx: Context, kind: str, load: Workload, result: FaultResult) -> None:
    from approvals.models import Decision

    state.fresh_connection()
    for text, status in load.comments:
        result.actions += 1
        count = state.comment_count(text)
        expected = {200: (1,), None: (0, 1)}.get(status, (0,))
        if count not in expected:
            if count > max(expected):
                result.duplicated += 1
            else:
                result.lost += 1
            result.problems.append(f"{kind}: comment answered {status}, found {count} times")
    for prepared, status in load.decisions:
        result.actions += 1
        count = Decision.objects.filter(step_id=prepared.step_id, voided=False).count()
        expected = {200: (1,), None: (0, 1)}.get(status, (0,))
        if count not in expected:
            if count > max(expected):
                result.duplicated += 1
            else:
                result.lost += 1
            result.problems.append(f"{kind}: decision answered {status}, {count} decisions")
    if kind == "poisoned_event":
        poisoned = {
            e for e in state.poisoned_events() if e not in getattr(ctx, "poison_seen", set())
        }
        ctx.poison_seen = getattr(ctx, "poison_seen", set()) | poisoned  # type: ignore[attr-defined]
        dead, delivered = state.poison_dead(poisoned)
        if dead != len(poisoned) or delivered != len(poisoned):
            result.problems.append(
                f"poisoned_event: {len(poisoned)} poisoned, {dead} dead letters, "
                f"{delivered} delivered to the other consumers"
            )
            result.lost += len(poisoned) - delivered
    if kind == "disk_full":
        rows, events, missing = state.attachment_events(ctx.disk_change)  # type: ignore[attr-defined]
        accepted = sum(1 for status in ctx.disk_answers if status == 201)  # type: ignore[attr-defined]
        if rows != events or missing or rows != accepted:
            result.problems.append(
                f"disk_full: {accepted} accepted, {rows} rows, {events} events, {missing} files missing"
            )
            result.lost += abs(rows - accepted) + missing
