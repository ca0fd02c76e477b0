"""kube-state-metrics pod families -> pod_allocations, on the real KSM golden samples
(../shared/fixtures/serving/samples/ksm_*) and on small hand-made windows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from ingestion.contracts import POD_ALLOCATIONS
from ingestion.sources import kube_state as ks
from ingestion.sources.dcgm_exposition import parse_labels

SCRAPE = dt.datetime(2026, 10, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def samples(shared: Path) -> Path:
    return shared / "fixtures" / "serving" / "samples"


def read_page(samples: Path, *names: str) -> list[ks.Series]:
    """The samples of saved /metrics pages as one-point series at SCRAPE."""
    series = []
    for name in names:
        for line in (samples / name).read_text().splitlines():
            if not line or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            family, _, raw = head.partition("{")
            labels = {**parse_labels(raw.removesuffix("}")), "__name__": family}
            series.append((labels, np.array([SCRAPE.timestamp()]), np.array([float(value)])))
    return series


def only_row(series: list[ks.Series], **options) -> dict:
    table = ks.pod_allocations(series, "pool-k", **options)
    assert table.schema == POD_ALLOCATIONS.schema
    assert table.num_rows == 1
    return table.to_pylist()[0]


def test_full_pod_scrape_gives_its_gpu_pod(samples) -> None:
    row = only_row(read_page(samples, "ksm_v2.x_golden_server_test_full_pod_scrape.prom"), source="serving-text")
    assert row == {
        "uid": "abc-0", "pod": "pod0", "namespace": "default", "pool": "pool-k", "node": "node1",
        "gpu_resource": "nvidia.com/gpu", "gpu_request": 1.0, "gpu_limit": 1.0, "gpu_cores_request": None,
        "gpu_mem_request_mib": None, "phase": "Running",
        "created_ts": dt.datetime(2017, 7, 14, 2, 40, tzinfo=dt.UTC), "start_ts": None, "end_ts": None,
        "tenant": "default", "queue": None, "workload_type": None, "owner_kind": None, "labels": None,
        "observed_ts": SCRAPE, "source": "serving-text",
    }


def test_requests_limits_phase_and_labels_samples_of_one_pod(samples) -> None:
    series = read_page(samples, "ksm_v2.x_golden_pod_test_gpu_requests_limits.prom",
                       "ksm_v2.x_golden_pod_test_status_phase_running.prom",
                       "ksm_v2.x_golden_pod_test_labels_wildcard.prom")
    row = only_row(series)
    # one GPU in container pod1_con1 and one in init container pod1_initcon1: Kubernetes schedules
    # max(sum over containers, largest init container) = 1, not 2
    assert (row["uid"], row["gpu_resource"], row["gpu_request"], row["gpu_limit"]) == ("uid1", "nvidia.com/gpu", 1, 1)
    assert row["phase"] == "Running"
    assert json.loads(row["labels"]) == {"label_app": "example"}
    assert row["node"] is None  # the sample's node label is empty and it has no kube_pod_info


def test_pods_without_gpu_requests_are_not_rows(samples) -> None:
    series = read_page(samples, "ksm_v2.x_golden_pod_test_start_time.prom",
                       "ksm_v2.x_golden_pod_test_completion_time.prom",
                       "ksm_v2.x_golden_pod_test_status_phase_running.prom")
    assert ks.pod_allocations(series, "pool-k").num_rows == 0


def _series(family: str, labels: dict[str, str], ts: list[float], values: list[float]) -> ks.Series:
    return {**labels, "__name__": family}, np.array(ts, dtype=float), np.array(values, dtype=float)


POD = {"namespace": "ns", "pod": "p", "uid": "u"}


def _gpu(kind: str, container: str, amount: float, resource: str = "nvidia_com_gpu",
         family: str = "kube_pod_container_resource_requests") -> ks.Series:
    family = family.replace("requests", kind)
    return _series(family, {**POD, "container": container, "resource": resource, "unit": "integer"}, [0], [amount])


@pytest.mark.parametrize(("containers", "init", "expected"), [((1, 1), 1, 2.0), ((1,), 4, 4.0), ((2, 0), None, 2.0)])
def test_effective_request_is_the_larger_of_the_containers_sum_and_the_largest_init(containers, init, expected):
    series = [_gpu("requests", f"c{i}", n) for i, n in enumerate(containers)]
    if init is not None:
        series.append(_gpu("requests", "init", init, family="kube_pod_init_container_resource_requests"))
    row = only_row(series)
    assert (row["gpu_request"], row["gpu_limit"]) == (expected, None)


def test_resource_names_become_kubernetes_names() -> None:
    assert ks.kubernetes_resource("nvidia_com_gpu") == "nvidia.com/gpu"
    assert ks.kubernetes_resource("nvidia_com_mig_3g_40gb") == "nvidia.com/mig-3g.40gb"
    assert ks.kubernetes_resource("nvidia_com_mig_1g_10gb_me") == "nvidia.com/mig-1g.10gb+me"
    assert ks.kubernetes_resource("nvidia.com/mig-2g.20gb") == "nvidia.com/mig-2g.20gb"  # as Kueue writes it
    assert ks.kubernetes_resource("cpu") is None and ks.kubernetes_resource("amd_com_gpu") is None


def test_label_names_are_configurable() -> None:
    names = ks.PodLabelNames(tenant="acme.io/team", queue=None, workload_type="kind")
    assert names.ksm_label("tenant") == "label_acme_io_team" and names.ksm_label("queue") is None
    assert ks.PodLabelNames().ksm_label("queue") == "label_kueue_x_k8s_io_queue_name"
    labels = {**POD, "label_acme_io_team": "search", "label_kueue_x_k8s_io_queue_name": "q", "label_kind": "inference"}
    row = only_row([_gpu("requests", "c", 1), _series("kube_pod_labels", labels, [0], [1])], names=names)
    assert (row["tenant"], row["queue"], row["workload_type"]) == ("search", None, "inference")


def test_a_pod_that_vanished_while_running_ends_one_step_after_its_last_observation() -> None:
    minutes = [1.7e9 + 60 * k for k in range(5)]
    gpu = _series("kube_pod_container_resource_requests", {**POD, "container": "c", "resource": "nvidia_com_gpu"},
                  minutes[:3], [1, 1, 1])
    series = [gpu, _series("kube_pod_status_phase", {**POD, "phase": "Running"}, minutes[:3], [1, 1, 1]),
              _series("kube_pod_status_phase", {**POD, "phase": "Pending"}, minutes[:3], [0, 0, 0])]
    row = only_row(series, window_end=minutes[-1], step_s=60)
    assert row["phase"] == "Running"
    assert row["observed_ts"] == dt.datetime.fromtimestamp(minutes[2], dt.UTC)
    assert row["end_ts"] == dt.datetime.fromtimestamp(minutes[3], dt.UTC)
    # still there at the window's end: no end
    assert only_row(series, window_end=minutes[2], step_s=60)["end_ts"] is None
    # a succeeded pod that vanished keeps no invented end
    done = [series[0], _series("kube_pod_status_phase", {**POD, "phase": "Succeeded"}, minutes[:3], [1, 1, 1])]
    assert only_row(done, window_end=minutes[-1], step_s=60)["end_ts"] is None


def test_series_without_uid_join_the_pod_of_their_name() -> None:
    v1 = _series("kube_pod_container_resource_requests_nvidia_gpu_devices",
                 {"namespace": "ns", "pod": "p", "container": "c"}, [0], [2])
    phase = _series("kube_pod_status_phase", {**POD, "phase": "Failed"}, [0], [1])
    row = only_row([v1, phase])
    assert (row["uid"], row["gpu_request"], row["phase"]) == ("u", 2.0, "Failed")


def test_series_without_a_pod_are_reported_not_rows() -> None:
    nameless = _series("kube_pod_status_phase", {"phase": "Running", "uid": "u"}, [0], [1])
    assert ks.unidentified([nameless, _gpu("requests", "c", 1)]) == [{
        "reason": "kube-state-metrics series has no pod/namespace label (pod, exported_pod)",
        "metric": "kube_pod_status_phase", "labels": nameless[0], "points": 1}]
    assert only_row([nameless, _gpu("requests", "c", 1)])["phase"] == "Unknown"
