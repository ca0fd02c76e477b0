"""Progress of long work (the days of a backfill, the days of an import): days done, rows, rate and ETA.

Each step is reported as one line to `log` (Dagster's `context.log.info` in a run, `print` in the CLI), so the
run's log shows it; on an interactive terminal a tqdm bar shows it as well.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, what: str, log: Callable[[str], None] = print, unit: str = "day"):
        self.total, self.what, self.log, self.unit = total, what, log, unit
        self.done = self.rows = 0
        self.started = time.monotonic()
        self.bar = tqdm(total=total, desc=what, unit=unit, file=sys.stderr, leave=False,
                        disable=not sys.stderr.isatty())

    def step(self, label: str, rows: int) -> None:
        """One `unit` done, with `rows` rows."""
        self.done += 1
        self.rows += rows
        elapsed = max(time.monotonic() - self.started, 1e-9)
        eta = elapsed / self.done * (self.total - self.done)
        self.bar.set_postfix(rows=f"{self.rows:,}", refresh=False)
        self.bar.update(1)
        self.log(f"{self.what}: {label} ({self.done}/{self.total} {self.unit}s, {self.rows:,} rows, "
                 f"{self.rows / elapsed:,.0f} rows/s, ETA {eta:,.0f} s)")

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
