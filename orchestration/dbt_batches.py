"""`python -m orchestration.dbt_batches SPEC`: one dbt command per chunk of days, all in one process.

A rebuild of a large pool builds its incremental models a few days at a time (warehouse_daily's chunks), and each
`dbt` command starts by importing dbt and parsing the project (~3.5 s here) before its ~12 s of work. This process
pays that once: it parses the project, then runs each chunk through dbt's programmatic API with the parsed
manifest (https://docs.getdbt.com/reference/programmatic-invocations, "Reusing objects"). A chunk's days reach the
models as GPU_EFF_BUILD_START/END in the environment (macros/incremental.sql), read when dbt compiles each node.

SPEC is JSON: {"args": [dbt's arguments after the command], "select": selection, "chunks": [[start, end], ...]},
bounds ISO days, the end exclusive. One line `built START END` per chunk built, in order; dbt prints only its
warnings and errors. The exit status is 1 at the first chunk that fails (the later chunks are not built).
"""

from __future__ import annotations

import json
import os
import sys

BUILT = "built"
BUILD_WINDOW_ENV = ("GPU_EFF_BUILD_START", "GPU_EFF_BUILD_END")  # read by macros/incremental.sql


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    from dbt.cli.main import dbtRunner  # after the spec is read: an unreadable one fails without dbt's imports

    args = [*spec["args"], "--log-level", "warn", "--no-use-colors"]
    parsed = dbtRunner().invoke(["parse", *args])
    if not parsed.success:
        print(f"dbt parse failed: {parsed.exception or 'see the errors above'}", flush=True)
        return 1
    runner = dbtRunner(manifest=parsed.result)
    for start, end in spec["chunks"]:
        os.environ.update(zip(BUILD_WINDOW_ENV, (start, end), strict=True))
        result = runner.invoke(["run", "--select", spec["select"], *args])
        if not result.success:
            print(f"dbt run of {start}..{end} failed: {result.exception or 'see the errors above'}", flush=True)
            return 1
        print(f"{BUILT} {start} {end}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
