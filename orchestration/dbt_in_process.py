"""dagster-dbt's dbt commands run in the Dagster run's own process, through dbt's programmatic API.

dagster-dbt starts each dbt command as a `dbt` process and reads its JSON log lines from stdout. A `dbt` process
spends ~3.5 s of CPU here before its first node (importing dbt and its adapter, reading the profile, validating
the project's config), and a run starts three: measured, `dbt run` of one view takes 3.5-4.3 s as a command and
0.45 s in a process that has already run dbt. The Dagster run has imported dbt already (dagster-dbt imports it),
so `InProcessDbtCommand` stands in for that process: it runs the command with dbtRunner
(https://docs.getdbt.com/reference/programmatic-invocations), the command's environment in effect, and hands
dagster-dbt the same JSON lines the process would have printed (dbt's events at info level and above, rendered by
dbt's own `msg_to_json`), then its exit status. Everything dagster-dbt does with them (events, artifacts, errors)
is unchanged.

dbt-duckdb keeps the warehouse open in the process after a command; `close_warehouse` closes it, so that the step
can read the warehouse (read-only) and the next command open it again.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock

from ingestion.paths import ENGINE_ENV
from orchestration import spark_warehouse

DEBUG = "debug"
RUN_RESULTS = "run_results.json"


class InProcessDbtCommand:
    """What dagster-dbt reads of the `subprocess.Popen` of a dbt command (args, stdout, wait, returncode), the
    command having run to its end in this process when it is constructed. `args` is `[dbt executable, *dbt's
    arguments]`; `env` the whole environment of the command."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str], **_popen: object) -> None:
        from dbt_common.events.functions import msg_to_json  # imported by dagster-dbt already

        self.args = list(args)
        lines: list[str] = []

        def keep(event) -> None:  # the lines `dbt --log-format json` prints at its default log level
            if event.info.level != DEBUG:
                lines.append(msg_to_json(event))

        # dbt's console output is what dagster-dbt re-prints from these lines; dbt's own log file is unchanged.
        # dbt writes manifest.json twice a command (after parsing and at the end, ~0.4 s in all), which nothing of
        # the pipeline reads (dagster-dbt reads the project's own manifest); run_results.json, which it reads, is
        # written below.
        result = run_dbt(self.args[1:], {**env, "DBT_LOG_LEVEL": "none", "DBT_WRITE_JSON": "false"}, keep)
        if hasattr(result.result, "write"):  # a command that ran nodes: its RunExecutionResult
            result.result.write(os.path.join(env["DBT_TARGET_PATH"], RUN_RESULTS))
        if result.exception is not None:  # what the process would have printed as its traceback's last line
            lines.append(json.dumps({"info": {"level": "error", "msg": f"{type(result.exception).__name__}: "
                                              f"{result.exception}", "name": "InProcessException"}, "data": {}}))
        # dbt's exit codes: 0 success, 1 a node failed, 2 dbt itself failed
        self.returncode = 0 if result.success else 2 if result.exception is not None else 1
        self.stdout = io.BytesIO("".join(line + "\n" for line in lines).encode())

    def wait(self, timeout: float | None = None) -> int:  # noqa: ARG002 (Popen's signature)
        return self.returncode

    def poll(self) -> int:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Nothing to signal: the command has finished."""


@contextmanager
def dbt_in_process() -> Iterator[None]:
    """dagster-dbt's dbt commands started inside the block run in this process (InProcessDbtCommand)."""
    from dagster_dbt.core import dbt_cli_invocation

    stand_in = SimpleNamespace(Popen=InProcessDbtCommand, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT)
    with mock.patch.object(dbt_cli_invocation, "subprocess", stand_in):
        yield


def run_dbt(args: Sequence[str], env: Mapping[str, str], on_event: Callable[[Any], None]) -> Any:
    """dbt `args` in this process (dbtRunner: its result), with `env` added to the environment for the command (not
    cleared first: another thread may read the environment meanwhile) and each of dbt's events handed to
    `on_event`; then the warehouse that dbt-duckdb keeps open is closed, or, on Spark, the tables Spark holds are
    published to it (orchestration/spark_warehouse.py)."""
    from dbt.cli.main import dbtRunner  # imported by dagster-dbt already; deferred for the modules that are not

    with mock.patch.dict(os.environ, env):
        try:
            return dbtRunner(callbacks=[on_event]).invoke(list(args))
        finally:
            if os.environ.get(ENGINE_ENV) == "spark":
                if set(args) & set(spark_warehouse.CHANGES_TABLES):  # the command, after dagster-dbt's global flags
                    spark_warehouse.publish()
            else:
                close_warehouse()


def close_warehouse() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open in this process after a command (its connection
    manager's shared environment), so that this process can open the file read-only and the next command a new
    data directory's."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None
