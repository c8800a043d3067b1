"""The benchmark harness (`make bench`) kept from rotting: its seeding writes a trail the
project's own verification accepts, and its report carries every figure the README promises."""

import json

import pytest

from approvals.audit import verify_chain
from approvals.choices import ChangeState
from approvals.models import AuditEvent, ChangeRequest, Decision
from bench import report
from bench.seed import seed_changes, seed_pool

REQUEST_FIGURES = ("list_all", "list_requester", "inbox", "detail", "approve")


@pytest.mark.postgres
def test_seeded_changes_carry_an_audit_trail_that_verifies(demo):
    result = seed_changes(changes=50, seed=3, quiet=True)

    verdict = verify_chain()
    assert verdict.ok, verdict.reason
    assert result.changes == ChangeRequest.objects.count() == 50
    assert result.audit_events == AuditEvent.objects.count() == verdict.events_checked
    assert Decision.objects.exists()
    states = set(ChangeRequest.objects.values_list("state", flat=True))
    assert ChangeState.CLOSED in states and len(states) >= 3


@pytest.mark.postgres
def test_changes_added_for_decisions_wait_at_the_first_of_three_steps(demo):
    ids = seed_pool(count=5, seed=4)

    assert len(ids) == 5
    for change in ChangeRequest.objects.filter(pk__in=ids).prefetch_related("steps"):
        steps = sorted(change.steps.all(), key=lambda s: s.order)
        assert change.state == ChangeState.TIER_APPROVAL
        assert [s.status for s in steps] == ["pending", "waiting", "waiting"]
    assert verify_chain().ok


def _run(rps: float) -> dict:
    return {
        "rps": rps,
        "p50_ms": 10.0,
        "p95_ms": 20.0,
        "p99_ms": 30.0,
        "requests": 100,
        "errors": 0,
    }


def _decisions(ms: float, statements: float) -> list[dict]:
    return [{"times_ms": [ms, ms + 1, ms + 2], "statements": statements, "count": 3}]


def test_the_report_holds_every_figure_with_its_ratio(tmp_path):
    load = {name: _run(100.0) for name in (*REQUEST_FIGURES, "page_list", "page_inbox")}
    load["floor"] = _run(400.0)
    results = report.assemble(
        config={"changes": 10},
        changes=10,
        audit_events=90,
        seeded={},
        queries=dict.fromkeys((*REQUEST_FIGURES, "floor", "page_list", "page_inbox"), 4),
        load=load,
        http={
            "ours": [{"p50_ms": 20.0, "requests": 3, "errors": 0}],
            "peer": [{"p50_ms": 10.0, "requests": 3, "errors": 0}],
        },
        decisions={"ours": _decisions(8.0, 7.0), "peer": _decisions(4.0, 11.0)},
        verify={"events": 90, "events_per_s": 1000, "peak_mb": 1.0},
        export={"events": 90, "events_per_s": 900, "peak_mb": 0.5},
        export_json={"events": 90, "events_per_s": 800, "peak_mb": 0.5},
        sla={"actions": 5, "actions_per_s": 50.0, "peak_mb": 0.1},
        seconds=1.0,
    )

    written = json.loads(report.write_json(results, tmp_path).read_text())

    assert written["changes"] == 10 and written["audit_events"] == 90
    assert written["floor"]["rps"] == 400.0
    for name in REQUEST_FIGURES:
        assert set(written[name]) >= {
            "rps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "queries",
            "ratio_to_floor",
        }
        assert written[name]["ratio_to_floor"] == 0.25
    assert set(written["decision"]) >= {
        "statements",
        "p50_ms",
        "peer_statements",
        "peer_p50_ms",
        "ratio_to_peer",
    }
    assert written["decision"]["ratio_to_peer"] == 1.8  # medians 9 ms and 5 ms
    assert set(written["http_decision"]) >= {"p50_ms", "peer_p50_ms", "ratio_to_peer"}
    for name in ("verify", "export"):
        assert set(written[name]) >= {"events", "events_per_s", "peak_mb"}
    assert set(written["sla_scan"]) >= {"actions", "actions_per_s", "peak_mb"}
    assert set(written["pages"]) >= {"rps", "p95_ms", "ratio_to_floor"}
    assert "floor (SELECT 1" in report.table(written)
