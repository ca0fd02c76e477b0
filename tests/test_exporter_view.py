"""The simulated cluster's exporter view (issue 18): one OpenMetrics file of what dcgm-exporter (pod labels),
each vLLM replica, the trainers and kube-state-metrics would have served, checked against the direct landing.
Two days of the tiny scenario are written once: the software and resilience stages, whose MIG instances, vGPU
fractions shared by several pods at once, autoscaled replicas and preempted jobs exercise every rule."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingestion.simulator import telemetry
from ingestion.simulator.exporter_view import VISIBLE_AFTER_COMPLETION_MIN, main, write_openmetrics
from ingestion.simulator.run import requests_table, simulate
from ingestion.simulator.scenario import load_scenario

FIRST_DAY, DAYS = 4, 2


@dataclass
class Series:
    name: str
    labels: dict[str, str]
    ts: np.ndarray  # unix seconds
    values: np.ndarray

    def at(self, ts: int) -> float | None:
        hit = np.flatnonzero(self.ts == ts)
        return float(self.values[hit[0]]) if hit.size else None


@pytest.fixture(scope="module")
def sim():
    return simulate(load_scenario("tiny"))


@pytest.fixture(scope="module")
def days(sim):
    return sim.scenario.dates()[FIRST_DAY:FIRST_DAY + DAYS]


@pytest.fixture(scope="module")
def exported(sim, days, tmp_path_factory):
    path = tmp_path_factory.mktemp("exporters") / "tiny.om"
    return path, write_openmetrics(sim, path, days)


def _labels(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.replace('"', "").split(",")) if text else {}


@pytest.fixture(scope="module")
def families(exported) -> dict[str, list[Series]]:
    """Sample name -> its series (our own output has no escapes in label values)."""
    path, _ = exported
    points: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
    with path.open() as f:
        for line in f:
            if line.startswith("#"):
                continue
            head, value, ts = line.rsplit(" ", 2)
            times, values = points[head]
            times.append(int(ts))
            values.append(float(value))
    out: dict[str, list[Series]] = defaultdict(list)
    for head, (times, values) in points.items():
        name, _, labels = head.partition("{")
        out[name].append(Series(name, _labels(labels.rstrip("}")), np.array(times), np.array(values)))
    return out


def _unix(sim, minute: float) -> int:
    return int(sim.scenario.start.timestamp()) + int(minute) * 60


def _day_minutes(sim) -> range:
    """The scenario minutes written."""
    return range(FIRST_DAY * 1440, (FIRST_DAY + DAYS) * 1440)


@pytest.fixture(scope="module")
def landed_requests(sim) -> pa.Table:
    return pa.concat_tables([requests_table(sim, d) for d in sim.scenario.dates()])


def test_promtool_accepts_the_file(exported, tmp_path):
    if shutil.which("promtool") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool not installed (Debian/Ubuntu: apt-get install prometheus)")
    path, summary = exported
    done = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
                           str(path), str(tmp_path / "tsdb")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list((tmp_path / "tsdb").glob("*/meta.json"))
    assert summary["bytes"] == path.stat().st_size


def test_the_file_is_grouped_by_family_and_one_sample_per_minute(exported, families, sim):
    path, summary = exported
    text = path.read_text()
    assert text.endswith("\n# EOF\n")
    typed = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(typed) == len(set(typed))  # each family once, its samples together
    assert summary["samples"] == sum(s.ts.size for series in families.values() for s in series)
    assert summary["series"] == sum(len(series) for series in families.values())
    day_ts = {_unix(sim, m) for m in _day_minutes(sim)}
    for series in families.values():
        for s in series:
            assert np.all(np.diff(s.ts) > 0) and set(s.ts.tolist()) <= day_ts, s


def test_dcgm_series_carry_exactly_the_landed_readings(sim, days, families):
    landed = pa.concat_tables([telemetry.day_samples(sim.scenario, sim.jobs, sim.gpu_modes, sim.day_telemetry(d), d)
                               for d in days])
    ts = (pc.cast(landed.column("ts"), pa.int64()).to_numpy() // 1_000_000).tolist()
    expected = {
        (m, u, i or 0, t): v
        for m, u, i, t, v in zip(landed.column("metric").to_pylist(), landed.column("gpu_uuid").to_pylist(),
                                 landed.column("gpu_instance_id").to_pylist(), ts,
                                 landed.column("value").to_pylist(), strict=True)
    }
    seen = {}
    for metric in {k[0] for k in expected}:
        for s in families[metric]:
            for t, v in zip(s.ts.tolist(), s.values.tolist(), strict=True):
                key = (metric, s.labels["UUID"], int(s.labels.get("GPU_I_ID", 0)), t)
                assert expected[key] == v, key
                seen[key] = v
    assert seen.keys() == expected.keys()


def test_every_pod_holding_a_gpu_is_on_that_gpus_series(sim, families):
    minutes = _day_minutes(sim)
    on_series = defaultdict(set)  # (uuid, GPU_I_ID, unix) -> pods labelled there
    vgpu_pods = set()
    for s in families["DCGM_FI_PROF_GR_ENGINE_ACTIVE"]:
        if "pod" in s.labels:
            for t in s.ts.tolist():
                on_series[(s.labels["UUID"], int(s.labels.get("GPU_I_ID", 0)), t)].add(s.labels["pod"])
            if "vgpu" in s.labels:
                vgpu_pods.add(s.labels["pod"])
    expected = defaultdict(set)
    fractions = set()
    for job in sim.jobs:
        if job.start is None:
            continue
        end = job.end if job.end is not None else sim.scenario.minutes
        for p in job.placements:
            instance = p.instance + 1 if p.instance >= 0 else 0
            if p.instance < 0 and p.share < 1:
                fractions.add(job.job_id)
            for m in range(max(job.start, minutes.start), min(end, minutes.stop)):
                expected[(sim.gpu_uuid(p.gpu), instance, _unix(sim, m))].add(job.job_id)
    assert on_series == expected
    shared_at_once = [pods for pods in expected.values() if len(pods) > 1]
    assert shared_at_once, "these days have GPUs shared by several pods at one minute"
    assert vgpu_pods == fractions & {p for pods in expected.values() for p in pods}


def _per_replica(families, name: str) -> dict[str, Series]:
    return {s.labels["pod"]: s for s in families[name]}


def test_replica_counters_equal_the_direct_landing(families, landed_requests):
    ok = landed_requests.filter(pc.equal(landed_requests.column("status"), "ok"))
    replica = np.array(ok.column("replica").to_pylist())
    end = pc.cast(ok.column("end_ts"), pa.int64()).to_numpy() / 1e6
    first = pc.cast(ok.column("first_token_ts"), pa.int64()).to_numpy() / 1e6
    output = ok.column("output_tokens").to_numpy()
    tokens = _per_replica(families, "vllm:generation_tokens_total")
    successes = _per_replica(families, "vllm:request_success_total")
    ttft_counts = _per_replica(families, "vllm:time_to_first_token_seconds_count")
    assert len(tokens) >= 3 and tokens.keys() == successes.keys() == ttft_counts.keys()
    for pod, series in tokens.items():
        mine = replica == pod
        before = end[mine][None, :] < series.ts[:, None]  # samples x requests: finished strictly before t
        np.testing.assert_array_equal(series.values, (before * output[mine]).sum(axis=1))
        np.testing.assert_array_equal(successes[pod].values, before.sum(axis=1))
        first_before = first[mine][None, :] < ttft_counts[pod].ts[:, None]
        np.testing.assert_array_equal(ttft_counts[pod].values, first_before.sum(axis=1))
        assert series.values[-1] > 0


def test_histograms_are_cumulative_with_vllms_edges(families):
    buckets = [s for s in families["vllm:time_to_first_token_seconds_bucket"]]
    edges = sorted({s.labels["le"] for s in buckets}, key=float)
    assert edges[0] == "0.001" and edges[-2] == "2560.0" and edges[-1] == "+Inf" and len(edges) == 23
    by_pod = defaultdict(dict)
    for s in buckets:
        by_pod[s.labels["pod"]][float(s.labels["le"])] = s.values
    counts = _per_replica(families, "vllm:time_to_first_token_seconds_count")
    for pod, per_edge in by_pod.items():
        stacked = np.array([per_edge[e] for e in sorted(per_edge)])
        assert (np.diff(stacked, axis=0) >= 0).all() and (np.diff(stacked, axis=1) >= 0).all()
        np.testing.assert_array_equal(stacked[-1], counts[pod].values)


def test_training_tokens_spread_evenly_over_the_run(sim, families):
    series = {s.labels["pod"]: s for s in families["gpu_eff_training_tokens_total"]}
    ended_today = [j for j in sim.jobs if j.kind == "training" and j.start is not None and j.end is not None
                   and j.end in _day_minutes(sim) and j.end > j.start]
    assert ended_today
    for job in ended_today:
        s = series[job.job_id]
        share = (s.ts - _unix(sim, job.start)) / ((job.end - job.start) * 60)
        np.testing.assert_allclose(s.values, round(job.tokens) * share, rtol=1e-12)
        assert s.at(_unix(sim, job.end)) == round(job.tokens)


def test_kube_state_lists_every_pod_with_its_lifecycle(sim, families):
    minutes = _day_minutes(sim)
    created = {s.labels["pod"]: s for s in families["kube_pod_created"]}
    phases = defaultdict(dict)
    for s in families["kube_pod_status_phase"]:
        phases[s.labels["pod"]][s.labels["phase"]] = s
    for job in sim.jobs:
        if not (job.submit < minutes.stop and (job.end is None or job.end + VISIBLE_AFTER_COMPLETION_MIN
                                               > minutes.start)):
            continue
        if job.job_id not in created:  # a pod deleted (cancelled in the queue) before the day
            assert job.status == "cancelled" and job.start is None
            continue
        assert set(created[job.job_id].values) == {_unix(sim, job.submit)}
        one_hot = sum(s.values for s in phases[job.job_id].values())
        assert (one_hot == 1).all()
        if job.end is not None and job.end in minutes:
            end = _unix(sim, job.end)
            running = phases[job.job_id]["Running"]
            if job.status in ("preempted", "cancelled"):
                assert running.ts.max() < end  # deleted at its end
            else:
                final = phases[job.job_id]["Succeeded" if job.status == "succeeded" else "Failed"]
                shown = final.ts[final.values == 1]
                assert shown.min() == end and shown.size == min(VISIBLE_AFTER_COMPLETION_MIN,
                                                                (minutes.stop - job.end))


def test_kube_state_gpu_requests_name_whole_gpus_mig_profiles_and_hami_fractions(sim, families):
    requests = defaultdict(dict)
    for s in families["kube_pod_container_resource_requests"]:
        requests[s.labels["pod"]][s.labels["resource"]] = s.values[-1]
    for job in sim.jobs:
        if job.job_id not in requests or not job.placements:
            continue
        got, p = requests[job.job_id], job.placements[0]
        if p.instance >= 0:
            profile = sim.scenario.mig_layout[p.instance].replace(".", "_")
            assert got == {f"nvidia_com_mig_{profile}": 1}
        elif p.share < 1:
            assert got == {"nvidia_com_gpu": 1, "nvidia_com_gpucores": round(p.share * 100),
                           "nvidia_com_gpumem": round(p.reserved_gb * 1024)}
        else:
            assert got == {"nvidia_com_gpu": len(job.placements)}
    kinds = {s.labels["resource"] for s in families["kube_pod_container_resource_requests"]}
    assert {"nvidia_com_gpu", "nvidia_com_gpucores", "nvidia_com_mig_3g_40gb"} <= kinds


def test_a_day_written_alone_has_the_same_values_as_within_more_days(sim, days, exported, tmp_path):
    """Per-day files (promtool reads a file once per block) must agree bit for bit with a longer window: a
    cumulative `_sum` that differed in its last bit at midnight would read as a counter reset."""
    alone = tmp_path / "second-day.om"
    write_openmetrics(sim, alone, days[1:])
    path, _ = exported
    second_day = _unix(sim, (FIRST_DAY + 1) * 1440)
    def samples(file, since: int) -> set[tuple[str, float, int]]:
        with file.open() as f:
            points = (line.rsplit(" ", 2) for line in f if not line.startswith("#"))
            return {(head, float(value), int(ts)) for head, value, ts in points if int(ts) >= since}

    assert samples(alone, second_day) == samples(path, second_day)


def test_a_day_outside_the_scenario_is_refused(sim, tmp_path):
    with pytest.raises(ValueError, match="2030-01-01 is outside scenario 'tiny'"):
        write_openmetrics(sim, tmp_path / "x.om", [load_scenario("tiny").start_date.replace(year=2030, month=1,
                                                                                            day=1)])
    assert not list(tmp_path.iterdir())


def test_the_command_refuses_an_unknown_scenario_in_one_line(tmp_path, capsys):
    assert main(["no-such-scenario", str(tmp_path / "x.om")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no-such-scenario" in err and "Traceback" not in err
    assert not (tmp_path / "x.om").exists()
