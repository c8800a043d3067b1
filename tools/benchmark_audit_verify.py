"""Benchmark: verify a trail of N events against its signed checkpoints.

    DATABASE_URL=postgres://…/scratch python tools/benchmark_audit_verify.py --events 1000000

Fills an EMPTY scratch database (it refuses one that holds any audit event) with N synthetic
events in N/10 changes, interleaved as concurrent work would leave them, checkpoints them, then
times the full verification and reports events per second and peak memory. --reuse verifies a
trail filled by an earlier run (a new checkpoint directory, and the memory of verifying alone).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "changemgmt.settings.local")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _fill(total: int, per_change: int) -> None:
    from django.contrib.auth import get_user_model

    from approvals.evidence.hashing import event_body, event_hash
    from approvals.models import AuditEvent, ChangeRequest

    user, _ = get_user_model().objects.get_or_create(username="benchmark")
    changes = total // per_change
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        ChangeRequest(
            title=f"Change {n}",
            description="benchmark",
            change_type="normal",
            impact="low",
            requester=user,
            state="closed",
        )
        for n in range(changes)
    ]
    ChangeRequest.objects.bulk_create(rows, batch_size=5000)
    ids = list(ChangeRequest.objects.order_by("pk").values_list("pk", flat=True))
    heads = {pk: "" for pk in ids}
    batch: list = []
    block = 100  # a hundred changes progress side by side
    seq_time = start
    for first in range(0, changes, block):
        group = ids[first : first + block]
        for index in range(1, per_change + 1):
            for pk in group:
                seq_time += timedelta(milliseconds=7)
                last = index == per_change
                data = {
                    "step": index,
                    "step_name": "Department head",
                    "step_kind": "tier",
                    "comment": "Looks fine to me, go ahead.",
                    "escalated": False,
                }
                snapshot = (
                    {
                        "title": f"Change {pk}",
                        "change_type": "normal",
                        "impact": "low",
                        "risk": "low",
                        "state": "closed" if last else "tier_approval",
                        "round": 0,
                        "policy_name": "Normal change — low impact",
                        "pre_approved": False,
                        "requester_id": user.pk,
                        "implementer_id": None,
                        "planned_start": None,
                        "planned_end": None,
                        "outcome": "",
                        "version": index,
                        "key": f"CHG-{pk:06d}",
                    }
                    if index % 2
                    else None
                )
                fields = dict(
                    chain=f"change:{pk}",
                    chain_index=index,
                    occurred_at=seq_time,
                    actor="hank",
                    on_behalf_of="",
                    action="commented",
                    change=pk,
                    from_state="tier_approval",
                    to_state="closed" if last else "tier_approval",
                    data=data,
                    snapshot=snapshot,
                    request_id="0f3c2a9b8e7d6c5b",
                    prev_hash=heads[pk],
                )
                value = event_hash(event_body(**fields))
                heads[pk] = value
                batch.append(
                    AuditEvent(
                        occurred_at=seq_time,
                        actor_name="hank",
                        on_behalf_of_name="",
                        action="commented",
                        change_id=pk,
                        from_state="tier_approval",
                        to_state=fields["to_state"],
                        data=data,
                        snapshot=snapshot,
                        request_id="0f3c2a9b8e7d6c5b",
                        chain=fields["chain"],
                        chain_index=index,
                        prev_hash=fields["prev_hash"],
                        hash=value,
                    )
                )
                if len(batch) >= 5000:
                    AuditEvent.objects.bulk_create(batch)
                    batch = []
    AuditEvent.objects.bulk_create(batch)
    for pk in ids:
        ChangeRequest.objects.filter(pk=pk).update(audit_length=per_change, audit_head=heads[pk])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-change", type=int, default=10)
    parser.add_argument(
        "--reuse", action="store_true", help="verify the trail already there (filled earlier)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="audit-benchmark-"))
    os.environ["AUDIT_SIGNING_KEY"] = str(folder / "signing-key.pem")
    os.environ["AUDIT_SIGNING_KEY_CREATE"] = "1"
    os.environ["AUDIT_CHECKPOINT_DIR"] = str(folder / "checkpoints")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from approvals.evidence.checkpoints import checkpoint_write
    from approvals.evidence.verification import verify_trail
    from approvals.models import AuditEvent

    call_command("migrate", verbosity=0)
    if args.reuse:
        print(f"reusing {AuditEvent.objects.count()} events")
    elif AuditEvent.objects.exists():
        sys.exit("refusing: the database already holds audit events (use an empty scratch one)")
    else:
        began = time.perf_counter()
        _fill(args.events, args.per_change)
        print(f"filled {args.events} events in {time.perf_counter() - began:.1f}s", flush=True)
    began = time.perf_counter()
    while checkpoint_write(now=datetime.now(UTC) + timedelta(days=3650)):
        pass
    print(f"checkpointed in {time.perf_counter() - began:.1f}s", flush=True)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began, cpu = time.perf_counter(), time.process_time()
    result = verify_trail()
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    load = os.getloadavg()[0]
    print(
        f"{connection.vendor}: verified {result.events_checked} events in {elapsed:.1f}s "
        f"= {result.events_checked / elapsed:,.0f} events/s ({cpu:.1f}s of this process's CPU: "
        f"{result.events_checked / cpu:,.0f} events per CPU second; load average {load:.1f}); "
        f"ok={result.ok} {result.reason}; peak RSS {rss_before / 1024:.0f} MiB before, "
        f"{rss_after / 1024:.0f} MiB after"
    )


if __name__ == "__main__":
    main()
