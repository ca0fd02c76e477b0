"""Run dbt on a data directory, in the test's process (dbt's programmatic API), and read its warehouse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.dbt_in_process import run_dbt

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"


def invoke_dbt(data_dir: Path, *args: str) -> tuple[int, str]:
    """`dbt <args>` on `data_dir`: (exit code as the `dbt` command's, dbt's log lines above debug).

    In this process, not as a `dbt` command: a command pays dbt's import and start-up (~3 s of CPU) before its work,
    and the suite runs some thirty of them; here that is paid once per test process. The data directory reaches
    the profile and the sources as GPU_EFF_DATA_DIR, set for the invocation only."""
    lines: list[str] = []

    def keep(event) -> None:
        if event.info.level != "debug":
            lines.append(event.info.msg)

    env = {"GPU_EFF_DATA_DIR": str(data_dir), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    result = run_dbt([*args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
                      "--target-path", str(data_dir / "dbt_target"), "--log-path", str(data_dir / "dbt_logs"),
                      "--log-level-file", "warn", "--quiet"], env, keep)
    if result.exception is not None:
        lines.append(f"{type(result.exception).__name__}: {result.exception}")
    return (0 if result.success else 2 if result.exception is not None else 1), "\n".join(lines)


@dataclass
class DbtWarehouse:
    data_dir: Path

    def dbt(self, *args: str, vars: dict | None = None) -> str:
        """`dbt <args>` (with `vars`), its log; an AssertionError with the log's end when it fails."""
        code, output = invoke_dbt(self.data_dir, *args, *(["--vars", json.dumps(vars)] if vars else []))
        if code != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{output[-6000:]}")
        return output

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True) as con:
            return con.sql(sql).df()

    def row(self, sql: str) -> dict:
        frame = self.query(sql)
        assert len(frame) == 1, f"expected one row, got {len(frame)} for {sql}"
        return frame.iloc[0].to_dict()
