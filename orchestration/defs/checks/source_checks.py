"""Source health as one Dagster multi-asset check on the landing assets (`source_health`).

It judges the days of the run's partition (the last one for freshness); a run without a partition judges each
dataset's latest landed day. Duplicates block (the warehouse and the deck do not run on a day landed twice);
freshness is ERROR but does not block (the deck states the period it covers); the rest warn.
"""

import datetime as dt
import time
from pathlib import Path

import dagster as dg

from ingestion import paths
from ingestion.config import load_config
from ingestion.from_config import LAB_KINDS
from orchestration import build_state
from orchestration.defs.assets.ingestion import DAILY_DATASETS
from orchestration.defs.checks import labels, reuse, source_health
from orchestration.defs.checks.outcome import Outcome
from orchestration.defs.partitions import WAREHOUSE_POOL, run_days


def evaluate_all(days: list[dt.date] | None, lab_pools: tuple[str, ...] = ()) -> list[Outcome]:
    outcomes = []
    for dataset in DAILY_DATASETS:
        landed = source_health.landed_days(dataset, lab_pools)
        judged = days if days is not None else landed[-1:]
        outcomes.append(source_health.freshness(dataset, days[-1] if days else None, lab_pools))
        outcomes.append(source_health.duplicates(dataset, judged))
        outcomes.append(source_health.quarantine(dataset, judged))
        if dataset in source_health.VOLUME_DATASETS:
            outcomes.append(source_health.volume(dataset, judged, lab_pools))
    scrape_days = days if days is not None else source_health.landed_days("scrape_health")[-1:]
    outcomes.append(source_health.scrape_health(scrape_days))
    return outcomes


def _specs() -> list[dg.AssetCheckSpec]:
    specs = []
    for dataset in DAILY_DATASETS:
        key = dg.AssetKey(["landing", dataset])
        specs += [
            dg.AssetCheckSpec(source_health.FRESHNESS, asset=key, description=labels.alert(
                "The run's last partition day arrived, with rows while a stage of the calendar is in force "
                "(and, for telemetry, from every pool that reported in the week before).")),
            dg.AssetCheckSpec(source_health.DUPLICATES, asset=key, blocking=True, description=labels.gate(
                "No natural key landed twice in the run's days (a re-landed file, a replayed log).", "the warehouse")),
            dg.AssetCheckSpec(source_health.QUARANTINE, asset=key, description=labels.warning(
                f"Rows sent to quarantine in the run's days at most {source_health.QUARANTINE_WARN_SHARE:.0%} of "
                "what landed.")),
        ]
        if dataset in source_health.VOLUME_DATASETS:
            specs.append(dg.AssetCheckSpec(source_health.VOLUME, asset=key, description=labels.warning(
                f"Each day's rows within {source_health.VOLUME_LOW}-{source_health.VOLUME_HIGH} x the median of the "
                f"{source_health.TRAILING_DAYS} days before.")))
    specs.append(dg.AssetCheckSpec(
        source_health.SCRAPES, asset=dg.AssetKey(["landing", "gpu_samples"]), description=labels.warning(
            f"Failed collector scrapes (scrape_health) at most {source_health.SCRAPE_FAILURE_WARN:.0%} of scrapes.")))
    return specs


@dg.multi_asset_check(specs=_specs(), name="source_health", pool=WAREHOUSE_POOL,
                      description="Freshness, duplicates, volume, quarantine and scrape health of the landing data.")
def source_health_checks(context: dg.AssetCheckExecutionContext):
    """Evaluated on the run's days; or, when the landed and quarantined files are those of the last evaluation,
    that evaluation's outcomes (checks/reuse.py)."""
    config = load_config()
    lab_pools = tuple(log.pool for log in config.logs if log.kind in LAB_KINDS)
    days = run_days(context.run.tags)

    def evaluate() -> list:
        started = time.monotonic()
        outcomes = evaluate_all(days, lab_pools)
        context.log.info(f"{len(outcomes)} source health checks in {time.monotonic() - started:.1f}s")
        return outcomes

    judged = build_state.file_stamps((paths.landing_dir(), paths.quarantine_dir()), paths.data_dir())
    inputs = build_state.inputs_identity(CODE[0].parent, CODE, {"days": days, "lab_pools": lab_pools,
                                                                "files": judged})
    yield from reuse.reused_or_evaluated(context, "source_health", inputs, evaluate)


CODE = (Path(__file__), Path(source_health.__file__))
