"""The pool's GPUs and their partitioning (whole, MIG instances, vGPU fractions), and placement.

Placement follows Kubernetes scoring: `spread` is LeastAllocated (the default scheduler), `binpack`
is MostAllocated (what GPU bin-packing plugins do). Ties go to the lowest index, so runs are
deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

MIG_PROFILE = re.compile(r"^(\d+)g\.(\d+)gb$")
MIG_COMPUTE_SLICES = 7


def mig_slices(profile: str) -> int:
    match = MIG_PROFILE.match(profile)
    if not match:
        raise ValueError(f"not a MIG profile: {profile!r}")
    return int(match.group(1))


def mig_memory_gb(profile: str) -> float:
    match = MIG_PROFILE.match(profile)
    if not match:
        raise ValueError(f"not a MIG profile: {profile!r}")
    return float(match.group(2))


@dataclass(frozen=True)
class Placement:
    gpu: int
    instance: int  # MIG instance index on that GPU, -1 for a whole GPU or a vGPU fraction
    share: float  # share of the GPU's compute
    reserved_gb: float  # memory set aside for the workload


@dataclass
class Gpu:
    index: int
    node: int
    memory_gb: float
    mode: str = "whole"  # whole | mig | vgpu
    free_share: float = 1.0
    free_mem_gb: float = 0.0
    instances: list[str] = field(default_factory=list)  # MIG profiles, in instance order
    instance_free: list[bool] = field(default_factory=list)

    def reset(self, mode: str, mig_layout: tuple[str, ...]) -> None:
        self.mode = mode
        self.free_share = 1.0
        self.free_mem_gb = self.memory_gb
        self.instances = list(mig_layout) if mode == "mig" else []
        self.instance_free = [True] * len(self.instances)

    @property
    def idle(self) -> bool:
        return self.free_share >= 1.0 - 1e-9


class Cluster:
    def __init__(self, nodes: int, gpus_per_node: int, memory_gb: float, mig_layout: tuple[str, ...]):
        self.gpus_per_node = gpus_per_node
        self.mig_layout = mig_layout
        self.gpus = [Gpu(i, i // gpus_per_node, memory_gb) for i in range(nodes * gpus_per_node)]
        for gpu in self.gpus:
            gpu.reset("whole", mig_layout)
        self.nodes = nodes
        # Placement is a pure function of the allocation state, so a search that failed stays failed
        # until the state changes: `state` names the current state (a fresh id on every change, the old
        # id again when a tentative change is undone), and `_failed` remembers the searches that failed.
        self._ids = 0
        self.state = 0
        self._failed: dict[tuple, int] = {}
        # Idle GPUs per mode and node, kept up to date on every change: searches count, not scan.
        self._idle = {m: [0] * nodes for m in ("whole", "mig", "vgpu")}
        for gpu in self.gpus:
            self._idle[gpu.mode][gpu.node] += gpu.idle

    def _changed(self) -> None:
        self._ids += 1
        self.state = self._ids

    def reset_gpu(self, gpu: Gpu, mode: str) -> None:
        self._idle[gpu.mode][gpu.node] -= gpu.idle
        gpu.reset(mode, self.mig_layout)
        self._idle[gpu.mode][gpu.node] += gpu.idle
        self._changed()

    def _known_failure(self, key: tuple) -> bool:
        return self._failed.get(key) == self.state

    def _remember(self, key: tuple, found: list[Placement] | None) -> list[Placement] | None:
        if found is None:
            if len(self._failed) > 100_000:
                self._failed.clear()
            self._failed[key] = self.state
        return found

    def node_gpus(self, node: int) -> list[Gpu]:
        return self.gpus[node * self.gpus_per_node : (node + 1) * self.gpus_per_node]

    # -- allocation bookkeeping -------------------------------------------------------------
    def take(self, placements: list[Placement]) -> None:
        for p in placements:
            gpu = self.gpus[p.gpu]
            self._idle[gpu.mode][gpu.node] -= gpu.idle
            if p.instance >= 0:
                assert gpu.instance_free[p.instance], "MIG instance double-booked"
                gpu.instance_free[p.instance] = False
            gpu.free_share = round(gpu.free_share - p.share, 9)
            gpu.free_mem_gb = round(gpu.free_mem_gb - p.reserved_gb, 9)
            assert gpu.free_share >= -1e-9 and gpu.free_mem_gb >= -1e-9, "GPU over-allocated"
            self._idle[gpu.mode][gpu.node] += gpu.idle
        self._changed()

    def release(self, placements: list[Placement]) -> None:
        for p in placements:
            gpu = self.gpus[p.gpu]
            self._idle[gpu.mode][gpu.node] -= gpu.idle
            if p.instance >= 0:
                gpu.instance_free[p.instance] = True
            gpu.free_share = round(gpu.free_share + p.share, 9)
            gpu.free_mem_gb = round(gpu.free_mem_gb + p.reserved_gb, 9)
            self._idle[gpu.mode][gpu.node] += gpu.idle
        self._changed()

    def restore(self, state: int) -> None:
        """Re-take what was tentatively released: the state is the one named `state` again."""
        self.state = state

    # -- placement --------------------------------------------------------------------------
    def find_whole(
        self, count: int, nodes: Sequence[int], policy: str, modes: tuple[str, ...] = ("whole",)
    ) -> list[Placement] | None:
        """`count` idle GPUs: whole nodes for multi-node jobs, else one node scored by policy."""
        key = ("whole", count, tuple(nodes), policy, modes)
        if self._known_failure(key):
            return None
        return self._remember(key, self._find_whole(count, nodes, policy, modes))

    def _find_whole(self, count: int, nodes: Sequence[int], policy: str,
                    modes: tuple[str, ...]) -> list[Placement] | None:
        idle = [self._idle[m] for m in modes]
        free = {n: sum(counts[n] for counts in idle) for n in nodes}

        def free_gpus(n: int) -> list[Gpu]:
            return [g for g in self.node_gpus(n) if g.mode in modes and g.idle]

        if count >= self.gpus_per_node:
            full = [n for n in nodes if free[n] == self.gpus_per_node]
            needed = -(-count // self.gpus_per_node)
            if len(full) < needed:
                return None
            chosen = [g for n in full[:needed] for g in free_gpus(n)][:count]
        else:
            fits = [n for n in nodes if free[n] >= count]
            if not fits:
                return None
            sign = 1 if policy == "binpack" else -1
            node = min(fits, key=lambda n: (sign * free[n], n))
            chosen = free_gpus(node)[:count]
        return [Placement(g.index, -1, 1.0, g.memory_gb) for g in chosen]

    def find_mig(self, profile: str, nodes: Sequence[int], policy: str) -> list[Placement] | None:
        key = ("mig", profile, tuple(nodes), policy)
        if self._known_failure(key):
            return None
        return self._remember(key, self._find_mig(profile, nodes, policy))

    def _find_mig(self, profile: str, nodes: Sequence[int], policy: str) -> list[Placement] | None:
        candidates = [
            (g, i)
            for n in nodes
            for g in self.node_gpus(n)
            if g.mode == "mig"
            for i, p in enumerate(g.instances)
            if p == profile and g.instance_free[i]
        ]
        if not candidates:
            return None
        sign = 1 if policy == "binpack" else -1
        gpu, inst = min(candidates, key=lambda c: (sign * c[0].free_share, c[0].index, c[1]))
        return [Placement(gpu.index, inst, mig_slices(profile) / MIG_COMPUTE_SLICES, mig_memory_gb(profile))]

    def find_vgpu(self, share: float, mem_gb: float, nodes: Sequence[int], policy: str) -> list[Placement] | None:
        key = ("vgpu", share, mem_gb, tuple(nodes), policy)
        if self._known_failure(key):
            return None
        return self._remember(key, self._find_vgpu(share, mem_gb, nodes, policy))

    def _find_vgpu(self, share: float, mem_gb: float, nodes: Sequence[int], policy: str) -> list[Placement] | None:
        candidates = [
            g
            for n in nodes
            for g in self.node_gpus(n)
            if g.mode == "vgpu" and g.free_share >= share - 1e-9 and g.free_mem_gb >= mem_gb - 1e-9
        ]
        if not candidates:
            return None
        sign = 1 if policy == "binpack" else -1
        gpu = min(candidates, key=lambda g: (sign * g.free_share, g.index))
        return [Placement(gpu.index, -1, share, mem_gb)]
