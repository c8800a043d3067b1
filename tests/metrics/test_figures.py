"""Metrics computations (pure functions)."""

from datetime import datetime, timedelta

from approvals.metrics import Outcomes, bar_chart, percentile, wait_stats

T0 = datetime(2026, 1, 1)


def test_percentiles_interpolate():
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(range(1, 11)), 0.9) == 9.1


def test_wait_stats_per_step_kind():
    waits = [
        ("tier", T0, T0 + timedelta(hours=2), T0 + timedelta(hours=24)),
        ("tier", T0, T0 + timedelta(hours=30), T0 + timedelta(hours=24)),
        ("final", T0, T0 + timedelta(hours=1), None),
    ]
    stats = {s.kind: s for s in wait_stats(waits, {"tier": 3})}
    assert stats["tier"].median_hours == 16 and stats["tier"].decided_late == 1
    assert stats["tier"].overdue_open == 3
    assert stats["final"].p90_hours == 1
    assert stats["retrospective"].median_hours is None


def test_rates_are_none_without_data():
    empty = Outcomes(decided=0, approved=0, rejected=0, completed=0, succeeded=0)
    assert empty.approval_rate is None and empty.success_rate is None
    some = Outcomes(decided=4, approved=3, rejected=1, completed=2, succeeded=1)
    assert (some.approval_rate, some.rejection_rate, some.success_rate) == (0.75, 0.25, 0.5)


def test_bars_scale_to_the_largest_value():
    bars, height = bar_chart([("a", 2.0, "2"), ("b", 4.0, "4"), ("c", None, "—")], width=100)
    assert [b.width for b in bars] == [50.0, 100.0, 0.0]
    assert height == 84
