"""`make soak`: start the servers, run the race trials, the idempotency burst and the fault
injections, settle, check, print one table, write var/soak/latest.json. Exit 1 on any loss,
duplicate or 5xx (soak/README.md)."""

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from soak.servers import ROOT, Ports, Servers, say

KIND_NAMES = [
    "worker_kill",
    "web_kill",
    "redis_restart",
    "redis_flushall",
    "postgres_restart",
    "broker_down",
    "duplicate_delivery",
    "clock_forward",
    "clock_back",
    "disk_full",
    "pool_exhaustion",
    "poisoned_event",
    "webhook_hang",
]
USERS = ["alice", "ada", "hank", "mia", "tom", "carl"]


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class Config:
    trials: int
    seconds: int
    injections: int
    kinds: list[str]
    idempotent: int
    port_base: int
    seed: int
    var: Path

    @classmethod
    def from_env(cls) -> "Config":
        quick = os.environ.get("SOAK_QUICK", "") == "1"
        kinds = [k for k in os.environ.get("SOAK_FAULTS", "").split(",") if k] or KIND_NAMES
        unknown = set(kinds) - set(KIND_NAMES)
        if unknown:
            raise SystemExit(f"SOAK_FAULTS: unknown kinds {sorted(unknown)}; known: {KIND_NAMES}")
        return cls(
            trials=_int("SOAK_TRIALS", 300 if quick else 10_000),
            seconds=_int("SOAK_SECONDS", 420 if quick else 1800),
            injections=_int("SOAK_INJECTIONS", len(kinds) if quick else 8 * len(kinds)),
            kinds=kinds,
            idempotent=_int("SOAK_IDEMPOTENT", 200 if quick else 1000),
            port_base=_int("SOAK_PORT_BASE", 18900),
            seed=_int("SOAK_SEED", int(time.time())),
            var=Path(os.environ.get("SOAK_VAR", str(ROOT / "var" / "soak"))),
        )


def main() -> int:
    config = Config.from_env()
    started = time.monotonic()
    deadline = started + config.seconds
    servers = Servers(ports=Ports(config.port_base), var=config.var)
    rng = random.Random(config.seed)
    try:
        mount = servers.start_all(small_attachments="disk_full" in config.kinds)
        os.environ.update(servers.env())
        return run(config, servers, rng, started, deadline, mount)
    finally:
        say("stopping the soak's servers")
        servers.stop_all()


def run(
    config: Config,
    servers: Servers,
    rng: random.Random,
    started: float,
    deadline: float,
    mount: str,
) -> int:
    from soak import state

    state.setup_django()
    from soak import faults, races
    from soak.client import Api, Tally
    from soak.sinks import Sinks

    ports = servers.ports
    sinks = Sinks(smtp_port=ports.smtp, receiver_port=ports.receiver, hanging_port=ports.hanging)
    try:
        state.subscribe_webhooks(
            receiver=f"http://127.0.0.1:{ports.receiver}/hook",
            hanging=f"http://127.0.0.1:{ports.hanging}/hook",
        )
        from integrations.models import WebhookSubscription

        WebhookSubscription.objects.filter(name="hanging").update(is_active=False)
        servers.supervise()
        tally = Tally()
        api = Api(servers.base_url, tally)
        for user in USERS:
            api.login(user)

        say(f"idempotency: {config.idempotent} identical requests with one key")
        idem = races.run_idempotency(api=api, copies=config.idempotent)

        race_deadline = started + config.seconds * 0.45
        say(f"race trials: up to {config.trials} (until {config.seconds * 0.45:.0f} s)")
        race_started = time.monotonic()
        race = races.run_races(api=api, trials=config.trials, deadline=race_deadline, rng=rng)
        say(f"{race.trials} trials in {time.monotonic() - race_started:.0f} s")

        say(f"faults: {config.injections} injections of {len(config.kinds)} kinds")
        by_kind = {kind: faults.FaultResult() for kind in config.kinds}
        ctx = faults.Context(servers=servers, api=api, sinks=sinks, rng=rng)
        fault_deadline = deadline - 120
        for index in range(config.injections):
            if time.monotonic() > fault_deadline:
                break
            kind = config.kinds[index % len(config.kinds)]
            faults.inject(ctx, kind, by_kind[kind])

        say("settle on the real clock")
        _final_settle(state, sinks, seconds=60)
        faults.judge_reminders(ctx, by_kind)
        # Claims, retries and the sweep's grace run on the database's clock and the soak's
        # shortened timings (servers.env), so waiting on the real clock lets each come due.
        say("final settle: until claims of killed workers, retries and the sweep have come due")
        final_settled = _final_settle(state, sinks, seconds=150)
        mail = _mail(state, sinks)
        hooks = _hooks(state, sinks)
        chain_ok = _verify_chain(servers)
        report = _report(
            config,
            started,
            mount,
            idem,
            race,
            by_kind,
            tally,
            mail,
            hooks,
            chain_ok,
            final_settled,
            dict(servers.restarts),
        )
    finally:
        sinks.stop()
    return report


def _final_settle(state, sinks, *, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    poisoned = state.poisoned_events()
    while time.monotonic() < deadline:
        state.fresh_connection()
        ledger = state.side_effects(poisoned=poisoned)
        if (
            ledger.undelivered_events == 0
            and ledger.emails_unsent == 0
            and ledger.emails_awaiting_stale_claim == 0
            and ledger.webhooks_undelivered == 0
            and ledger.webhooks_awaiting_sweep == 0
        ):
            return True
        time.sleep(2)
    return False


def _mail(state, sinks) -> dict:  # noqa: ANN001
    wanted = state.notification_message_ids()
    received = sinks.mail.by_id
    return {
        "wanted": len(wanted),
        "lost": sum(1 for mid in wanted if received[mid] == 0),
        "duplicated": sum(received[mid] - 1 for mid in wanted if received[mid] > 1),
        "unexpected": sum(n for mid, n in received.items() if mid not in wanted),
    }


def _hooks(state, sinks) -> dict:  # noqa: ANN001
    owed = state.webhook_event_ids()
    received = sinks.receiver.by_id
    return {
        "owed": len(owed),
        "lost": sum(1 for hook in owed if received[hook] == 0),
        "repeated": sum(received[hook] - 1 for hook in owed if received[hook] > 1),
    }


def _verify_chain(servers: Servers) -> bool:
    done = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=servers.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout[-2000:], file=sys.stderr)
    return done.returncode == 0


def _report(  # noqa: ANN001
    config, started, mount, idem, race, by_kind, tally, mail, hooks, chain_ok, settled, restarts
) -> int:
    from approvals.models import AuditEvent

    state_ledger = None
    try:
        from soak import state

        state.fresh_connection()
        state_ledger = state.side_effects(poisoned=state.poisoned_events())
    except Exception as error:  # reported, not hidden
        print(f"side-effect ledger unreadable: {error}", file=sys.stderr)
    idem_lost = int(idem.effects < 1)
    idem_dup = max(0, idem.effects - 1)
    rows = [
        ("race trials", race.trials, race.lost, race.duplicated + race.double_transitions),
        ("idempotent requests (one key)", idem.requests, idem_lost, idem_dup),
    ]
    for kind, result in by_kind.items():
        rows.append((f"fault {kind}", result.injections, result.lost, result.duplicated))
    side_lost = mail["lost"] + hooks["lost"]
    side_dup = mail["duplicated"] + (state_ledger.notifications_duplicated if state_ledger else 0)
    if state_ledger is not None:
        side_lost += state_ledger.undelivered_events + state_ledger.dead_letters_unexpected
    rows.append(("e-mails (by Message-ID)", mail["wanted"], mail["lost"], mail["duplicated"]))
    rows.append(("webhooks (by webhook-id)", hooks["owed"], hooks["lost"], 0))
    lost = sum(r[2] for r in rows) + (state_ledger.undelivered_events if state_ledger else 0)
    duplicated = sum(r[3] for r in rows) + (
        state_ledger.notifications_duplicated if state_ledger else 0
    )
    injections = sum(r.injections for r in by_kind.values())
    late = sum(r.reminders_late for r in by_kind.values())
    reminder_waits = [s for r in by_kind.values() for s in r.reminder_seconds]
    five_xx = tally.five_xx
    elapsed = time.monotonic() - started

    print()
    print(f"{'':<34}{'count':>9}{'lost':>7}{'dup':>6}")
    for name, count, row_lost, row_dup in rows:
        print(f"{name:<34}{count:>9}{row_lost:>7}{row_dup:>6}")
    print(f"{'requests':<34}{tally.requests:>9}")
    print(f"{'5xx (503 with Retry-After apart)':<34}{five_xx:>9}")
    print(f"{'503 with Retry-After (retried)':<34}{tally.statuses.get(503, 0):>9}")
    print(f"{'connections lost (retried)':<34}{tally.statuses.get('lost', 0):>9}")
    print(f"{'webhook repeats (at-least-once)':<34}{hooks['repeated']:>9}")
    print(f"{'double transitions':<34}{race.double_transitions:>9}")
    print(f"{'fault injections / kinds':<34}{injections:>9}{len(by_kind):>7}")
    worst = f"{max(reminder_waits):.0f} s" if reminder_waits else "-"
    print(f"{'reminders late (> 5 min) / worst':<34}{late:>9}{worst:>7}")
    print(
        f"{'audit events / chain verifies':<34}{AuditEvent.objects.count():>9}{'yes' if chain_ok else 'NO':>7}"
    )
    print(f"{'attachments filesystem':<34}{mount:>20}")
    unsettled = sum(r.unsettled for r in by_kind.values())
    print(f"{'injections not settled in 30 s':<34}{unsettled:>9}")
    crashed = ", ".join(f"{name} {n}" for name, n in sorted(restarts.items())) or "none"
    print(f"{'exited and restarted':<34}{crashed:>20}")
    print(f"{'seconds':<34}{elapsed:>9.0f}")
    problems = race.problems + [p for r in by_kind.values() for p in r.problems]
    for problem in problems[:30]:
        print(f"  ! {problem}")
    for error in tally.server_errors[:10]:
        print(f"  ! {error[:300]}")

    failed = bool(
        lost
        or duplicated
        or five_xx
        or race.double_transitions
        or late
        or not chain_ok
        or not settled
        or side_lost
        or side_dup
    )
    out = {
        "config": {k: str(v) for k, v in asdict(config).items()},
        "seconds": round(elapsed),
        "race": {
            "trials": race.trials,
            "lost": race.lost,
            "duplicated": race.duplicated,
            "double_transitions": race.double_transitions,
            "effective": dict(race.effective),
        },
        "idempotency": {
            "requests": idem.requests,
            "effects": idem.effects,
            "replayed": idem.replayed,
            "statuses": {str(k): v for k, v in idem.statuses.items()},
        },
        "faults": {kind: asdict(result) for kind, result in by_kind.items()},
        "requests": tally.requests,
        "statuses": {str(k): v for k, v in tally.statuses.items()},
        "five_xx": five_xx,
        "server_errors": tally.server_errors[:50],
        "emails": mail,
        "webhooks": hooks,
        "ledger": asdict(state_ledger) if state_ledger else None,
        "lost": lost,
        "duplicated": duplicated,
        "reminders_late": late,
        "chain_verifies": chain_ok,
        "settled": settled,
        "attachments_filesystem": mount,
        "restarted_after_exit": restarts,
        "passed": not failed,
    }
    (config.var / "latest.json").write_text(json.dumps(out, indent=2, default=str))
    print(f"{'result':<34}{'FAIL' if failed else 'pass':>9}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
