"""The replay cache: a scenario's schedule, requests and energy counters, computed once and read back.

A landed day needs the whole scenario's replay (a day's `jobs` rows carry each job's final status, and its
energy counters carry every earlier day's energy). For the 1,024-GPU `large` scenario that replay takes
minutes, far more than building one day of telemetry, so every process that lands a day would pay it again.
The replay is deterministic, so it is stored under `<data dir>/cache/simulation/`, keyed by a hash of the
scenario file and the simulator's source: a changed scenario or simulator gets a new replay, never a stale one.

Pickle is used because the replay is made of this package's own dataclasses and numpy arrays, written and
read only by this code; a file that cannot be read (truncated, older format) is replayed and replaced.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

from ingestion import paths
from ingestion.landing import locked
from ingestion.simulator.run import Simulation, simulate
from ingestion.simulator.scenario import load_scenario, scenario_path

SIMULATOR_DIR = Path(__file__).parent
# The modules whose code decides the replay (telemetry: the energy counters); the landing code is left out,
# so that changing how a day is written keeps the replay.
REPLAY_MODULES = ("scenario.py", "cluster.py", "workload.py", "scheduler.py", "serving.py", "telemetry.py")
log = logging.getLogger(__name__)


def cache_dir(base: Path | None = None) -> Path:
    return (base or paths.data_dir()) / "cache" / "simulation"


def replay_key(scenario_file: Path) -> str:
    """Hash of the scenario file and of the simulator modules that turn it into a replay."""
    digest = hashlib.sha256(scenario_file.read_bytes())
    for module in REPLAY_MODULES:
        digest.update(module.encode())
        digest.update((SIMULATOR_DIR / module).read_bytes())
    return digest.hexdigest()[:16]


def cache_file(scenario_ref: str, base: Path | None = None) -> Path:
    file = scenario_path(scenario_ref)
    return cache_dir(base) / f"{file.stem}-{replay_key(file)}.pickle"


def load_or_simulate(scenario_ref: str, base: Path | None = None) -> Simulation:
    """The scenario's replay from the cache, else simulated (with the energy counter at every day's start)
    and stored for the next process. One process replays a scenario at a time: another that asks meanwhile (the
    landing step while `orchestration.launch` replays ahead of it) waits, then reads the stored replay."""
    path = cache_file(scenario_ref, base)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path.parent / f".{path.stem}.lock"):
        sim = _read(path)
        if sim is None:
            sim = simulate(load_scenario(scenario_ref))
            sim.energy_before(sim.scenario.days)
            _write_atomically(path, sim)
        for stale in path.parent.glob(f"{path.stem.rsplit('-', 1)[0]}-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)  # replays of an earlier version of this scenario or simulator
        for partial in path.parent.glob(f".{path.name}.*.tmp"):
            partial.unlink(missing_ok=True)  # a write cut short (its process killed): none is under way now
    return sim


def _read(path: Path) -> Simulation | None:
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            sim = pickle.load(f)
        if isinstance(sim, Simulation):
            return sim
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError) as exc:
        log.warning("replay cache %s unreadable (%s): replaying the scenario", path, exc)
    return None


def _write_atomically(path: Path, sim: Simulation) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(sim, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
