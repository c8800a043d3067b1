"""Progress lines with a time-left estimate for the long phases (seeding, load rounds)."""

import sys
import time


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


class Progress:
    """Prints `label done / total (pct) — rate/s — about N left` at most every `every` seconds."""

    def __init__(self, label: str, total: int, *, unit: str = "", every: float = 2.0) -> None:
        self.label = label
        self.total = max(1, total)
        self.unit = unit
        self.every = every
        self.started = time.monotonic()
        self.last = 0.0
        self.done = 0

    def advance(self, step: int = 1) -> None:
        self.done += step
        now = time.monotonic()
        if now - self.last >= self.every or self.done >= self.total:
            self.last = now
            self._print(now)

    def _print(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        pct = 100 * self.done / self.total
        print(
            f"  {self.label}: {self.done:,} / {self.total:,}{self.unit} ({pct:.0f} %)"
            f" — {rate:,.0f}/s — about {_duration(left)} left",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> float:
        elapsed = time.monotonic() - self.started
        print(f"  {self.label}: done in {_duration(elapsed)}", file=sys.stderr, flush=True)
        return elapsed
