"""Check steps that report their last evaluation's outcomes when their inputs are those it was made on.

Source health judges the landed files; the marts' expectations judge the marts, which the dbt steps' build records
(orchestration/build_state.py) identify. When a run's inputs are those of the step's last evaluation (a re-run with
no new data), evaluating again would give the same outcomes: the step reports those, each with the run that
evaluated it, and records them in this run's quality report, so the deck counts every check. The check's own code
is part of its inputs. The warehouse_rebuild job always evaluates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from ingestion import paths
from orchestration import build_state
from orchestration.defs.checks import report
from orchestration.defs.checks.outcome import Outcome


def reused_or_evaluated(context: Any, step: str, inputs: str, evaluate: Callable[[], list[Outcome]]
                        ) -> Iterator[Any]:
    """The step's check results: its last evaluation's outcomes when `inputs` (build_state.inputs_identity of the
    check's code and what it judges) are what that evaluation was made on (and it covered every check selected
    now), else `evaluate()`'s, whose inputs are then recorded."""
    last = build_state.recorded(step).get(build_state.ALL_DAYS)
    reused = None
    if last is not None and last[0] == inputs and not build_state.forced(context.run.job_name):
        reused = outcomes_of(context, last[1])
        if len(reused) < len(context.selected_asset_check_keys):
            reused = None  # that evaluation covered fewer checks than are selected now
    if reused is not None:
        context.log.info(f"{step}: inputs unchanged since run {last[1][:8]}: its {len(reused)} outcomes reported")
    outcomes = reused if reused is not None else evaluate()
    report.record(context, outcomes)
    for outcome in outcomes:
        yield outcome.to_result()
    if reused is None:
        build_state.record(step, {build_state.ALL_DAYS: inputs}, context.run.run_id)


def outcomes_of(context: Any, run_id: str) -> list[Outcome]:
    """The outcomes run `run_id` recorded for the checks selected in this step, each marked with that run."""
    wanted = {(key.asset_key.to_user_string(), key.name) for key in context.selected_asset_check_keys}
    return [replace(o, metadata={"outcome_of_run": run_id})
            for o in report.read(paths.warehouse_path(), run_id) if (o.asset, o.check_name) in wanted]
