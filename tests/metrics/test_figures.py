"""Metrics computations: pure functions over plain values."""

from datetime import UTC, date, datetime, timedelta

from approvals.metrics import Outcomes, Wait, bars, percentile, period_of, wait_stats

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=3)


def _wait(hours: float | None, sla: float | None = 24) -> Wait:
    return Wait(
        opened_at=T0,
        decided_at=None if hours is None else T0 + timedelta(hours=hours),
        due_at=None if sla is None else T0 + timedelta(hours=sla),
    )


def test_percentiles_interpolate():
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(range(1, 11)), 0.9) == 9.1


def test_each_named_step_gets_its_median_90th_percentile_and_late_count():
    head = ("Normal change — low impact", "Department head")
    final = ("Normal change — low impact", "Final approval (change manager)")
    waits = [(head, _wait(2)), (head, _wait(30)), (final, _wait(1, sla=None))]
    stats = {(s.group, s.name): s for s in wait_stats(waits, now=NOW)}
    assert stats[head].decided == 2 and stats[head].median_hours == 16
    assert stats[head].decided_late == 1 and stats[head].overdue_open == 0
    assert stats[final].p90_hours == 1 and stats[final].decided_late == 0


def test_an_open_step_past_its_due_time_is_overdue_and_not_counted_as_decided():
    key = ("Emergency change — fast track", "Emergency CAB (ECAB)")
    stats = wait_stats([(key, _wait(None, sla=1)), (key, _wait(None, sla=500))], now=NOW)
    assert [(s.decided, s.median_hours, s.overdue_open) for s in stats] == [(0, None, 1)]


def test_rates_are_none_without_data():
    empty = Outcomes(decided=0, approved=0, rejected=0, completed=0, succeeded=0)
    assert empty.approval_rate is None and empty.success_rate is None
    some = Outcomes(decided=4, approved=3, rejected=1, completed=2, succeeded=1)
    assert (some.approval_rate, some.rejection_rate, some.success_rate) == (0.75, 0.25, 0.5)


def test_bars_are_drawn_to_the_scale_of_the_largest_value():
    drawn = bars([("a", 2.0, "2"), ("b", 4.0, "4"), ("c", None, "—")])
    assert [b.percent for b in drawn] == [50.0, 100.0, 0.0]


def test_the_default_period_is_the_last_90_days_up_to_today():
    period = period_of(since=None, until=None, today=date(2026, 3, 31))
    assert (period.since, period.until) == (date(2026, 1, 1), date(2026, 3, 31))
