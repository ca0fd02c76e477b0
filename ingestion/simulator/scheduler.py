"""Minute-by-minute cluster scheduler: admits, places, runs, checkpoints, fails, restarts, preempts.

Each stage of the scenario changes the policy in force (placement scoring, tenant isolation or
quotas, partitioning of GPUs into MIG instances and vGPU fractions, preemption, the inference
deployment, and the training environment: data stalls, speed, checkpointing and recovery).
Telemetry is not produced here: each job records its per-minute GPU activity, and `telemetry`
derives the DCGM readings from what ran where.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ingestion.simulator.cluster import MIG_COMPUTE_SLICES, Cluster, Placement, mig_memory_gb, mig_slices
from ingestion.simulator.scenario import Scenario, Stage
from ingestion.simulator.workload import (
    PRIORITY_BACKFILL,
    PRIORITY_SERVING,
    Job,
    diurnal,
    generate_arrivals,
)

TRAINING_ACTIVITY = 0.93  # graphics-engine activity of a training step with data on the GPU (h200_lab)
CHECKPOINT_ACTIVITY = 0.05
SCAN_LIMIT = 400  # pending jobs examined per minute (backfill depth)


@dataclass
class ScheduleResult:
    scenario: Scenario
    jobs: list[Job]
    gpu_modes: list[list[str]]  # per stage, per GPU


class Scheduler:
    def __init__(self, scenario: Scenario):
        self.sc = scenario
        self.rng = np.random.default_rng([scenario.seed, 1])
        self.cluster = Cluster(scenario.nodes, scenario.gpus_per_node, scenario.gpu_memory_gb,
                               scenario.mig_layout)
        self.arrivals = generate_arrivals(scenario, self.rng)
        self.jobs: list[Job] = []
        self.pending: list[Job] = []
        self.running: list[Job] = []
        self.gpu_modes: list[list[str]] = []
        self.tenant_nodes = {t.name: list(t.nodes) for t in scenario.tenants}
        self.quota = {t.name: t.quota_gpus for t in scenario.tenants}
        self.serial = 0
        self.stage: Stage = scenario.stages[0]
        self._nodes_cache: dict[tuple[str, bool], tuple[int, ...]] = {}
        self._use_state, self._use = -1, {}  # tenant GPU use, valid for one cluster state
        self._preempt_failed: set[tuple] = set()  # (minute, cluster state, job shape) with no room to free

    # -- main loop ------------------------------------------------------------------------------
    def run(self) -> ScheduleResult:
        for m in range(self.sc.minutes):
            if self.sc.is_stage_start(m):
                self._enter_stage(self.sc.stage_at(m), m)
            if self.stage.inference.autoscale and m % 60 == 0:
                self._autoscale(m)
            for job in self.arrivals.get(m, ()):
                self._submit(job, m)
            if m % 60 == 0:
                self._abandon(m)
            self._schedule(m)
            if self.stage.night_fill:
                self._backfill(m)
            for job in list(self.running):
                self._advance(job, m)
        # Jobs still running or pending when the data ends keep that status and have no end.
        return ScheduleResult(self.sc, self.jobs, self.gpu_modes)

    # -- job lifecycle --------------------------------------------------------------------------
    def _submit(self, job: Job, m: int, detail: str = "") -> None:
        job.submit = m
        job.events.append((m, "submitted", detail))
        self.jobs.append(job)
        self.pending.append(job)

    def _start(self, job: Job, placements: list[Placement], m: int, preemptible: bool) -> None:
        self.cluster.take(placements)
        job.placements = placements
        job.start = m
        job.status = "running"
        job.preemptible = preemptible
        job.next_checkpoint = m + self.stage.training.checkpoint_interval_min
        gpus = self.sc.gpus_per_node
        hosts = sorted({p.gpu // gpus for p in placements})
        job.events.append((m, "started", "hosts=" + ",".join(self._hostname(n) for n in hosts)))
        self.pending.remove(job)
        self.running.append(job)

    def _finish(self, job: Job, end: int, status: str, detail: str = "", reason: str | None = None) -> None:
        self.cluster.release(job.placements)
        self.running.remove(job)
        job.end = end
        job.status = status
        job.failure_reason = reason
        event = {"succeeded": "finished", "failed": "failed", "preempted": "preempted",
                 "cancelled": "finished"}[status]
        if status != "failed":  # a failure's event is written where it happens
            job.events.append((end, event, detail or status))

    def _preempt(self, job: Job, m: int, reason: str) -> None:
        """Stop a job; training checkpoints on the signal and its remaining work is resubmitted."""
        self._finish(job, m, "preempted" if reason == "preempted" else "cancelled", detail=reason)
        if job.kind == "training" and job.work_tokens - job.tokens > 0:
            base, _, n = job.job_id.partition(".")
            again = Job(
                job_id=f"{base}.{int(n or 0) + 1}", kind="training", tenant=job.tenant, queue=job.queue,
                submit=m, gpus=job.gpus, mem_need_gb=job.mem_need_gb, priority=job.priority,
                work_tokens=job.work_tokens - job.tokens, mig_request=job.mig_request,
            )
            self._submit(again, m, detail=f"resubmitted after {reason}: {job.job_id}")

    # -- stages ---------------------------------------------------------------------------------
    def _enter_stage(self, stage: Stage, m: int) -> None:
        self.stage = stage
        self._nodes_cache.clear()
        self.tenant_nodes.update({t: list(nodes) for t, nodes in stage.tenant_nodes.items()})
        modes = ["mig" if g.node in stage.mig_nodes else "vgpu" if g.node in stage.vgpu_nodes else "whole"
                 for g in self.cluster.gpus]
        changed = [g for g, mode in zip(self.cluster.gpus, modes, strict=True) if g.mode != mode]
        for job in list(self.running):  # repartitioned GPUs are drained first
            if job.kind != "inference" and any(self.cluster.gpus[p.gpu] in changed for p in job.placements):
                self._preempt(job, m, "maintenance: GPU repartitioned")
        for job in [j for j in self.running if j.kind == "inference"]:
            self._finish(job, m, "succeeded", detail="rolled to the new deployment")
        for gpu, mode in zip(self.cluster.gpus, modes, strict=True):
            if gpu in changed:
                self.cluster.reset_gpu(gpu, mode)
        self.gpu_modes.append(modes)
        for job in self.running:
            job.next_checkpoint = min(job.next_checkpoint, m + stage.training.checkpoint_interval_min)
        for service in self.sc.services:
            for _ in range(self._desired_replicas(stage, m)):
                self._add_replica(service.name, service.tenant, m)

    def _desired_replicas(self, stage: Stage, m: int) -> int:
        policy = stage.inference
        if not policy.autoscale:
            return policy.replicas
        # Scale ahead of the load: the replica count for the coming hour follows its expected load.
        hour = ((m / 60) + self.sc.timezone_offset_hours + 1) % 24
        return max(policy.min_replicas, math.ceil(policy.replicas * diurnal(hour) - 1e-9))

    def _add_replica(self, service: str, tenant: str, m: int) -> None:
        self.serial += 1
        job = Job(
            job_id=f"{self.sc.pool}-{service}-s{self.stage.stage_id}-{self.serial:04d}", kind="inference",
            tenant=tenant, queue="serving", submit=m, priority=PRIORITY_SERVING, service=service,
        )
        self._submit(job, m, detail=f"deployment of {service}")

    def _autoscale(self, m: int) -> None:
        if self.sc.is_stage_start(m):
            return  # the deployment was just rolled
        for service in self.sc.services:
            desired = self._desired_replicas(self.stage, m)
            live = [j for j in self.running + self.pending if j.service == service.name]
            for _ in range(desired - len(live)):
                self._add_replica(service.name, service.tenant, m)
            for job in sorted(live, key=lambda j: (j.start is not None, j.start or 0))[desired:][::-1]:
                if job.running:
                    self._finish(job, m, "succeeded", detail="scaled down")
                else:
                    self.pending.remove(job)
                    job.status = "cancelled"
                    job.end = job.start = None
                    self.jobs.remove(job)

    # -- placement ------------------------------------------------------------------------------
    def _allowed_nodes(self, job: Job, fractional: bool) -> tuple[int, ...]:
        key = (job.tenant, fractional)  # fixed within a stage: the cache is emptied on entering one
        if key not in self._nodes_cache:
            stage = self.stage
            if not stage.tenant_isolation:
                nodes = range(self.sc.nodes)
            else:
                shared = list(stage.mig_nodes + stage.vgpu_nodes) if fractional else []
                nodes = sorted(set(self.tenant_nodes[job.tenant]) | set(shared))
            self._nodes_cache[key] = tuple(nodes)
        return self._nodes_cache[key]

    def _place(self, job: Job) -> list[Placement] | None:
        stage, cl = self.stage, self.cluster
        policy = stage.placement
        if job.kind == "inference":
            slot = stage.inference.slot
            if slot == "whole":
                found = cl.find_whole(1, self._allowed_nodes(job, False), policy)
                return self._describe(job, found, None, self.sc.gpu_memory_gb)
            found = cl.find_mig(slot, self._allowed_nodes(job, True), policy)
            return self._describe(job, found, slot, mig_memory_gb(slot))
        if job.kind in ("development", "evaluation") and stage.fractional_dev:
            return self._place_fractional(job, stage)
        if job.mig_request:
            found = cl.find_mig(job.mig_request, self._allowed_nodes(job, True), policy)
            return self._describe(job, found, job.mig_request, mig_memory_gb(job.mig_request))
        # With pool-wide scheduling, an idle GPU of the vGPU partition can take a whole-GPU job too
        # (HAMi grants a 100% share); static partitions keep it for fractional work.
        modes = ("whole",) if stage.tenant_isolation else ("whole", "vgpu")
        found = cl.find_whole(job.gpus, self._allowed_nodes(job, False), policy, modes)
        return self._describe(job, found, None, self.sc.gpu_memory_gb)

    def _place_fractional(self, job: Job, stage: Stage) -> list[Placement] | None:
        """Notebooks prefer the smallest MIG slice that fits, evaluations a vGPU fraction; either falls
        back to the other kind of slice."""
        cl, policy = self.cluster, stage.placement
        nodes = self._allowed_nodes(job, True)
        need = job.mem_need_gb
        share = self.sc.workloads[job.kind]["vgpu_share"]
        request = float(math.ceil(need * 1.25 / 4) * 4)  # right-sized: use + 25% headroom, 4 GB steps

        def mig() -> list[Placement] | None:
            for profile in sorted(set(self.sc.mig_layout), key=mig_memory_gb):
                if mig_memory_gb(profile) >= need + 1.0:  # 1 GB headroom
                    found = cl.find_mig(profile, nodes, policy)
                    if found:
                        return self._describe(job, found, profile, mig_memory_gb(profile))
            return None

        def vgpu() -> list[Placement] | None:
            return self._describe(job, cl.find_vgpu(share, request, nodes, policy), None, request)

        first, second = (mig, vgpu) if job.kind == "development" else (vgpu, mig)
        return first() or second()

    @staticmethod
    def _describe(job: Job, found: list[Placement] | None, profile: str | None,
                  mem_gb: float) -> list[Placement] | None:
        if found:
            job.mig_profile = profile
            job.gpu_count = sum(p.share for p in found)
            job.mem_request_gb = mem_gb
        return found

    def _tenant_use(self, tenant: str) -> float:
        # Every change to the running set changes the cluster state, so the sums hold until it changes.
        if self._use_state != self.cluster.state:
            self._use_state, self._use = self.cluster.state, {}
        if tenant not in self._use:
            self._use[tenant] = sum(j.gpu_count for j in self.running if j.tenant == tenant and not j.preemptible)
        return self._use[tenant]

    def _abandon(self, m: int) -> None:
        """Users give up on training jobs that waited longer than their patience."""
        patience = self.sc.workloads["training"]["patience_hours"] * 60
        for job in [j for j in self.pending if j.kind == "training" and m - j.submit >= patience]:
            self.pending.remove(job)
            job.status, job.end = "cancelled", None
            job.failure_reason = "abandoned by the user after waiting in the queue"
            job.events.append((m, "finished", "cancelled in queue"))

    def _schedule(self, m: int) -> None:
        self.pending.sort(key=lambda j: (j.priority, j.submit, j.job_id))
        self._preempt_failed.clear()
        night = self._night(m)
        for job in list(self.pending[:SCAN_LIMIT]):
            if job.mig_request and job.priority == PRIORITY_BACKFILL and not night:
                continue  # by day the slices belong to notebooks and evaluations
            found = self._place(job)
            if found is None and self.stage.preemption and job.priority < PRIORITY_BACKFILL:
                found = self._preempt_for(job, m)
            if found is None:
                continue
            borrowed = (
                not self.stage.tenant_isolation
                and job.kind == "training"
                and self._tenant_use(job.tenant) + job.gpu_count > self.quota[job.tenant]
            )
            self._start(job, found, m, preemptible=borrowed or job.priority == PRIORITY_BACKFILL)

    def _preempt_for(self, job: Job, m: int) -> list[Placement] | None:
        """Free room for a job within its tenant's quota by preempting borrowed or backfill jobs."""
        quota = self.quota[job.tenant]
        if job.kind == "training" and self._tenant_use(job.tenant) + job.gpus > quota:
            return None
        victims = sorted(
            (j for j in self.running if j.preemptible and j.start is not None and j.start < m),
            key=lambda j: (-j.priority, -(j.start or 0), j.job_id),
        )
        # Placement is monotone (more free room never stops a job fitting): if the job does not fit with
        # every victim released, no subset frees enough. Check that once per cluster state and job shape.
        state = self.cluster.state
        shape = (m, state, job.kind, job.tenant, job.gpus, job.mig_request, job.mem_need_gb)
        if shape in self._preempt_failed:
            return None
        if len(victims) > 1 and not self._fits_without(job, victims):
            self._preempt_failed.add(shape)
            return None
        # Release victims tentatively, one at a time, until the job fits; preempt only those.
        released: list[Job] = []
        found = None
        for victim in victims:
            self.cluster.release(victim.placements)
            released.append(victim)
            found = self._place(job)
            if found:
                break
        for victim in released:
            self.cluster.take(victim.placements)
        self.cluster.restore(state)
        if not found:
            self._preempt_failed.add(shape)
            return None
        for victim in released:
            self._preempt(victim, m, "preempted")
        return self._place(job)

    def _fits_without(self, job: Job, victims: list[Job]) -> bool:
        """Whether `job` would fit with all `victims` released (the cluster is left as it was)."""
        state = self.cluster.state
        for victim in victims:
            self.cluster.release(victim.placements)
        found = self._place(job) is not None
        for victim in victims:
            self.cluster.take(victim.placements)
        self.cluster.restore(state)
        return found

    def _night(self, m: int) -> bool:
        """Inside the off-peak window (local hours) in which the backlog may also take MIG slices."""
        start, end = self.sc.workloads["night_fill"]["local_hours"]
        hour = (m // 60 + self.sc.timezone_offset_hours) % 24
        return hour >= start or hour < end

    def _backfill(self, m: int) -> None:
        """Stage 6: a deferrable training backlog takes the idle GPUs, and at night the idle MIG slices too;
        it is preempted (after a checkpoint) whenever the day's work needs the room back."""
        cfg = self.sc.workloads["night_fill"]
        if any(j.priority == PRIORITY_BACKFILL for j in self.pending):
            return
        shapes = [(size, None) for size in cfg["gpus"]]
        if self._night(m):
            shapes += [(1, p) for p in cfg.get("mig_profiles", [])]
        for size, profile in shapes:
            while self._start_backlog_job(m, size, profile):
                pass

    def _start_backlog_job(self, m: int, size: int, profile: str | None) -> bool:
        cfg, train = self.sc.workloads["night_fill"], self.sc.workloads["training"]
        self.serial += 1
        gpus = mig_slices(profile) / MIG_COMPUTE_SLICES if profile else size
        job = Job(
            job_id=f"{self.sc.pool}-bkf-{self.serial:05d}", kind="training", tenant=cfg.get("tenant", "nlp"),
            queue="backfill", submit=m, gpus=size, priority=PRIORITY_BACKFILL, mig_request=profile,
            mem_need_gb=0.85 * mig_memory_gb(profile) if profile else float(self.rng.uniform(*train["memory_gb"])),
            work_tokens=cfg["work_hours"] * 3600 * gpus * train["tokens_per_gpu_second"],
        )
        found = self._place(job)
        if found is None:
            return False
        self._submit(job, m, detail="backlog")
        self._start(job, found, m, preemptible=True)
        return True

    # -- running --------------------------------------------------------------------------------
    def _advance(self, job: Job, m: int) -> None:
        if job.kind == "training":
            self._advance_training(job, m)
        elif job.kind == "inference":
            job.activity.append(0.0)  # filled in from the requests it serves
        else:
            if job.kind == "development":
                cfg = self.sc.workloads["development"]
                busy = self.rng.random() < cfg["active_share"]
                job.activity.append(float(self.rng.uniform(0.2, 0.7) if busy else self.rng.uniform(0, 0.02)))
            else:
                job.activity.append(float(np.clip(self.rng.normal(self.sc.workloads["evaluation"]["activity"],
                                                                  0.08), 0.05, 1.0)))
            if m + 1 - job.start >= job.planned_minutes:
                self._finish(job, m + 1, "succeeded")

    def _advance_training(self, job: Job, m: int) -> None:
        policy = self.stage.training
        train = self.sc.workloads["training"]
        if job.state == "recovering":
            job.activity.append(0.0)
            if m + 1 >= job.state_until:
                job.state = "running"
                job.next_checkpoint = m + 1 + policy.checkpoint_interval_min
                job.events.append((m + 1, "restarted", f"attempt {job.restarts + 1}"))
            return
        if job.state == "checkpointing":
            job.activity.append(CHECKPOINT_ACTIVITY)
            if m + 1 >= job.state_until:
                job.state = "running"
            return
        stall = 0.0
        if policy.data_stall > 0:
            stall = min(0.95, float(self.rng.gamma(4.0, policy.data_stall / 4.0)))
        job.activity.append(TRAINING_ACTIVITY * (1.0 - stall) * float(self.rng.uniform(0.97, 1.0)))
        job.data_wait_s += 60.0 * stall
        job.tokens += job.gpu_count * 60.0 * (1.0 - stall) * train["tokens_per_gpu_second"] * policy.speed
        if job.tokens >= job.work_tokens:
            job.tokens = job.work_tokens
            self._finish(job, m + 1, "succeeded")
            return
        if self.rng.random() < train["failure_rate_per_gpu_hour"] * job.gpu_count / 60.0:
            fatal = self.rng.random() < train["fatal_failure_share"] or job.restarts >= train["max_restarts"]
            reason = str(self.rng.choice(["NCCL timeout", "XID 79: GPU fell off the bus",
                                          "ECC uncorrectable error", "node lost"]))
            if fatal:
                reason = "CUDA out of memory" if job.restarts < train["max_restarts"] else reason
            lost = job.tokens - job.checkpoint_tokens
            job.tokens = job.checkpoint_tokens
            job.events.append((m + 1, "failed", f"{reason}; lost {lost:.0f} tokens since last checkpoint"))
            if fatal:
                self._finish(job, m + 1, "failed", reason=reason)
                return
            job.restarts += 1
            recovery = max(1, round(policy.recovery_min * float(self.rng.uniform(0.5, 1.5))))
            job.state, job.state_until = "recovering", m + 1 + recovery
            return
        if m + 1 >= job.next_checkpoint:
            job.checkpoint_tokens = job.tokens
            job.events.append((m + 1, "checkpoint", f"tokens={job.tokens:.0f}"))
            job.next_checkpoint = m + 1 + policy.checkpoint_interval_min
            if policy.checkpoint_stall_min > 0:
                job.state, job.state_until = "checkpointing", m + 1 + policy.checkpoint_stall_min

    def _hostname(self, node: int) -> str:
        return f"{self.sc.hostname_prefix}-{node:02d}"


def schedule(scenario: Scenario) -> ScheduleResult:
    return Scheduler(scenario).run()

