"""`python -m orchestration.launch JOB`: run a job with `dg launch` over the configured days, and tell a person
what happened in a few lines: each step as it ends, the rows landed, the checks, the time and the deck's path.

Dagster's own log (every event at DEBUG, dbt's output) goes to `<data dir>/logs/<job>-<UTC time>.log`; the summary
is read from the run's events in the Dagster instance (`DAGSTER_HOME`), the same instance the UI shows.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from ingestion import paths
from ingestion.yaml_keys import ConfigError
from orchestration.environment import QUIET_ENVIRONMENT
from orchestration.instance_config import create_instance, instance_exists

POLL_S = 1.0
ERROR_LINES = 12  # of a failed step's error shown in the terminal (the rest is in the log)


def window() -> str:
    """`first...last`: the scenario's days, or from the first configured stage to yesterday (as `gpu-eff window`)."""
    from ingestion.cli import window_days

    first, last = window_days()
    return f"{first.isoformat()}...{last.isoformat()}"


def replay_ahead(say=print) -> threading.Thread | None:  # noqa: ANN001 (say: print's signature)
    """When the configuration simulates a cluster whose replay is not stored yet, replay it on a thread of this
    process while `dg launch` starts in its own (imports, code location, the run's plan: ~9 s of one core; the
    demo's replay takes ~8 s of the other), and say so. The landing step then reads the stored replay:
    replay_cache's lock makes it wait for this one rather than replay again. Errors are left to the landing step,
    which reports them."""
    from ingestion.config import load_config
    from ingestion.simulator import replay_cache

    try:
        scenario = load_config().scenario
        if scenario is None or replay_cache.cache_file(scenario).is_file():
            return None
    except Exception:  # noqa: BLE001 (the run reports what is wrong)
        return None

    def replay() -> None:
        with contextlib.suppress(Exception):
            replay_cache.load_or_simulate(scenario)

    say(f"  replaying the simulated cluster's scenario ({scenario}), once for this version of it")
    thread = threading.Thread(target=replay, name="replay-ahead", daemon=True)
    thread.start()
    return thread


def log_path(job: str, now: dt.datetime) -> Path:
    return paths.data_dir() / "logs" / f"{job}-{now.strftime('%Y%m%dT%H%M%SZ')}.log"


def launch(job: str, partition_range: str, log: Path) -> subprocess.Popen:
    dg = Path(sys.executable).parent / "dg"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **QUIET_ENVIRONMENT, "PYTHONWARNINGS": "ignore"}
    with log.open("w") as out:
        return subprocess.Popen(
            [str(dg), "launch", "-m", "orchestration.definitions", "--job", job, "--partition-range", partition_range],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


class Summary:
    """What the terminal shows of one run, fed its events in order."""

    def __init__(self, started: float, say=print) -> None:
        self.started = started
        self.say = say
        # step -> asset -> rows. A run over a range of days records one materialization per day of a partitioned
        # asset, each with the metadata of the whole range: rows are counted once per asset.
        self.rows: dict[str, dict[str, int]] = defaultdict(dict)
        self.assets: dict[str, set[str]] = defaultdict(set)
        self.days: dict[str, set[str]] = defaultdict(set)
        self.skipped: dict[str, str] = {}
        self.checks: Counter[str] = Counter()
        self.failed_checks: list[str] = []
        self.errors: list[str] = []
        self.deck: str | None = None

    def event(self, event) -> None:  # noqa: ANN001 (a DagsterEvent)
        step = event.step_key or ""
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            self._materialization(step, event.event_specific_data.materialization)
        elif kind == "ASSET_CHECK_EVALUATION":
            self._check(step, event.event_specific_data)
        elif kind == "STEP_SUCCESS":
            self.say(self._step_line(step, "ok"))
        elif kind == "STEP_FAILURE":
            self.errors.append(f"{step}: {root_cause(event.event_specific_data.error)}")
            self.say(self._step_line(step, "FAILED"))

    def _materialization(self, step: str, materialization) -> None:  # noqa: ANN001
        metadata = materialization.metadata
        asset = materialization.asset_key.to_user_string()
        self.assets[step].add(asset)
        if materialization.partition:
            self.days[step].add(materialization.partition)
        rows = metadata.get("dagster/row_count")
        if rows is not None:
            self.rows[step][asset] = int(rows.value)
        if "skipped" in metadata:
            self.skipped[step] = str(metadata["skipped"].value)
        if asset == "deck" and "latest" in metadata:
            self.deck = str(metadata["latest"].value)

    def _check(self, step: str, evaluation) -> None:  # noqa: ANN001 (AssetCheckEvaluation)
        earlier = evaluation.metadata.get("outcome_of_run")
        if earlier is not None and step not in self.assets:  # a check step that reported an earlier evaluation
            self.skipped[step] = f"inputs unchanged since run {str(earlier.value)[:8]}, its outcomes reported"
        if evaluation.passed:
            self.checks["passed"] += 1
            return
        severity = evaluation.severity.value
        self.checks[f"failed ({severity})"] += 1
        description = (evaluation.description or "").strip().splitlines()[:1]
        self.failed_checks.append(f"{severity:<5} {evaluation.asset_key.to_user_string()}: {evaluation.check_name}"
                                  + (f": {description[0]}" if description else ""))

    def _step_line(self, step: str, outcome: str) -> str:
        details = [plural(len(self.assets[step]), "asset"), plural(len(self.days[step]), "day"),
                   plural(sum(self.rows[step].values()), "row")]
        details = [d for d in details if not d.startswith("0 ")]
        if step in self.skipped:
            outcome, details = f"skipped: {self.skipped[step]}", []
        text = f"  {clock(time.monotonic() - self.started)}  {step:<24} {outcome}"
        return text + (f" ({', '.join(details)})" if details else "")

    def close(self, success: bool, log: Path) -> None:
        checks = ", ".join(f"{count} {name}" for name, count in sorted(self.checks.items())) or "none ran"
        self.say(f"Checks: {checks}")
        for line in self.failed_checks:
            self.say(f"  {line}")
        for error in self.errors:
            lines = error.splitlines()
            self.say("Error in " + "\n  ".join(lines[:ERROR_LINES]) + ("\n  …" if len(lines) > ERROR_LINES else ""))
        if not success and self.deck is None:
            self.say("The deck was not rebuilt: the previous one, if any, is unchanged.")
        self.say(f"{'Done' if success else 'FAILED'} in {elapsed(time.monotonic() - self.started)}. "
                 f"Full log: {log}")
        if success and self.deck:
            self.say(f"Deck: {self.deck}")


def root_cause(error) -> str:  # noqa: ANN001 (a SerializableErrorInfo, or None)
    """The innermost error's message: Dagster wraps a step's exception in its own."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes:2d}:{seconds:02d}"


def elapsed(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def follow(job: str, process: subprocess.Popen, since: dt.datetime, summary: Summary) -> bool:
    """Feed the run's events to the summary until the launch process ends; True when the run succeeded."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run_id, cursor = None, None
        while True:
            done = process.poll() is not None
            if run_id is None:
                runs = instance.get_runs(dg.RunsFilter(job_name=job, created_after=since), limit=1)
                run_id = runs[0].run_id if runs else None
            if run_id is not None:
                while True:
                    connection = instance.get_records_for_run(run_id, cursor=cursor, limit=500)
                    for record in connection.records:
                        if record.event_log_entry.dagster_event is not None:
                            summary.event(record.event_log_entry.dagster_event)
                    cursor = connection.cursor
                    if not connection.has_more:
                        break
            if done:
                run = instance.get_run_by_id(run_id) if run_id else None
                return process.returncode == 0 and run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(POLL_S)  # the next poll at once when the run's process ends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.launch",
        description="Run a Dagster job over every configured day (the simulated scenario's days, or from the first "
                    "stage to yesterday) and print a short summary; Dagster's full log goes to a file.")
    parser.add_argument("job", choices=("daily_refresh", "warehouse_rebuild"))
    args = parser.parse_args(argv)
    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set: run this through `make demo` (or set it to the instance `make ui` shows)",
              file=sys.stderr)
        return 2
    try:
        partition_range = window()
    except ConfigError as exc:  # its message names the file, the key and the problem
        print(f"{args.job}: {exc}", file=sys.stderr)
        return 2
    since = dt.datetime.now(dt.UTC)
    log = log_path(args.job, since)
    started = time.monotonic()
    print(f"{args.job}: days {partition_range.replace('...', ' to ')}, data in {paths.data_dir()}")
    if not instance_exists(Path(os.environ["DAGSTER_HOME"])):
        create_instance(Path(os.environ["DAGSTER_HOME"]))  # before the run: two processes creating it would collide
    process = launch(args.job, partition_range, log)
    replay = replay_ahead() if args.job == "daily_refresh" else None
    if replay is not None:  # before this process reads the run's events (importing Dagster): the core `dg` leaves
        replay.join()
    summary = Summary(started)
    try:
        success = follow(args.job, process, since - dt.timedelta(seconds=5), summary)
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        print(f"interrupted; full log: {log}", file=sys.stderr)
        return 130
    if not success and not summary.errors:  # the run failed before any step did (it may not have started)
        tail = log.read_text(errors="replace").strip().splitlines()[-ERROR_LINES:]
        print("The end of the log:\n  " + "\n  ".join(tail))
    summary.close(success, log)
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main())
