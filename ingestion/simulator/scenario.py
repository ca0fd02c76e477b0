"""Scenario YAML → typed, validated scenario. Errors name the file and the key."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.contracts import STAGE_KEYS
from ingestion.yaml_keys import ConfigError, KeyReader, load_yaml

SCENARIO_DIR = Path(__file__).parent / "scenarios"


ScenarioError = ConfigError  # a scenario file is configuration too


@dataclass(frozen=True)
class Tenant:
    name: str
    nodes: tuple[int, ...]
    quota_gpus: int


@dataclass(frozen=True)
class Service:
    name: str
    tenant: str
    peak_rps: float
    prompt_tokens_median: float
    prompt_tokens_sigma: float
    output_tokens_median: float
    output_tokens_sigma: float
    weights_gb: float
    kv_gb_per_seq: float
    tbt_ms: float
    prefill_ms_per_token: float
    activity_scale: float


@dataclass(frozen=True)
class InferencePolicy:
    replicas: int
    min_replicas: int
    slot: str  # "whole" or a MIG profile such as "3g.40gb"
    max_batch: int
    batch_wait_ms: float
    kv_reuse: float  # share of a prompt found in a reusable KV cache (prefix caching)
    pd_split: bool  # prefill/decode disaggregation: decode steps are not interrupted by prefills
    paged_kv: bool  # PagedAttention: KV memory pre-allocated as a pool, little waste
    autoscale: bool


@dataclass(frozen=True)
class TrainingPolicy:
    data_stall: float  # mean share of a training minute spent waiting for input data
    speed: float  # tokens per GPU-second relative to the scenario's nominal rate
    checkpoint_interval_min: int
    checkpoint_stall_min: int  # minutes of blocked training per checkpoint (sync writes)
    recovery_min: int  # minutes from a failure to the restart


@dataclass(frozen=True)
class Stage:
    stage_id: int
    key: str
    note: str
    placement: str  # "spread" (LeastAllocated) or "binpack" (MostAllocated)
    tenant_isolation: bool  # exclusive tenant nodes (bare-metal rental)
    mig_nodes: tuple[int, ...]
    vgpu_nodes: tuple[int, ...]
    fractional_dev: bool  # notebooks and evaluations get MIG slices / vGPU fractions
    preemption: bool
    tenant_nodes: dict[str, tuple[int, ...]]  # ownership changes in force from this stage on
    night_fill: bool  # a deferrable training backlog fills idle capacity, preempted when needed
    inference: InferencePolicy
    training: TrainingPolicy


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    pool: str
    start_date: dt.date
    stage_lengths: tuple[int, ...]  # days each stage is in force, in stage order
    timezone_offset_hours: int
    nodes: int
    gpus_per_node: int
    hostname_prefix: str
    gpu_model: str
    gpu_memory_gb: float
    gpu_memory_mib: int
    mig_layout: tuple[str, ...]
    power: dict[str, float]
    tenants: tuple[Tenant, ...]
    workloads: dict[str, Any]
    services: tuple[Service, ...]
    stages: tuple[Stage, ...]
    source_path: Path = field(compare=False)

    @property
    def gpu_count(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def stage_days(self) -> int:
        """Days per stage, for a scenario whose stages are all equally long."""
        if len(set(self.stage_lengths)) != 1:
            raise ValueError(f"scenario {self.name}: stages have unequal lengths {self.stage_lengths}")
        return self.stage_lengths[0]

    @property
    def stage_start_days(self) -> tuple[int, ...]:
        """Day offset (from start_date) at which each stage comes into force."""
        starts, day = [], 0
        for length in self.stage_lengths:
            starts.append(day)
            day += length
        return tuple(starts)

    @property
    def days(self) -> int:
        return sum(self.stage_lengths)

    @property
    def minutes(self) -> int:
        return self.days * 1440

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.start_date, dt.time(), tzinfo=dt.UTC)

    def dates(self) -> list[dt.date]:
        return [self.start_date + dt.timedelta(days=i) for i in range(self.days)]

    def stage_index_on_day(self, day: int) -> int:
        """Index of the stage in force on day offset `day` (the last stage beyond the end)."""
        return max(i for i, start in enumerate(self.stage_start_days) if start <= day or i == 0)

    def stage_at(self, minute: int) -> Stage:
        return self.stages[self.stage_index_on_day(minute // 1440)]

    def is_stage_start(self, minute: int) -> bool:
        return minute % 1440 == 0 and minute // 1440 in self.stage_start_days


def _inference(r: KeyReader) -> InferencePolicy:
    replicas = r.get("replicas", int)
    return InferencePolicy(
        replicas=replicas,
        min_replicas=r.get("min_replicas", int, replicas),
        slot=r.get("slot", str),
        max_batch=r.get("max_batch", int),
        batch_wait_ms=r.get("batch_wait_ms", float, 0.0),
        kv_reuse=r.get("kv_reuse", float, 0.0),
        pd_split=r.get("pd_split", bool, False),
        paged_kv=r.get("paged_kv", bool, False),
        autoscale=r.get("autoscale", bool, False),
    )


def _training(r: KeyReader) -> TrainingPolicy:
    return TrainingPolicy(
        data_stall=r.get("data_stall", float),
        speed=r.get("speed", float),
        checkpoint_interval_min=r.get("checkpoint_interval_min", int),
        checkpoint_stall_min=r.get("checkpoint_stall_min", int),
        recovery_min=r.get("recovery_min", int),
    )


def _stages(root: KeyReader, path: Path, nodes: int) -> tuple[Stage, ...]:
    raw = root.get("stages", list)
    if [s.get("key") if isinstance(s, dict) else None for s in raw] != list(STAGE_KEYS):
        raise ScenarioError(f"{path}: 'stages' must list the seven stages in order: {list(STAGE_KEYS)}")
    stages = []
    for i, item in enumerate(raw):
        r = KeyReader(item, f"stages[{i}]", path)
        placement = r.get("placement", str)
        if placement not in ("spread", "binpack"):
            raise ScenarioError(f"{path}: 'stages[{i}].placement' must be spread or binpack")
        mig_nodes = tuple(r.get("mig_nodes", list, []))
        vgpu_nodes = tuple(r.get("vgpu_nodes", list, []))
        for n in mig_nodes + vgpu_nodes:
            if not isinstance(n, int) or not 0 <= n < nodes:
                raise ScenarioError(f"{path}: 'stages[{i}]' names node {n!r}, outside 0..{nodes - 1}")
        stages.append(
            Stage(
                stage_id=i,
                key=r.get("key", str),
                note=r.get("note", str, ""),
                placement=placement,
                tenant_isolation=r.get("tenant_isolation", bool),
                mig_nodes=mig_nodes,
                vgpu_nodes=vgpu_nodes,
                fractional_dev=r.get("fractional_dev", bool),
                preemption=r.get("preemption", bool),
                tenant_nodes={k: tuple(v) for k, v in r.get("tenant_nodes", dict, {}).items()},
                night_fill=r.get("night_fill", bool),
                inference=_inference(r.sub("inference")),
                training=_training(r.sub("training")),
            )
        )
    return tuple(stages)


def _stage_lengths(root: KeyReader, path: Path) -> tuple[int, ...]:
    """`stage_days`: one length for every stage, or a list of seven (a calendar that does not divide evenly)."""
    raw = root.get("stage_days", (int, list))
    lengths = tuple([raw] * len(STAGE_KEYS)) if isinstance(raw, int) else tuple(raw)
    if len(lengths) != len(STAGE_KEYS) or not all(isinstance(n, int) and n >= 1 for n in lengths):
        raise ScenarioError(f"{path}: 'stage_days' must be a positive integer or a list of "
                            f"{len(STAGE_KEYS)} positive integers")
    return lengths


def scenario_path(name_or_path: str | Path) -> Path:
    """The YAML file of a bundled scenario's name (`demo`, `tiny`, `large`) or of a path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        bundled = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
        raise ScenarioError(f"scenario {name_or_path!r} not found (bundled: {bundled})")
    return path


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a bundled scenario by name (`demo`, `tiny`) or a YAML file by path."""
    path = scenario_path(name_or_path)
    root = KeyReader(load_yaml(path), "", path)
    cluster = root.sub("cluster")
    nodes = cluster.get("nodes", int)
    tenants = tuple(
        Tenant(
            name=KeyReader(t, f"tenants[{i}]", path).get("name", str),
            nodes=tuple(KeyReader(t, f"tenants[{i}]", path).get("nodes", list)),
            quota_gpus=KeyReader(t, f"tenants[{i}]", path).get("quota_gpus", int),
        )
        for i, t in enumerate(root.get("tenants", list))
    )
    services = []
    for i, s in enumerate(root.sub("workloads").get("inference", list)):
        r = KeyReader(s, f"workloads.inference[{i}]", path)
        services.append(
            Service(
                name=r.get("name", str),
                tenant=r.get("tenant", str),
                peak_rps=r.get("peak_rps", float),
                prompt_tokens_median=r.get("prompt_tokens_median", float),
                prompt_tokens_sigma=r.get("prompt_tokens_sigma", float),
                output_tokens_median=r.get("output_tokens_median", float),
                output_tokens_sigma=r.get("output_tokens_sigma", float),
                weights_gb=r.get("weights_gb", float),
                kv_gb_per_seq=r.get("kv_gb_per_seq", float),
                tbt_ms=r.get("tbt_ms", float),
                prefill_ms_per_token=r.get("prefill_ms_per_token", float),
                activity_scale=r.get("activity_scale", float, 1.0),
            )
        )
    start = root.get("start_date", dt.date)
    return Scenario(
        name=root.get("name", str),
        description=root.get("description", str, ""),
        seed=root.get("seed", int),
        pool=root.get("pool", str),
        start_date=start,
        stage_lengths=_stage_lengths(root, path),
        timezone_offset_hours=root.get("timezone_offset_hours", int, 8),
        nodes=nodes,
        gpus_per_node=cluster.get("gpus_per_node", int),
        hostname_prefix=cluster.get("hostname_prefix", str),
        gpu_model=cluster.get("gpu_model", str),
        gpu_memory_gb=cluster.get("gpu_memory_gb", float),
        gpu_memory_mib=cluster.get("gpu_memory_mib", int),
        mig_layout=tuple(cluster.get("mig_layout", list)),
        power={k: float(v) for k, v in root.get("power", dict).items()},
        tenants=tenants,
        workloads={k: v for k, v in root.get("workloads", dict).items() if k != "inference"},
        services=tuple(services),
        stages=_stages(root, path, nodes),
        source_path=path,
    )
