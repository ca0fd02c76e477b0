"""Inference serving: diurnal request arrivals routed to the replicas the scheduler placed.

Each replica is a queue with `max_batch` decode slots (1 = batch-1 serving). A request waits for a
slot (and, with static dynamic batching, for its batch to form), runs its prefill, then decodes one
token per step; a step slows down as more sequences share the replica. Prefix KV reuse skips the
cached part of the prompt; prefill/decode disaggregation keeps prefills from stretching decode steps;
a MIG slice runs the same model slower than a whole GPU. Latency constants come from the scenario and
are of the order measured in shared/fixtures/h200_lab (batch-1 TBT ~16 ms, TTFT ~100 ms for 512
prompt tokens).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingestion.simulator.cluster import MIG_COMPUTE_SLICES, mig_memory_gb, mig_slices
from ingestion.simulator.scenario import InferencePolicy, Scenario, Service
from ingestion.simulator.workload import Job, diurnal

TIMEOUT_S = 30.0
ERROR_RATE = 0.002
TBT_GROWTH_PER_SEQ = 0.012  # decode step slowdown per extra concurrent sequence
TBT_GROWTH_PER_SEQ_SPLIT = 0.004  # with prefill/decode disaggregation


@dataclass
class Requests:
    """Columns of the inference_requests landing dataset (times in seconds since scenario start). Strings are
    Arrow arrays and numbers numpy arrays: millions of requests load from the replay cache as a few buffers."""

    request_id: pa.StringArray
    service: pa.StringArray
    replica: pa.StringArray  # "" when unserved
    gpu_uuid_of: np.ndarray  # GPU index of the replica's placement, -1 when unserved
    arrival: np.ndarray
    scheduled: np.ndarray  # NaN when the request never left the queue
    first_token: np.ndarray
    end: np.ndarray
    prompt_tokens: np.ndarray
    cached_prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    status: pa.StringArray


def _slowdown(slot: str, memory_gb: float) -> tuple[float, float]:
    """(prefill, decode) time multipliers of a MIG slice against a whole GPU."""
    if slot == "whole":
        return 1.0, 1.0
    compute = (MIG_COMPUTE_SLICES / mig_slices(slot)) ** 0.7
    bandwidth = (memory_gb / mig_memory_gb(slot)) ** 0.5  # memory slices carry the bandwidth
    return compute, bandwidth


def _arrivals(scenario: Scenario, service: Service, rng: np.random.Generator) -> np.ndarray:
    minutes = np.arange(scenario.minutes)
    local_hour = (minutes / 60.0 + scenario.timezone_offset_hours) % 24
    rate = service.peak_rps * 60.0 * np.array([diurnal(h) for h in local_hour])
    counts = rng.poisson(rate)
    starts = np.repeat(minutes * 60.0, counts)
    return np.sort(starts + rng.uniform(0.0, 60.0, size=starts.size))


def _lognormal_tokens(rng: np.random.Generator, median: float, sigma: float, n: int, low: int) -> np.ndarray:
    return np.clip(rng.lognormal(math.log(median), sigma, n), low, 16000).astype(int)


class _Replica:
    def __init__(self, job: Job, policy: InferencePolicy, scenario: Scenario):
        self.job = job
        self.policy = policy
        self.start_s = job.start * 60.0
        self.end_s = (job.end if job.end is not None else scenario.minutes) * 60.0
        self.slots = [self.start_s] * policy.max_batch  # sorted free-at times
        self.prefill_mult, self.decode_mult = _slowdown(policy.slot, scenario.gpu_memory_gb)
        self.gpu = job.placements[0].gpu
        self.served: list[int] = []  # the rows of the requests it served


def serve(scenario: Scenario, jobs: list[Job]) -> Requests:
    """Simulate every request of every service; fills each replica's activity and memory traces."""
    rng = np.random.default_rng([scenario.seed, 2])
    cols: dict[str, list] = {k: [] for k in Requests.__dataclass_fields__}
    for service in scenario.services:
        replicas = sorted(
            (_Replica(j, scenario.stage_at(j.start).inference, scenario)
             for j in jobs if j.service == service.name and j.start is not None),
            key=lambda r: (r.start_s, r.job.job_id),
        )
        arrivals = _arrivals(scenario, service, rng)
        n = arrivals.size
        prompts = _lognormal_tokens(rng, service.prompt_tokens_median, service.prompt_tokens_sigma, n, 16)
        outputs = _lognormal_tokens(rng, service.output_tokens_median, service.output_tokens_sigma, n, 1)
        hit, cached_share = rng.random(n), rng.uniform(0.3, 0.9, n)
        noise, errors = rng.random(n), rng.random(n)
        # as Python numbers: the loop below does scalar arithmetic, several times slower on numpy scalars
        arrivals, prompts, outputs, hit, cached_share, noise, errors = (
            a.tolist() for a in (arrivals, prompts, outputs, hit, cached_share, noise, errors))
        live: list[_Replica] = []
        nxt = 0
        for i in range(n):
            t = arrivals[i]
            while nxt < len(replicas) and replicas[nxt].start_s <= t:
                live.append(replicas[nxt])
                nxt += 1
            live = [r for r in live if r.end_s > t + TIMEOUT_S]  # draining replicas take no new work
            cols["request_id"].append(f"{scenario.pool}-{service.name}-{i:07d}")
            cols["service"].append(service.name)
            cols["arrival"].append(t)
            cols["prompt_tokens"].append(prompts[i])
            cols["output_tokens"].append(outputs[i])  # set to 0 below if no token is generated
            if not live:
                _unserved(cols, t, "error", "", -1, 0)
                continue
            rep = min(live, key=lambda r: (r.slots[0], r.job.job_id))
            policy = rep.policy
            cached = int(prompts[i] * cached_share[i]) if hit[i] < min(1.0, 2 * policy.kv_reuse) else 0
            start = max(t + policy.batch_wait_ms / 1000.0 * noise[i], rep.slots[0])
            if start - t > TIMEOUT_S:
                _unserved(cols, t + TIMEOUT_S, "timeout", rep.job.job_id, rep.gpu, cached)
                continue
            if errors[i] < ERROR_RATE:
                _unserved(cols, start + 0.05, "error", rep.job.job_id, rep.gpu, cached)
                continue
            concurrent = len(rep.slots) - bisect.bisect_right(rep.slots, start) + 1
            growth = TBT_GROWTH_PER_SEQ_SPLIT if policy.pd_split else TBT_GROWTH_PER_SEQ
            prefill_s = (prompts[i] - cached) * service.prefill_ms_per_token * rep.prefill_mult / 1000.0
            if not policy.pd_split:
                prefill_s *= 1.0 + 0.02 * (concurrent - 1)  # prefill competes with running decodes
            tbt_s = service.tbt_ms * rep.decode_mult * (1.0 + growth * (concurrent - 1)) / 1000.0
            first = start + prefill_s
            end = first + (outputs[i] - 1) * tbt_s
            rep.slots.pop(0)
            bisect.insort(rep.slots, end)
            rep.served.append(len(cols["status"]))
            cols["replica"].append(rep.job.job_id)
            cols["gpu_uuid_of"].append(rep.gpu)
            cols["scheduled"].append(start)
            cols["first_token"].append(first)
            cols["end"].append(end)
            cols["cached_prompt_tokens"].append(cached)
            cols["status"].append("ok")
        _fill_replica_traces(scenario, service, replicas, cols)
    strings = ("request_id", "service", "replica", "status")
    return Requests(**{k: pa.array(v, pa.string()) if k in strings else np.asarray(v) for k, v in cols.items()})


def _unserved(cols: dict[str, list], end: float, status: str, replica: str, gpu: int, cached: int) -> None:
    cols["output_tokens"][-1] = 0
    cols["replica"].append(replica)
    cols["gpu_uuid_of"].append(gpu)
    cols["scheduled"].append(math.nan)
    cols["first_token"].append(math.nan)
    cols["end"].append(end)
    cols["cached_prompt_tokens"].append(cached)
    cols["status"].append(status)


def _busy_seconds(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sequence-seconds in each [edges[k], edges[k+1]) bin, from intervals [start, end)."""
    s, e = np.sort(starts), np.sort(ends)
    cs, ce = np.concatenate([[0.0], np.cumsum(s)]), np.concatenate([[0.0], np.cumsum(e)])
    ks, ke = np.searchsorted(s, edges), np.searchsorted(e, edges)
    integral = (ks * edges - cs[ks]) - (ke * edges - ce[ke])  # ∫ active count up to each edge
    return np.diff(integral)


def _fill_replica_traces(scenario: Scenario, service: Service, replicas: list[_Replica],
                         cols: dict[str, list]) -> None:
    """Per-minute activity (graphics-engine ratio of its slot) and memory used of each replica."""
    sched, end = np.asarray(cols["scheduled"], dtype=float), np.asarray(cols["end"], dtype=float)
    output_tokens = np.asarray(cols["output_tokens"])  # once, not once per replica
    for rep in replicas:
        mask = np.asarray(rep.served, dtype=np.int64)  # its requests' rows, in order
        length = len(rep.job.activity)
        edges = rep.start_s + 60.0 * np.arange(length + 1)
        occupancy = _busy_seconds(sched[mask], end[mask], edges) / 60.0  # mean concurrent sequences
        per_step = 0.10 + 0.04 * np.log2(np.maximum(occupancy, 1.0))  # h200_lab: batch 1 → 128
        activity = np.minimum(1.0, np.minimum(occupancy, 1.0) * per_step * service.activity_scale
                              * rep.prefill_mult ** 0.5)
        rep.job.activity[:] = type(rep.job.activity)("f", activity.astype(np.float32).tolist())
        slot_gb = scenario.gpu_memory_gb if rep.policy.slot == "whole" else mig_memory_gb(rep.policy.slot)
        if rep.policy.paged_kv:  # the KV pool is pre-allocated: 90% of the slot, as vLLM does
            memory = np.full(length, 0.9 * slot_gb)
        else:
            memory = np.minimum(slot_gb, service.weights_gb + 1.5 + service.kv_gb_per_seq * occupancy)
        rep.job.memory_trace = memory.astype(np.float32)
        rep.job.tokens = float(output_tokens[mask].sum())
