"""Which days of a scenario are landed as this code would land them, so that landing them again is skipped.

A simulated day is a function of the scenario file and of the code that simulates and lands it. After a day
is landed, its files (path within the data directory, size, modification time, rows) are written down with a
hash of that input under `<data dir>/cache/simulation/landed/`; landing the day again returns those files
without generating the day when the hash is the same and every file is still as written. Any other case (a
changed scenario or code, a file altered, removed or re-landed by something else) lands the day again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from ingestion import landing, paths
from ingestion.simulator.scenario import Scenario

INGESTION_DIR = Path(__file__).resolve().parents[1]
CODE = sorted((INGESTION_DIR / "simulator").glob("*.py")) + [INGESTION_DIR / "landing.py",
                                                            INGESTION_DIR / "contracts.py"]


def _record(sc: Scenario, day: dt.date, base: Path | None) -> Path:
    return (base or paths.data_dir()) / "cache" / "simulation" / "landed" / f"{sc.pool}-{day.isoformat()}.json"


def _input_key(sc: Scenario) -> str:
    digest = hashlib.sha256(Path(sc.source_path).read_bytes())
    for file in CODE:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _stat(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def unchanged(sc: Scenario, day: dt.date, base: Path | None = None) -> list[landing.LandedFile] | None:
    """The day's landed files, when this input landed them and they are untouched since; else None."""
    try:
        record = json.loads(_record(sc, day, base).read_text())
        if record["input"] != _input_key(sc):
            return None
        root = base or paths.data_dir()
        files = [landing.LandedFile(f["dataset"], root / f["path"], f["rows"], f["quarantined"], day, f["reasons"])
                 for f in record["files"]]
        if any(_stat(file.path) != f["stat"] for file, f in zip(files, record["files"], strict=True)):
            return None
        return files
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(sc: Scenario, day: dt.date, landed: list[landing.LandedFile], base: Path | None = None) -> None:
    """Write down the files this input has just landed for the day."""
    record = _record(sc, day, base)
    record.parent.mkdir(parents=True, exist_ok=True)
    root = base or paths.data_dir()
    files = [{"dataset": f.dataset, "path": str(f.path.relative_to(root)), "rows": f.rows,
              "quarantined": f.quarantined, "reasons": f.reasons, "stat": _stat(f.path)} for f in landed]
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"input": _input_key(sc), "files": files}))
    tmp.replace(record)
