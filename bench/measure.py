"""Timing and memory helpers shared by the phases."""

import statistics
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bench.counter import counting

T = TypeVar("T")
PAGE = 4096  # bytes per page in /proc/<pid>/statm


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[rank]


def rss_bytes(pid: int | str = "self") -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


class PeakRss:
    """Samples the resident memory of some processes every few milliseconds; `peak_mb` is the
    highest total seen above what they held when sampling began."""

    def __init__(self, pids: Callable[[], Sequence[int | str]], every: float = 0.01) -> None:
        self.pids = pids
        self.every = every
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _total(self) -> int:
        return sum(rss_bytes(pid) for pid in self.pids())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._total())
            time.sleep(self.every)

    def __enter__(self) -> "PeakRss":
        self.baseline = self.peak = self._total()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._total())

    @property
    def peak_mb(self) -> float:
        return round((self.peak - self.baseline) / 2**20, 1)


@contextmanager
def own_peak() -> Iterator[PeakRss]:
    with PeakRss(lambda: ["self"]) as peak:
        yield peak


def timed_calls(calls: Sequence[Callable[[], Any]]) -> dict[str, Any]:
    """Run each call, counting its statements and timing it; p50/p95 in ms, mean statements."""
    times: list[float] = []
    statements: list[int] = []
    for call in calls:
        with counting() as counter:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        statements.append(counter.count)
    return {
        "count": len(times),
        "statements": round(statistics.fmean(statements), 2) if statements else 0,
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "times_ms": [round(t, 3) for t in times],
    }
