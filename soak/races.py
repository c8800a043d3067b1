"""Race trials: 2–32 actors fire at one change at the same instant; then the database must show
exactly the effect of every 200, nothing else, and at most one decision on the raced step."""

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from soak import state
from soak.client import Api

MAX_ACTORS = 32


@dataclass
class RaceResult:
    trials: int = 0
    started: int = 0
    lost: int = 0
    duplicated: int = 0
    double_transitions: int = 0
    effective: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def actor_count(rng: random.Random) -> int:
    """2–32, smaller crowds more often (weight 1/k): every size is tried, most trials stay cheap."""
    sizes = list(range(2, MAX_ACTORS + 1))
    return rng.choices(sizes, weights=[1 / k for k in sizes])[0]


def _window_body(rng: random.Random) -> dict[str, str]:
    start = datetime.now(UTC) + timedelta(days=2, minutes=rng.randrange(600))
    return {
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=2)).isoformat(),
        "reason": "moved by the soak",
    }


def pick_action(
    rng: random.Random, prepared: state.Prepared, approved: bool
) -> tuple[str, str, dict]:
    step = prepared.step_id
    if approved:
        choices = [
            ("alice", "reschedule", _window_body(rng)),
            ("mia", "reschedule", _window_body(rng)),
            ("alice", "withdraw", {"comment": "no longer needed"}),
            ("mia", "approve", {"step": step, "comment": "fine"}),
            ("carl", "approve", {"step": step, "comment": "fine"}),
        ]
    else:
        choices = [
            ("hank", "approve", {"step": step, "comment": "fine"}),
            ("hank", "reject", {"step": step, "comment": "no"}),
            ("hank", "request_info", {"step": step, "comment": "why?"}),
            ("mia", "reassign", {"step": step, "from": "hank", "to": "tom", "reason": "away"}),
            ("tom", "approve", {"step": step, "comment": "fine"}),
            ("alice", "withdraw", {"comment": "no longer needed"}),
            ("alice", "reschedule", _window_body(rng)),
        ]
    return rng.choice(choices)


def run_races(
    *, api: Api, trials: int, deadline: float, rng: random.Random, parallel: int = 3
) -> RaceResult:
    """`parallel` trials at a time, each on its own change (the server's threads are the limit,
    not the harness)."""
    result = RaceResult()
    lock = threading.Lock()
    actors = ThreadPoolExecutor(max_workers=MAX_ACTORS * parallel)
    seeds = [rng.randrange(2**32) for _ in range(parallel)]

    def runner(index: int) -> None:
        own = random.Random(seeds[index])
        try:
            while time.monotonic() < deadline:
                with lock:
                    if result.started >= trials:
                        return
                    result.started += 1
                    approved = result.started % 5 == 0
                prepared = state.prepare(approved=approved)
                _trial(api, actors, own, prepared, approved, result, lock)
        finally:
            state.fresh_connection()

    try:
        with ThreadPoolExecutor(max_workers=parallel) as runners:
            list(runners.map(runner, range(parallel)))
    finally:
        actors.shutdown(wait=True)
    return result


def _trial(
    api: Api,
    pool: ThreadPoolExecutor,
    rng: random.Random,
    prepared: state.Prepared,
    approved: bool,
    result: RaceResult,
    lock: threading.Lock,
) -> None:
    actions = [pick_action(rng, prepared, approved) for _ in range(actor_count(rng))]
    barrier = threading.Barrier(len(actions))

    def act(user: str, action: str, body: dict) -> tuple[str, str, int | None]:
        barrier.wait(timeout=30)
        answer = api.post(
            user, f"/changes/{prepared.change_id}/{action}/", body, key=uuid.uuid4().hex
        )
        return user, action, answer.status

    futures = [pool.submit(act, *action) for action in actions]
    answers = [future.result() for future in futures]
    verdict = state.race_verdict(prepared, answers)
    with lock:
        result.trials += 1
        result.lost += verdict.lost
        result.duplicated += verdict.duplicated
        result.double_transitions += verdict.double_transitions
        result.problems.extend(verdict.problems)
        result.effective.update(action for _, action, status in answers if status == 200)
        if result.trials % 500 == 0:
            print(f"   {result.trials} trials", flush=True)


@dataclass
class IdempotencyResult:
    requests: int
    statuses: Counter
    effects: int
    replayed: int


def run_idempotency(*, api: Api, copies: int) -> IdempotencyResult:
    """`copies` identical POSTs with one Idempotency-Key, as parallel as the pool allows: the
    comment must exist exactly once and every answer must be the first one."""
    prepared = state.prepare(title="Soak idempotency")
    key = uuid.uuid4().hex
    text = f"one comment for key {key}"
    barrier = threading.Barrier(min(copies, 64))
    statuses: Counter = Counter()
    replayed = 0
    lock = threading.Lock()

    def send(index: int) -> None:
        nonlocal replayed
        if index < 64:
            barrier.wait(timeout=30)
        response = api.session().post(
            f"{api.base}/changes/{prepared.change_id}/comment/",
            json={"text": text},
            headers=api.headers("alice", key),
            timeout=120,
        )
        api.tally.add(response.status_code, "idempotent comment")
        with lock:
            statuses[response.status_code] += 1
            replayed += response.headers.get("Idempotent-Replayed") == "true"

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(send, range(copies)))
    return IdempotencyResult(copies, statuses, state.comment_count(text), replayed)
