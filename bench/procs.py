"""Run a command and measure it: wall time and the peak resident memory of its whole process tree.

`resource.getrusage(RUSAGE_CHILDREN)` reports the largest single descendant, not the sum of a Dagster run
and the dbt process it starts, so the tree's resident set is sampled from /proc instead (Linux).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.1
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    wall_s: float
    peak_rss_gb: float
    returncode: int
    output: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    """Resident bytes of `root` and all its descendants."""
    tree, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((Path("/proc") / str(pid) / "statm").read_text().split()[1]) * PAGE
        todo += tree.get(pid, [])
    return total


def run_measured(cmd: list[str], env: dict[str, str], echo: bool = False) -> Measured:
    """Run `cmd` to completion; its output is captured (and echoed line by line when `echo`), its tree's RSS
    sampled every 0.1 s."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_bytes(proc.pid))
            done.wait(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if echo:
            print(line, end="", flush=True)
    proc.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(wall, peak / 1024**3, proc.returncode, "".join(lines))
