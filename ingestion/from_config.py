"""Land what the configuration names: the daily sources, the log files, the lab runs and the pool tables.

This is what the Dagster ingestion assets run (and what a script can run without Dagster):
- `land_days`: for each UTC day, the simulated cluster (when it is a source), one day of Prometheus history,
  and that day's records of every configured log file (each file is read once per call);
- `land_lab`: the controlled experiments (the vendored H200 lab runs by default), whatever their dates;
- `land_pool_tables`: the stage calendar and GPU inventory of every pool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ingestion import landing, paths
from ingestion.config import Config, Pool
from ingestion.contracts import DATASETS, GPU_INVENTORY, STAGE_CALENDAR, STAGE_KEYS
from ingestion.importers import land, read_log
from ingestion.progress import Progress

CONFIG_SOURCE = "config"
LAB_KINDS = ("h200-lab",)
DAYS_AT_ONCE = 2  # see land_days
SCHEMA_DAY = dt.date(1970, 1, 1)  # the partition of the empty placeholder files (see ensure_every_dataset)


def first_day(config: Config) -> dt.date:
    """The first UTC day any configured source has data for: the start of the daily partitions."""
    if config.scenario is not None:
        from ingestion.simulator.scenario import load_scenario

        return load_scenario(config.scenario).start_date
    return min(w.start for p in config.pools for w in p.stages).date()


def land_days(config: Config, days: Sequence[dt.date], base: Path | None = None,
              progress: Callable[[str], None] = print) -> list[landing.LandedFile]:
    """Land each day from every daily source of `config`; re-running a day replaces its files.

    Two days land at a time: a day's work is mostly Arrow's casts, Parquet's encoding and fsync, which release
    the GIL (the demo's 21 days: 13 s one at a time, 8 s two at a time on 2 cores). Each day writes its own
    files; days are reported in order, and the first day that fails stops the days not yet started."""
    scenario = None
    if config.scenario is not None:
        from ingestion.simulator.run import land_scenario_day, simulation_for
        from ingestion.simulator.scenario import load_scenario

        scenario = load_scenario(config.scenario)

    def land_day(day: dt.date) -> list[landing.LandedFile]:
        today: list[landing.LandedFile] = []
        if scenario is not None:
            # the replay only for a day to generate: not for one outside the scenario, nor one already landed
            today += land_scenario_day(scenario, day, lambda: simulation_for(config.scenario), base)
        if config.prometheus is not None:
            today += _land_prometheus_day(config, day, base)
        return today

    landed: list[landing.LandedFile] = []
    with Progress(len(days), "landing", progress) as shown, ThreadPoolExecutor(DAYS_AT_ONCE) as pool:
        futures = [pool.submit(land_day, day) for day in days]
        try:
            for day, future in zip(days, futures, strict=True):
                today = future.result()
                landed += today
                shown.step(str(day), sum(f.rows for f in today))
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    wanted = set(days)
    for log in config.logs:
        if log.kind in LAB_KINDS:
            continue
        source, result = read_log(log.kind, log.path, log.pool)
        files = land(result, source, base, days=wanted, progress=progress)
        landed += files
        progress(f"{log.kind} {log.path}: {sum(f.rows for f in files)} rows on {len(wanted)} day(s)")
    return landed + ensure_every_dataset(base)


def ensure_every_dataset(base: Path | None = None) -> list[landing.LandedFile]:
    """Give each date-partitioned dataset that no source has written yet one empty file (day 1970-01-01,
    source `none`), so that the warehouse reads it as an empty table of the contract's columns rather
    than failing: a cluster without request logs, or without lab runs, still builds its marts."""
    written = []
    for name, dataset in DATASETS.items():
        if dataset.partition_column is not None and not any((paths.landing_dir(base) / name).glob("*/*.parquet")):
            written.append(landing.write_day(name, SCHEMA_DAY, landing.empty_table(name), source="none",
                                             pool="none", base=base))
    return written


def _land_prometheus_day(config: Config, day: dt.date, base: Path | None) -> list[landing.LandedFile]:
    """One UTC day of the configured Prometheus: GPU telemetry, and the serving engines' metrics and the
    kube-state-metrics GPU pods where the configuration asks for them (each dataset one input)."""
    from ingestion.sources import prometheus

    prom = config.prometheus
    client = prometheus.PrometheusClient(
        prom.url, bearer_token_env=prom.auth.bearer_token_env, basic_auth_user=prom.auth.basic_auth_user,
        basic_auth_password_env=prom.auth.basic_auth_password_env, verify_tls=prom.auth.verify_tls,
        timeout_s=prom.timeout_s)
    table, quarantine, _ = prometheus.fetch_day(prom.url, day, prom.metrics, prom.pool, step_s=prom.step_s,
                                                selector=prom.selector, client=client)
    landed = [landing.write_day("gpu_samples", day, table, source=prometheus.SOURCE, pool=prom.pool,
                                origin=prom.url, rejected=quarantine, base=base)]
    if prom.serving is not None or prom.kubernetes is not None:
        from ingestion.sources import kube_state, prometheus_k8s
    if prom.serving is not None:
        table, quarantine, _ = prometheus_k8s.fetch_serving_day(client, day, prom.pool, step_s=prom.step_s,
                                                                selector=prom.serving.selector)
        landed.append(landing.write_day("serving_metrics", day, table, source=prometheus.SOURCE, pool=prom.pool,
                                        origin=prom.url, rejected=quarantine, base=base))
    if prom.kubernetes is not None:
        k8s = prom.kubernetes
        names = kube_state.PodLabelNames(tenant=k8s.tenant_label, queue=k8s.queue_label,
                                         workload_type=k8s.workload_type_label)
        table, quarantine, _ = prometheus_k8s.fetch_pods_day(client, day, prom.pool, step_s=prom.step_s,
                                                             selector=k8s.selector, names=names)
        landed.append(landing.write_day("pod_allocations", day, table, source=prometheus.SOURCE, pool=prom.pool,
                                        origin=prom.url, rejected=quarantine, base=base))
    return landed


def land_lab(config: Config, base: Path | None = None) -> list[landing.LandedFile]:
    """Land the configured lab experiments (with their telemetry) on whatever days they ran."""
    landed = []
    for log in config.logs:
        if log.kind in LAB_KINDS:
            source, result = read_log(log.kind, log.path, log.pool)
            landed += land(result, source, base)
    return landed + ensure_every_dataset(base)


def land_pool_tables(config: Config, base: Path | None = None,
                     now: dt.datetime | None = None) -> list[landing.LandedFile]:
    """The stage calendar and GPU inventory of each pool (the simulated cluster's, when it is a source)."""
    landed = []
    if config.scenario is not None:
        from ingestion.simulator.run import land_config
        from ingestion.simulator.scenario import load_scenario

        landed += land_config(load_scenario(config.scenario), base)
    for pool in config.pools:
        landed.append(landing.write_table("stage_calendar", stage_calendar(pool, now), source=CONFIG_SOURCE,
                                          pool=pool.name, base=base))
        if pool.inventory is not None:
            landed.append(landing.write_table("gpu_inventory", read_inventory(pool), source=CONFIG_SOURCE,
                                              pool=pool.name, base=base))
    return landed


def stage_calendar(pool: Pool, now: dt.datetime | None = None) -> pa.Table:
    """The pool's stage windows; a stage still in force ends at the next UTC midnight after `now`."""
    now = now or dt.datetime.now(dt.UTC)
    open_end = dt.datetime.combine(now.astimezone(dt.UTC).date() + dt.timedelta(days=1), dt.time(), dt.UTC)
    rows = [{"stage_id": STAGE_KEYS.index(w.stage_key), "stage_key": w.stage_key, "pool": pool.name,
             "start_ts": w.start, "end_ts": w.end or max(open_end, w.start + dt.timedelta(days=1)), "note": w.note}
            for w in pool.stages]
    return pa.Table.from_pylist(rows, schema=STAGE_CALENDAR.schema)


def read_inventory(pool: Pool) -> pa.Table:
    """The pool's inventory CSV (hostname, gpu_index, gpu_uuid, model_name, memory_gb); `pool` is filled in."""
    columns = [f.name for f in GPU_INVENTORY.schema if f.name != "pool"]
    types = {f.name: f.type for f in GPU_INVENTORY.schema if f.name != "pool"}
    try:
        table = pacsv.read_csv(pool.inventory, convert_options=pacsv.ConvertOptions(column_types=types,
                                                                                    include_columns=columns))
    except (pa.ArrowInvalid, KeyError) as exc:
        raise ValueError(f"{pool.inventory}: not a GPU inventory ({', '.join(columns)}): {exc}") from None
    return table.append_column("pool", pa.array([pool.name] * table.num_rows, pa.string()))
