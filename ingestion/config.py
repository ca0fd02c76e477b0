"""The product's configuration: one YAML file named by `GPU_EFF_CONFIG` (the demo scenario when unset).

It names the pools with their stage calendars, the sources (the simulated cluster, dcgm-exporter targets,
Prometheus, NVML, log files) and the prices. Secrets are never written in it: a key such as
`bearer_token_env` holds the NAME of an environment variable, read when the source connects; a URL with
credentials in it (`http://user:pass@host`) is refused, as is a secret-like key with a literal value.
Validation happens on load; every error names the file, the dotted key and the problem, and never shows the
value of a secret-like key or a URL's credentials.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.collector import redact
from ingestion.contracts import STAGE_KEYS
from ingestion.landing import check_name
from ingestion.paths import ENGINE_ENV, WAREHOUSE_ENGINES
from ingestion.sources.dcgm_scrape import has_credentials
from ingestion.yaml_keys import ConfigError, KeyReader, is_env_name, load_yaml

SECRET_KEYS = {"token", "bearer_token", "password", "basic_auth_password", "secret", "api_key"}
# The real H200 lab runs vendored with the product: the deck's 实验室实测 evidence.
LAB_DIR = Path(__file__).resolve().parent / "lab_data" / "h200"
LOG_KINDS = ("jobs", "slurm-sacct", "openb", "requests", "azure-llm-trace", "dcgm-text", "prometheus-json",
             "h200-lab", "serving-text")


@dataclass(frozen=True)
class Auth:
    bearer_token_env: str | None = None
    basic_auth_user: str | None = None
    basic_auth_password_env: str | None = None
    verify_tls: bool = True


@dataclass(frozen=True)
class StageWindow:
    stage_key: str
    start: dt.datetime
    end: dt.datetime | None  # None: still in force
    note: str = ""


@dataclass(frozen=True)
class Pool:
    name: str
    timezone: str
    stages: tuple[StageWindow, ...]
    inventory: Path | None = None  # CSV of the provisioned GPUs (gpu_inventory columns)


@dataclass(frozen=True)
class DcgmExporter:
    targets: tuple[str, ...]
    interval_s: float = 15.0
    timeout_s: float = 5.0
    retries: int = 2
    auth: Auth = field(default_factory=Auth)


@dataclass(frozen=True)
class ServingQuery:
    """The serving engines' own /metrics (vLLM, SGLang, Triton, TGI) as Prometheus scraped them."""

    selector: str = ""  # label matchers added to every query, e.g. '{namespace=~"llm-.*"}'


@dataclass(frozen=True)
class KubernetesQuery:
    """kube-state-metrics' GPU pods (and Kueue's queue label on them) as Prometheus scraped them."""

    selector: str = ""  # e.g. '{job="kube-state-metrics"}'
    tenant_label: str | None = None  # None: the pod's namespace is the tenant
    queue_label: str | None = "kueue.x-k8s.io/queue-name"
    workload_type_label: str | None = "gpu-efficiency/workload-type"


@dataclass(frozen=True)
class Prometheus:
    url: str
    metrics: tuple[str, ...]
    step_s: int = 60
    selector: str = ""
    timeout_s: float = 60.0
    auth: Auth = field(default_factory=Auth)
    pool: str = ""  # the pool its GPUs belong to
    serving: ServingQuery | None = None  # None: serving engines are not read from this Prometheus
    kubernetes: KubernetesQuery | None = None  # None: pods are not read from this Prometheus


@dataclass(frozen=True)
class LogFile:
    kind: str
    path: Path
    pool: str


DEFAULT_LAB = LogFile("h200-lab", LAB_DIR, "lab-h200")


@dataclass(frozen=True)
class Prices:
    """Overrides of the dbt seeds `energy_price` and `gpu_catalog.hourly_price`; None/absent keeps the seed."""

    currency: str = "USD"
    energy_per_kwh: float | None = None
    gpu_hourly: dict[str, float] = field(default_factory=dict)  # model name -> price per GPU-hour

    def dbt_vars(self) -> dict:
        """The dbt var `prices` that the models read."""
        return {"prices": {"energy_per_kwh": self.energy_per_kwh, "gpu_hourly": self.gpu_hourly}}


@dataclass(frozen=True)
class Config:
    path: Path | None
    scenario: str | None  # the simulated-cluster scenario, when the simulator is a source
    pools: tuple[Pool, ...] = ()
    dcgm_exporter: DcgmExporter | None = None
    prometheus: Prometheus | None = None
    nvml: bool = False
    logs: tuple[LogFile, ...] = ()
    prices: Prices | None = None  # None: the dbt seeds' prices
    warehouse_engine: str = "duckdb"  # what builds the dbt project: one of WAREHOUSE_ENGINES


def secret(env_name: str) -> str:
    """The value of a secret's environment variable; the error names the variable, never a value."""
    value = os.environ.get(env_name)
    if not value:
        raise ConfigError(f"environment variable {env_name} is not set (it holds a credential named in the config)")
    return value


def _env_name(r: KeyReader, key: str) -> str | None:
    name = r.get(key, str, None)
    if name is not None and not is_env_name(name):  # the value is not shown: it may be the secret itself
        raise r.fail(key, "must be the NAME of an environment variable (like PROM_TOKEN: upper-case words joined "
                          "by '_'); what is there does not look like one (a pasted secret?)")
    return name


def _url(r: KeyReader, key: str, url: str) -> str:
    """`url` if it is an http(s) URL without credentials; the errors show it only without them."""
    if has_credentials(url):
        raise r.fail(key, "has credentials in its URL (user:password@ or a ?token=-like parameter): refused, as "
                          "the URL is logged and "
                          "recorded; name the password's environment variable in basic_auth_password_env (with "
                          "basic_auth_user) or use bearer_token_env")
    if not url.startswith(("http://", "https://")):
        raise r.fail(key, f"must be an http(s) URL, got {redact(url)!r}")
    return url


def _auth(r: KeyReader) -> Auth:
    for key in sorted(SECRET_KEYS & set(r.data)):
        raise r.fail(key, f"would put a secret in the file: write the NAME of an environment variable in "
                          f"'{key}_env' instead")
    return Auth(
        bearer_token_env=_env_name(r, "bearer_token_env"),
        basic_auth_user=r.get("basic_auth_user", str, None),
        basic_auth_password_env=_env_name(r, "basic_auth_password_env"),
        verify_tls=r.get("verify_tls", bool, True),
    )


AUTH_KEYS = {"bearer_token_env", "basic_auth_user", "basic_auth_password_env", "verify_tls"} | SECRET_KEYS


def _timestamp(r: KeyReader, key: str, required: bool = True) -> dt.datetime | None:
    value = r.get(key, (str, dt.date, dt.datetime), ... if required else None)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise r.fail(key, f"must be an ISO date or time, got {value!r}") from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _pool(r: KeyReader, base: Path) -> Pool:
    r.unknown({"name", "timezone", "stages", "inventory"})
    stages = []
    for s in r.each("stages"):
        s.unknown({"stage", "start", "end", "note"})
        key = s.get("stage", str)
        if key not in STAGE_KEYS:
            raise s.fail("stage", f"must be one of {list(STAGE_KEYS)}, got {key!r}")
        window = StageWindow(key, _timestamp(s, "start"), _timestamp(s, "end", required=False), s.get("note", str, ""))
        if window.end is not None and window.end <= window.start:
            raise s.fail("end", "must be after start")
        if stages and (stages[-1].end is None or window.start < stages[-1].end):
            raise s.fail("start", "overlaps the previous stage (windows must be in order and not overlap)")
        stages.append(window)
    if [STAGE_KEYS.index(w.stage_key) for w in stages] != sorted(STAGE_KEYS.index(w.stage_key) for w in stages):
        raise r.fail("stages", "must follow the stage order " + " → ".join(STAGE_KEYS))
    inventory = r.get("inventory", str, None)
    return Pool(_name(r, "name"), r.get("timezone", str, "Asia/Shanghai"), tuple(stages),
                (base / inventory).resolve() if inventory else None)


def _name(r: KeyReader, key: str) -> str:
    """A pool name: it becomes part of landed file names, so only a safe character set (landing.check_name)."""
    value = r.get(key, str)
    try:
        return check_name("pool", value)
    except ValueError as exc:
        raise r.fail(key, str(exc)) from None


def _dcgm(r: KeyReader) -> DcgmExporter:
    r.unknown({"targets", "interval_s", "timeout_s", "retries"} | AUTH_KEYS)
    targets = tuple(r.get("targets", list))
    if not targets or not all(isinstance(t, str) for t in targets):
        raise r.fail("targets", "must list http(s) URLs of dcgm-exporter /metrics endpoints")
    for i, target in enumerate(targets):
        _url(r, f"targets[{i}]", target)
    return DcgmExporter(targets, r.get("interval_s", float, 15.0), r.get("timeout_s", float, 5.0),
                        r.get("retries", int, 2), _auth(r))


def _optional_section(r: KeyReader, key: str) -> KeyReader | None:
    """A sub-section that may be absent, `true` (all defaults) or a mapping."""
    value = r.data.get(key)
    if value is None or value is False:
        return None
    if value is True:
        return KeyReader({}, r.key(key), r.path)
    return r.sub(key)


def _serving(r: KeyReader) -> ServingQuery:
    r.unknown({"selector"})
    return ServingQuery(r.get("selector", str, ""))


def _kubernetes(r: KeyReader) -> KubernetesQuery:
    r.unknown({"selector", "tenant_label", "queue_label", "workload_type_label"})
    default = KubernetesQuery()

    def label(key: str) -> str | None:
        if key not in r.data:
            return getattr(default, key)
        return None if r.data[key] is None else r.get(key, str)  # null: not read from a label

    return KubernetesQuery(r.get("selector", str, ""), label("tenant_label"), label("queue_label"),
                           label("workload_type_label"))


def _prometheus(r: KeyReader, pool_names: list[str]) -> Prometheus:
    from ingestion.sources.prometheus import DEFAULT_METRICS

    r.unknown({"url", "metrics", "step_s", "selector", "timeout_s", "pool", "serving", "kubernetes"} | AUTH_KEYS)
    url = _url(r, "url", r.get("url", str))
    metrics = tuple(r.get("metrics", list, list(DEFAULT_METRICS)))
    if not metrics:
        raise r.fail("metrics", "must name at least one metric")
    pool = r.get("pool", str, pool_names[0] if len(pool_names) == 1 else None)
    if pool is None:
        raise r.fail("pool", f"must name the pool of its GPUs (one of {pool_names})")
    if pool not in pool_names:
        raise r.fail("pool", f"must be one of the pools {pool_names}, got {pool!r}")
    serving, kubernetes = _optional_section(r, "serving"), _optional_section(r, "kubernetes")
    return Prometheus(url, metrics, r.get("step_s", int, 60), r.get("selector", str, ""),
                      r.get("timeout_s", float, 60.0), _auth(r), pool,
                      serving=_serving(serving) if serving is not None else None,
                      kubernetes=_kubernetes(kubernetes) if kubernetes is not None else None)


def _logs(r: KeyReader, base: Path) -> tuple[LogFile, ...]:
    logs = []
    for item in r.each("logs", []):
        item.unknown({"kind", "path", "pool"})
        kind = item.get("kind", str)
        if kind not in LOG_KINDS:
            raise item.fail("kind", f"must be one of {list(LOG_KINDS)}, got {kind!r}")
        logs.append(LogFile(kind, (base / item.get("path", str)).resolve(), _name(item, "pool")))
    return tuple(logs)


def _prices(r: KeyReader) -> Prices:
    r.unknown({"currency", "energy_per_kwh", "gpu_hourly"})
    currency = r.get("currency", str, "USD")
    if currency != "USD":
        raise r.fail("currency", f"must be USD (the marts' costs are in USD; convert the prices), got {currency!r}")
    hourly = r.get("gpu_hourly", dict, {})
    for model, price in hourly.items():
        if not isinstance(price, (int, float)) or isinstance(price, bool) or price < 0:
            raise r.fail(f"gpu_hourly.{model}", f"must be a price per GPU-hour (a number >= 0), got {price!r}")
    energy = r.get("energy_per_kwh", float, None)
    if energy is not None and energy < 0:
        raise r.fail("energy_per_kwh", "must be >= 0")
    return Prices(currency, energy, {k: float(v) for k, v in hourly.items()})


def _warehouse(r: KeyReader) -> str:
    r.unknown({"engine"})
    engine = r.get("engine", str, "duckdb")
    if engine not in WAREHOUSE_ENGINES:
        raise r.fail("engine", f"must be one of {', '.join(WAREHOUSE_ENGINES)}, got {engine!r}")
    return engine


def warehouse_engine(config: Config) -> str:
    """The engine that builds the dbt project: GPU_EFF_WAREHOUSE_ENGINE when set, else the configuration's."""
    engine = os.environ.get(ENGINE_ENV) or config.warehouse_engine
    if engine not in WAREHOUSE_ENGINES:
        raise ConfigError(f"{ENGINE_ENV}: must be one of {', '.join(WAREHOUSE_ENGINES)}, got {engine!r}")
    return engine


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate the configuration (`GPU_EFF_CONFIG` when no path is given; else the demo)."""
    path = path or os.environ.get("GPU_EFF_CONFIG")
    if not path:
        return Config(path=None, scenario=os.environ.get("GPU_EFF_SCENARIO", "demo"), logs=(DEFAULT_LAB,))
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found (GPU_EFF_CONFIG)")
    root = KeyReader(load_yaml(path), "", path)
    root.unknown({"pools", "sources", "prices", "warehouse"})
    sources = root.sub("sources")
    sources.unknown({"simulator", "dcgm_exporter", "prometheus", "nvml", "logs"})
    simulator = sources.sub("simulator", None) if sources.data.get("simulator") is not None else None
    if simulator is not None:
        simulator.unknown({"scenario"})
    pools = tuple(_pool(p, path.parent) for p in root.each("pools", []))
    names = [p.name for p in pools]
    if len(set(names)) != len(names):
        raise root.fail("pools", f"names must be unique, got {names}")
    config = Config(
        path=path,
        scenario=simulator.get("scenario", str, "demo") if simulator is not None else None,
        pools=pools,
        dcgm_exporter=_dcgm(sources.sub("dcgm_exporter")) if "dcgm_exporter" in sources.data else None,
        prometheus=_prometheus(sources.sub("prometheus"), names) if "prometheus" in sources.data else None,
        nvml=sources.get("nvml", bool, False),
        logs=_logs(sources, path.parent),
        prices=_prices(root.sub("prices")) if "prices" in root.data else None,
        warehouse_engine=_warehouse(root.sub("warehouse")) if "warehouse" in root.data else "duckdb",
    )
    for log in config.logs:
        if log.pool not in names and log.kind != "h200-lab":  # a lab pool has no stage calendar
            raise ConfigError(f"{path}: a log of kind {log.kind} names pool {log.pool!r}, not one of {names}")
    if config.scenario is None and not pools:
        raise root.fail("pools", "must list at least one pool when the simulated cluster is not a source")
    for i, pool in enumerate(pools):
        if config.scenario is None and pool.inventory is None:
            raise ConfigError(f"{path}: 'pools[{i}].inventory' is missing: name the CSV of the pool's provisioned "
                              f"GPUs (columns hostname, gpu_index, gpu_uuid, model_name, memory_gb)")
        if pool.inventory is not None and not pool.inventory.is_file():
            raise ConfigError(f"{path}: 'pools[{i}].inventory': {pool.inventory} not found")
    return config
