"""The dagster.yaml of this project's Dagster instances: `make install` writes .dagster_home's, and bench/run.py
its own. Telemetry off; one warehouse step at a time (the `default` pool); Dagster's SQLite event log with its
connections kept open (orchestration/event_log.py).

`python -m orchestration.instance_config DIR` writes DIR/dagster.yaml (kept when it exists: it may be the user's) and
creates the instance's storage there, once, at install: a run started later (`make demo`) finds it, instead of
creating it first (~2 s) before Dagster starts (orchestration.launch creates it for an instance made otherwise).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def instance_yaml(home: Path) -> str:
    """dagster.yaml for the instance in `home` (its run shards in home/history/runs, where Dagster keeps them)."""
    runs = json.dumps(str(Path(home).resolve() / "history" / "runs"))  # a JSON string is a YAML string
    return ("telemetry:\n  enabled: false\n"
            "concurrency:\n  pools:\n    default_limit: 1\n"
            "event_log_storage:\n  module: orchestration.event_log\n  class: KeptConnectionSqliteEventLogStorage\n"
            f"  config:\n    base_dir: {runs}\n")


def instance_exists(home: Path) -> bool:
    return (home / "history" / "runs.db").exists()


def create_instance(home: Path) -> None:
    """The Dagster instance's storage in `home`, from its dagster.yaml."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)):
        pass


def main(home: str) -> None:
    target = Path(home) / "dagster.yaml"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(instance_yaml(Path(home)))
    if not instance_exists(Path(home)):
        create_instance(Path(home))


if __name__ == "__main__":
    main(sys.argv[1])
