"""Jobs of the simulated cluster, and the arrival process that submits them.

A job is one allocation: it holds the same GPUs from start to end. A job that is preempted ends with
status `preempted`, and its remaining work is resubmitted as a new job (`<job_id>.<n>`), as Slurm's
requeue or a Kubernetes Job's replacement pod would appear in the logs.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np

from ingestion.simulator.cluster import Placement
from ingestion.simulator.scenario import Scenario

# Priorities: lower runs first.
PRIORITY_SERVING = 0
PRIORITY_INTERACTIVE = 1
PRIORITY_BATCH = 2
PRIORITY_BACKFILL = 3


@dataclass(eq=False)
class Job:
    job_id: str
    kind: str  # training | development | evaluation | inference
    tenant: str
    queue: str
    submit: int  # minute
    gpus: int = 1  # whole GPUs wanted (1 for fractional work)
    mem_need_gb: float = 0.0  # memory the workload uses when running
    priority: int = PRIORITY_BATCH
    planned_minutes: int = 0  # development/evaluation: how long the user keeps it
    work_tokens: float = 0.0  # training: tokens to process
    service: str | None = None  # inference: which service this replica serves
    mig_request: str | None = None  # training that asks for one MIG instance of this profile
    # -- set when placed -------------------------------------------------------------------
    placements: list[Placement] = field(default_factory=list)
    mig_profile: str | None = None
    gpu_count: float = 0.0
    mem_request_gb: float = 0.0
    start: int | None = None
    end: int | None = None
    preemptible: bool = False
    status: str = "pending"
    failure_reason: str | None = None
    restarts: int = 0
    tokens: float = 0.0
    checkpoint_tokens: float = 0.0
    data_wait_s: float = 0.0
    state: str = "running"  # running | checkpointing | recovering
    state_until: int = 0
    next_checkpoint: int = 0
    activity: array = field(default_factory=lambda: array("f"))  # per minute from start, per GPU
    memory_trace: np.ndarray | None = None  # per minute GB used, when it varies (inference replicas)
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (minute, event, detail)

    @property
    def running(self) -> bool:
        return self.status == "running"


def diurnal(local_hour: float) -> float:
    """Relative request load by local hour: quiet nights, a working-day plateau, peak mid-afternoon."""
    return 0.15 + 0.85 * math.sin(math.pi * (local_hour - 7) / 16) ** 2 if 7 <= local_hour <= 23 else 0.15


def working_hours(local_hour: float) -> float:
    """Relative arrival rate of interactive work (notebooks, evaluations) by local hour."""
    return 1.0 if 9 <= local_hour < 19 else 0.25 if 19 <= local_hour < 23 else 0.05


def _hourly_arrivals(
    rng: np.random.Generator, per_day: float, minutes: int, tz: int, shape
) -> list[int]:
    """Minutes of Poisson arrivals, rate shaped by local hour, `per_day` on average."""
    hours = np.arange(minutes // 60)
    weights = np.array([shape((h + tz) % 24) for h in range(24)])
    rates = per_day * weights[hours % 24] / weights.sum()
    counts = rng.poisson(rates)
    out: list[int] = []
    for hour, count in zip(hours, counts, strict=True):
        out.extend(int(hour * 60 + off) for off in sorted(rng.integers(0, 60, size=count)))
    return out


def generate_arrivals(scenario: Scenario, rng: np.random.Generator) -> dict[int, list[Job]]:
    """All user-submitted jobs of the scenario (not replicas or backfill), keyed by submit minute."""
    w = scenario.workloads
    tz = scenario.timezone_offset_hours
    pool = scenario.pool
    by_minute: dict[int, list[Job]] = {}
    serial = 0

    def add(job: Job) -> None:
        by_minute.setdefault(job.submit, []).append(job)

    train = w["training"]
    sizes = [int(k) for k in train["gpus"]]
    size_p = np.array(list(train["gpus"].values()), dtype=float)
    size_p /= size_p.sum()
    for tenant, per_day in sorted(train["arrivals_per_day"].items()):
        # Work already queued when collection starts is seen as submitted at minute 0.
        backlog = [0] * int(rng.poisson(per_day * train["backlog_days"]))
        for minute in backlog + _hourly_arrivals(rng, per_day, scenario.minutes, tz, lambda h: 1.0):
            serial += 1
            gpus = int(rng.choice(sizes, p=size_p))
            hours = float(rng.lognormal(math.log(train["work_hours_median"]), train["work_hours_sigma"]))
            add(Job(
                job_id=f"{pool}-trn-{serial:05d}", kind="training", tenant=tenant, queue="batch",
                submit=minute, gpus=gpus, priority=PRIORITY_BATCH,
                mem_need_gb=float(rng.uniform(*train["memory_gb"])),
                work_tokens=hours * 3600 * gpus * train["tokens_per_gpu_second"],
            ))
    # Notebooks and evaluations arrive in working hours and are held for a while, not for an amount of work.
    interactive = {
        "development": ("dev", "interactive", lambda cfg: int(rng.uniform(*cfg["hours"]) * 60)),
        "evaluation": ("evl", "batch", lambda cfg: int(rng.uniform(*cfg["minutes"]))),
    }
    for kind, (prefix, queue, duration) in interactive.items():
        cfg = w[kind]
        for tenant, per_day in sorted(cfg["arrivals_per_day"].items()):
            for minute in _hourly_arrivals(rng, per_day, scenario.minutes, tz, working_hours):
                serial += 1
                add(Job(
                    job_id=f"{pool}-{prefix}-{serial:05d}", kind=kind, tenant=tenant, queue=queue,
                    submit=minute, priority=PRIORITY_INTERACTIVE,
                    mem_need_gb=float(rng.uniform(*cfg["memory_gb"])),
                    planned_minutes=duration(cfg),
                ))
    return by_minute
