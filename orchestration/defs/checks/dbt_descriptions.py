"""A sentence for every dbt test's asset check, built from the test's manifest node: what it asserts, on which
columns, and what a failure does. dbt names a generic test after its model, column and arguments
(`unique_combination_of_columns_mart_stage_metrics_pool__stage_id`), which the UI truncates; the description says
it in words.

A test's own `description:` (dbt_project/tests/_singular_tests.yml for the singular tests) comes first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _cols(columns: Any) -> str:
    return ", ".join(f"`{c}`" for c in ([columns] if isinstance(columns, str) else columns))


def _ref(to: str) -> str:
    """`ref('stage_catalog')` -> `stage_catalog`."""
    return "`" + to.removeprefix("ref(").removesuffix(")").strip("'\"") + "`"


def _between(k: Mapping[str, Any]) -> str:
    low, high = k.get("min_value"), k.get("max_value")
    if low is not None and high is not None:
        return f"{_cols(k['column_name'])} lies within [{low}, {high}]"
    return f"{_cols(k['column_name'])} is " + (f">= {low}" if low is not None else f"<= {high}")


ASSERTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "not_null": lambda k: f"{_cols(k['column_name'])} is never null",
    "unique": lambda k: f"{_cols(k['column_name'])} is unique",
    "not_negative": lambda k: f"{_cols(k['column_name'])} is never negative",
    "value_between": _between,
    "accepted_values": lambda k: f"{_cols(k['column_name'])} is one of {', '.join(map(str, k['values']))}",
    "unique_combination_of_columns": lambda k: f"one row per ({_cols(k['combination_of_columns'])})",
    "relationships": lambda k: f"every {_cols(k['column_name'])} exists in {_ref(k['to'])}.`{k['field']}`",
    "relationships_composite": lambda k: f"every ({_cols(k['columns'])}) exists in {_ref(k['to'])}",
    "timestamps_ordered": lambda k: (f"{_cols(k['column_name'])} comes "
                                     f"{'at or ' if k.get('allow_equal', True) else ''}before "
                                     f"{_cols(k['later_column'])}"),
    "matches_pattern": lambda k: f"{_cols(k['column_name'])} matches `{k['pattern']}`",
    "no_gap_longer_than": lambda k: (f"no gap longer than {k['max_gap_minutes']} min between readings "
                                     f"({_cols(k['column_name'])}) of each ({_cols(k['partition_by'])})"),
    "monotonic_counter": lambda k: (f"the counter {_cols(k['column_name'])} never goes down by "
                                    f"{_cols(k['order_by'])} within each ({_cols(k['partition_by'])}), but for a "
                                    f"reset to at most {k['max_rate_per_second']}/s since the previous reading"),
}


def _rule(rule: str | Mapping[str, Any]) -> str:
    """One rule of a column's `meta.expect` (tests/generic/column_values.sql) in words."""
    if isinstance(rule, str):
        return {"not_null": "never null", "not_negative": "never negative"}.get(rule, rule)
    (kind, arg), = rule.items()
    return f"within [{arg[0]}, {arg[1]}]" if kind == "between" else f"one of {', '.join(map(str, arg))}"


def column_rules(model: Mapping[str, Any]) -> str:
    """What a model's `column_values` test asserts: each column's rules (its config.meta.expect, which dbt copies
    into the column's meta)."""
    ruled = [(name, column.get("meta", {}).get("expect")) for name, column in model.get("columns", {}).items()]
    return "; ".join(f"{_cols(name)} {' and '.join(map(_rule, rules))}" for name, rules in ruled if rules)


def describe_test(test: Mapping[str, Any], tested: Mapping[str, Any] | None = None) -> str:
    """The description of a dbt test's asset check (`test`: its manifest node; `tested`: the model's node, whose
    columns' rules a `column_values` test checks)."""
    metadata = test.get("test_metadata") or {}
    kind = metadata.get("name")
    sentences = [test.get("description") or ""]
    if kind in ASSERTS:
        sentences.append(_capitalised(ASSERTS[kind](metadata.get("kwargs", {}))))
    elif kind == "column_values" and tested:
        sentences.append(_capitalised(column_rules(tested)))
    where = test.get("config", {}).get("where")
    if where:
        sentences.append(f"Only rows where {where}.")
    blocking = (test.get("config", {}).get("severity") or "error").lower() == "error"
    effect = ("blocking: a failure stops the dbt step, so the deck is not rebuilt" if blocking
              else "WARN, not blocking")
    label = f"dbt test `{kind}`" if kind else "dbt singular test"
    body = " ".join(s.strip().rstrip(".") + "." for s in sentences if s.strip())
    return (f"{label} ({effect}). {body or test['name'] + '.'} "
            "A failure shows its first failing rows and the query that finds them all.")


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]
