"""Configuration: one YAML file, validated on load, errors naming the key, no secrets in the file."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ingestion.config import ConfigError, load_config, secret, warehouse_engine

GOOD = """
pools:
  - name: gpu-a
    inventory: inventory.csv
    stages:
      - {stage: baseline, start: 2026-01-01, end: 2026-02-01}
      - {stage: sharing, start: 2026-02-01, end: "2026-03-01T00:00:00+08:00", note: MIG on serving nodes}
      - {stage: orchestration, start: "2026-03-01T00:00:00+08:00"}
sources:
  dcgm_exporter:
    targets: [http://node-1:9400/metrics, https://node-2:9400/metrics]
    interval_s: 15
    bearer_token_env: DCGM_TOKEN
  prometheus:
    url: https://prometheus.example:9090
    metrics: [DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_POWER_USAGE]
    basic_auth_user: reader
    basic_auth_password_env: PROM_PASSWORD
  nvml: true
  logs:
    - {kind: slurm-sacct, path: logs/sacct.txt, pool: gpu-a}
prices:
  currency: USD
  energy_per_kwh: 0.11
  gpu_hourly: {NVIDIA H100 80GB HBM3: 18.5}
"""


def _write(tmp_path, text: str):
    path = tmp_path / "gpu-eff.yaml"
    path.write_text(textwrap.dedent(text))
    (tmp_path / "inventory.csv").write_text("hostname,gpu_index,gpu_uuid,model_name,memory_gb\n"
                                            "node-1,0,GPU-1,NVIDIA H100 80GB HBM3,80\n")
    return path


def test_without_a_file_the_demo_scenario_is_the_source(monkeypatch):
    monkeypatch.delenv("GPU_EFF_CONFIG", raising=False)
    monkeypatch.delenv("GPU_EFF_SCENARIO", raising=False)
    config = load_config()
    assert config.scenario == "demo" and config.path is None


def test_a_full_file_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_EFF_CONFIG", str(_write(tmp_path, GOOD)))
    config = load_config()
    [pool] = config.pools
    assert [w.stage_key for w in pool.stages] == ["baseline", "sharing", "orchestration"]
    assert pool.stages[1].end == dt.datetime(2026, 2, 28, 16, tzinfo=dt.UTC)  # +08:00 converted to UTC
    assert pool.stages[2].end is None
    assert config.dcgm_exporter.auth.bearer_token_env == "DCGM_TOKEN"
    assert config.prometheus.auth.basic_auth_password_env == "PROM_PASSWORD"
    assert config.logs[0].path == (tmp_path / "logs/sacct.txt").resolve()
    assert config.prices.gpu_hourly == {"NVIDIA H100 80GB HBM3": 18.5}
    assert config.prices.dbt_vars() == {"prices": {"energy_per_kwh": 0.11,
                                                   "gpu_hourly": {"NVIDIA H100 80GB HBM3": 18.5}}}
    assert config.scenario is None and config.nvml
    assert pool.inventory == (tmp_path / "inventory.csv").resolve()
    assert config.prometheus.pool == "gpu-a"  # the only pool


def test_serving_and_kubernetes_sections_are_off_unless_named(tmp_path):
    config = load_config(_write(tmp_path, GOOD))
    assert config.prometheus.serving is None and config.prometheus.kubernetes is None


def test_serving_and_kubernetes_sections_take_defaults_selectors_and_label_names(tmp_path):
    text = GOOD.replace("    metrics: [DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_POWER_USAGE]\n", """\
    serving: true
    kubernetes:
      selector: '{job="kube-state-metrics"}'
      tenant_label: team
      queue_label: null
""")
    prom = load_config(_write(tmp_path, text)).prometheus
    assert prom.metrics[0] == "DCGM_FI_DEV_GPU_UTIL" and len(prom.metrics) > 2  # the default DCGM fields
    assert prom.serving.selector == ""
    assert prom.kubernetes.selector == '{job="kube-state-metrics"}'
    assert prom.kubernetes.tenant_label == "team"
    assert prom.kubernetes.queue_label is None  # null: no queue label
    assert prom.kubernetes.workload_type_label == "gpu-efficiency/workload-type"  # the default


def test_an_unknown_key_in_the_kubernetes_section_is_named(tmp_path):
    text = GOOD.replace("    metrics: [DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_POWER_USAGE]\n",
                        "    kubernetes: {queue_lable: team}\n")
    with pytest.raises(ConfigError, match=r"sources\.prometheus\.kubernetes\.queue_lable"):
        load_config(_write(tmp_path, text))


def test_without_a_file_the_vendored_lab_runs_land_in_their_own_pool(monkeypatch):
    monkeypatch.delenv("GPU_EFF_CONFIG", raising=False)
    [lab] = load_config().logs
    assert (lab.kind, lab.pool) == ("h200-lab", "lab-h200") and (lab.path / "job_log.jsonl").is_file()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("bearer_token_env: DCGM_TOKEN", "bearer_token: s3cr3t-value"),
     r"'sources\.dcgm_exporter\.bearer_token' would put a secret in the file.*'bearer_token_env'"),
    (lambda t: t.replace("basic_auth_password_env: PROM_PASSWORD", "basic_auth_password_env: hunter2!"),
     r"'sources\.prometheus\.basic_auth_password_env' must be the NAME of an environment variable"),
    (lambda t: t.replace("stage: sharing", "stage: shareing"),
     r"'pools\[0\]\.stages\[1\]\.stage' must be one of"),
    (lambda t: t.replace('start: "2026-03-01T00:00:00+08:00"}', "start: 2026-02-15}"),
     r"'pools\[0\]\.stages\[2\]\.start' overlaps the previous stage"),
    (lambda t: t.replace("url: https://prometheus.example:9090", "url: prometheus:9090"),
     r"'sources\.prometheus\.url' must be an http\(s\) URL"),
    (lambda t: t.replace("interval_s: 15", "interval_s: fast"), r"'sources\.dcgm_exporter\.interval_s' must be"),
    (lambda t: t.replace("  nvml: true", "  nvml: true\n  nmvl: false"), r"'sources\.nmvl' is not a known key"),
    (lambda t: t.replace("pool: gpu-a}", "pool: gpu-b}"), r"a log of kind slurm-sacct names pool 'gpu-b'"),
    (lambda t: t.replace("18.5", "-1"), r"'prices\.gpu_hourly\.NVIDIA H100 80GB HBM3' must be a price"),
    (lambda t: t.replace("currency: USD", "currency: CNY"), r"'prices\.currency' must be USD"),
    (lambda t: t.replace("    inventory: inventory.csv\n", ""), r"'pools\[0\]\.inventory' is missing"),
    (lambda t: t.replace("inventory: inventory.csv", "inventory: gone.csv"), r"'pools\[0\]\.inventory'.*not found"),
    (lambda t: t.replace("    basic_auth_user: reader", "    pool: gpu-z\n    basic_auth_user: reader"),
     r"'sources\.prometheus\.pool' must be one of the pools"),
    (lambda t: t.replace("name: gpu-a", "name: x/../../outside"),
     r"'pools\[0\]\.name' pool 'x/\.\./\.\./outside': use"),
    (lambda t: t.replace("pool: gpu-a}", "pool: ../lab}"), r"'sources\.logs\[0\]\.pool' pool '\.\./lab': use"),
])
def test_errors_name_the_key_and_the_problem(tmp_path, edit, message):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(path)
    assert "s3cr3t-value" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_secrets_are_read_from_the_named_variable_and_never_echoed(monkeypatch):
    monkeypatch.setenv("PROM_PASSWORD", "hunter2")
    assert secret("PROM_PASSWORD") == "hunter2"
    monkeypatch.delenv("PROM_PASSWORD")
    with pytest.raises(ConfigError, match="PROM_PASSWORD is not set"):
        secret("PROM_PASSWORD")


def test_the_shipped_example_validates():
    config = load_config(Path(__file__).resolve().parents[1] / "ingestion/examples/cluster.yaml")
    assert [p.name for p in config.pools] == ["prod-a100"] and config.prometheus.pool == "prod-a100"
    assert {log.kind for log in config.logs} == {"slurm-sacct", "requests", "h200-lab"}


@pytest.mark.parametrize(("edit", "key"), [
    # a token pasted where the variable's NAME belongs: not a variable name (lower case, '-', '.'), or too long
    (lambda t: t.replace("bearer_token_env: DCGM_TOKEN", "bearer_token_env: sk-live-hunter2-9f8e7d"),
     "sources.dcgm_exporter.bearer_token_env"),
    (lambda t: t.replace("bearer_token_env: DCGM_TOKEN", "bearer_token_env: AKIAHUNTER2EXAMPLE7Q"),
     "sources.dcgm_exporter.bearer_token_env"),
    (lambda t: t.replace("bearer_token_env: DCGM_TOKEN", "bearer_token_env: 731337hunter2"),  # YAML: a string
     "sources.dcgm_exporter.bearer_token_env"),
    (lambda t: t.replace("bearer_token_env: DCGM_TOKEN", "bearer_token_env: 7313372"),  # YAML: an int
     "sources.dcgm_exporter.bearer_token_env"),
    (lambda t: t.replace("basic_auth_password_env: PROM_PASSWORD", "basic_auth_password_env: [hunter2]"),
     "sources.prometheus.basic_auth_password_env"),
    (lambda t: t.replace("http://node-1:9400/metrics", "http://dcgm:hunter2@node-1:9400/metrics"),
     "sources.dcgm_exporter.targets[0]"),
    (lambda t: t.replace("https://node-2:9400/metrics", '"https://node-2:9400/metrics?token=hunter2"'),
     "sources.dcgm_exporter.targets[1]"),
    (lambda t: t.replace("url: https://prometheus.example:9090", "url: https://reader:hunter2@prometheus.example"),
     "sources.prometheus.url"),
    (lambda t: t.replace("url: https://prometheus.example:9090", "url: ftp://reader:hunter2@prometheus.example"),
     "sources.prometheus.url"),
])
def test_a_secret_in_the_file_is_refused_naming_the_key_not_the_value(tmp_path, edit, key):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"'{key}'" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "7313372" not in str(caught.value)


def test_a_yaml_error_names_the_line_not_its_text(tmp_path):
    path = _write(tmp_path, GOOD.replace("bearer_token_env: DCGM_TOKEN", "bearer_token_env: hunter2: [x"))
    with pytest.raises(ConfigError, match=r"invalid YAML at line \d+, column \d+") as caught:
        load_config(path)
    assert "hunter2" not in str(caught.value)


def test_the_warehouse_engine_is_duckdb_unless_configured_and_the_environment_overrides_it(tmp_path, monkeypatch):
    monkeypatch.delenv("GPU_EFF_WAREHOUSE_ENGINE", raising=False)
    assert warehouse_engine(load_config(_write(tmp_path, GOOD))) == "duckdb"
    spark = load_config(_write(tmp_path, GOOD + "warehouse: {engine: spark}\n"))
    assert warehouse_engine(spark) == "spark"
    monkeypatch.setenv("GPU_EFF_WAREHOUSE_ENGINE", "duckdb")
    assert warehouse_engine(spark) == "duckdb"
    monkeypatch.setenv("GPU_EFF_WAREHOUSE_ENGINE", "trino")
    with pytest.raises(ConfigError, match="GPU_EFF_WAREHOUSE_ENGINE: must be one of duckdb, spark, got 'trino'"):
        warehouse_engine(spark)
    with pytest.raises(ConfigError, match=r"yaml: 'warehouse\.engine' must be one of duckdb, spark, got 'bigquery'"):
        load_config(_write(tmp_path, GOOD + "warehouse: {engine: bigquery}\n"))
