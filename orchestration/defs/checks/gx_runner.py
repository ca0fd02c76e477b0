"""Validate a pandas DataFrame with a Great Expectations 1.x suite (pandas datasource, ephemeral context).

GX takes seconds to import, so it is imported on the first validation, never when the code location loads.
A suite is plain data (`Suite` of `Expect`): the expectation's GX class name and its arguments.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

SAMPLE_ROWS = 5  # offending rows shown per failed expectation


@dataclass(frozen=True)
class Expect:
    kind: str  # a class of great_expectations.expectations, e.g. "ExpectColumnValuesToBeBetween"
    kwargs: dict[str, Any]

    def columns(self) -> list[str]:
        kw = self.kwargs
        cols = [kw.get("column"), kw.get("column_A"), kw.get("column_B"), *kw.get("column_list", [])]
        return [c for c in cols if c]

    def describe(self) -> str:
        hidden = ("column", "column_A", "column_B", "column_list", "ignore_row_if")
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if k not in hidden and v is not None)
        return f"{self.kind}({', '.join(self.columns())}{'; ' + args if args else ''})"


@dataclass(frozen=True)
class Suite:
    name: str
    sql: str  # read from the warehouse (read-only) into the DataFrame the suite validates
    id_columns: tuple[str, ...]  # shown beside the offending values: where the problem is
    expectations: tuple[Expect, ...]


@dataclass
class Failure:
    suite: str
    expectation: str
    unexpected_count: int
    element_count: int
    observed: Any = None
    sample_rows: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        where = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in self.sample_rows[:2])
        count = f"{self.unexpected_count} of {self.element_count} rows" if self.element_count else "failed"
        observed = f", observed {self.observed}" if self.observed is not None else ""
        return f"{self.suite}: {self.expectation}: {count}{observed}" + (f" (e.g. {where})" if where else "")


def _gx():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    return gx


def import_in_background() -> None:
    """Start importing Great Expectations (4-5 s of CPU here, warm; about 13 s cold) in a thread, so that a run that
    will validate the marts pays it while a dbt step waits on its dbt process, not after it."""
    threading.Thread(target=_gx, name="import-great-expectations", daemon=True).start()


def records(frame: pd.DataFrame) -> list[dict]:
    """JSON-safe rows (timestamps as ISO strings, NaN as null)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _exception_message(info: Any) -> str | None:
    """GX 1.x nests exception info by metric; the first message found (e.g. a missing column)."""
    if isinstance(info, dict):
        if info.get("exception_message"):
            return str(info["exception_message"])
        for value in info.values():
            message = _exception_message(value)
            if message:
                return message
    return None


def validate(suite: Suite, frame: pd.DataFrame) -> list[Failure]:
    """Run the suite on the frame; one Failure per expectation that did not hold (empty: all passed)."""
    gx = _gx()
    context = gx.get_context(mode="ephemeral")
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    name = f"{suite.name}-{uuid.uuid4().hex[:8]}"
    batch_definition = (context.data_sources.add_pandas(name).add_dataframe_asset(name)
                        .add_batch_definition_whole_dataframe(name))
    gx_suite = gx.ExpectationSuite(name=name)
    for i, expect in enumerate(suite.expectations):
        gx_suite.add_expectation(getattr(gx.expectations, expect.kind)(**expect.kwargs, meta={"index": i}))
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame.reset_index(drop=True)})
    result = batch.validate(gx_suite, result_format={"result_format": "SUMMARY",
                                                     "partial_unexpected_count": SAMPLE_ROWS})
    failures = []
    for item in result.results:  # GX may reorder them: map each back by its index
        expect = suite.expectations[int(item.expectation_config.meta["index"])]
        if item.success:
            continue
        details = item.result or {}
        exception = _exception_message(item.exception_info)
        indices = details.get("partial_unexpected_index_list") or details.get("unexpected_index_list") or []
        indices = [i for i in indices if isinstance(i, int | float)][:SAMPLE_ROWS]
        columns = [c for c in (*suite.id_columns, *expect.columns()) if c in frame.columns]
        sample = records(frame.iloc[[int(i) for i in indices]][list(dict.fromkeys(columns))]) if indices else []
        failures.append(Failure(
            suite=suite.name,
            expectation=expect.describe(),
            unexpected_count=int(details.get("unexpected_count") or (0 if exception is None else len(frame))),
            element_count=int(details.get("element_count") or len(frame)),
            observed=exception or details.get("observed_value"),
            sample_rows=sample,
        ))
    return failures
