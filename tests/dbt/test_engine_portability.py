"""The dbt project's SQL is portable: DuckDB-only syntax appears only inside the dispatch macros that give each
engine its own (dbt_project/macros/engine.sql and the `duckdb__` / `default__` variants beside it)."""

from __future__ import annotations

import re

from dbt_warehouse import DBT_PROJECT

# DuckDB's SQL that Spark SQL does not read (or reads otherwise), each with what to use instead.
DUCKDB_ONLY = {
    r"\bunnest\s*\(": "unnest_array() or timestamp_series()",
    r"\brange\s*\(": "timestamp_series()",
    r"\bepoch(_us|_ms)?\s*\(": "epoch_seconds() / seconds_between()",
    r"\bmake_timestamp\s*\(": "to_utc()",
    r"\bat\s+time\s+zone\b": "to_utc()",
    r"\barray_length\s*\(|\blen\s*\(": "array_size()",
    r"\bnot\s+materialized\b": "cte_inlined()",
    r"\bglob\s*\(|\bread_parquet\s*\(": "a source, or landing_has_files()",
    r"\blist\s*\(|\blist_\w+\s*\(": "sorted_distinct_array()",
    r"\*\s*exclude\s*\(": "star_except()",
    r"\bregexp_full_match\s*\(": "regex_full_match()",
    r"::": "cast(... as ...)",
    r"\b(reset|set)\s+threads\b": "engine_threads()",
    r"\bvarchar\b": "dbt.type_string() (Spark has no VARCHAR without a length)",
    r"\\": "a character class ([.]): Spark unescapes a backslash in a string literal",
    r"\b1\.0\s*\*": "cast(... as double): an integer times 1.0 is a decimal on Spark",
}
# Macros whose body is one engine's SQL: the dispatch variants, and dbt-spark's own macros this project overrides.
ENGINE_MACRO = re.compile(r"{%-?\s*macro\s+(duckdb__|default__|spark__|dbt_spark_)\w*\(.*?{%-?\s*endmacro\s*-?%}",
                          re.DOTALL)
COMMENT = re.compile(r"{#.*?#}|--[^\n]*", re.DOTALL)


def duckdb_only(sql: str) -> list[str]:
    """`token: what to use instead` for each DuckDB-only token in `sql` outside comments and engine macros."""
    portable = ENGINE_MACRO.sub("", COMMENT.sub("", sql))
    return [f"{match.group(0)!r}: use {instead}" for pattern, instead in DUCKDB_ONLY.items()
            for match in re.finditer(pattern, portable, re.IGNORECASE)]


def test_models_tests_and_macros_hold_no_duckdb_only_sql():
    files = [path for folder in ("models", "macros", "tests") for path in sorted((DBT_PROJECT / folder).rglob("*.sql"))]
    found = {str(path.relative_to(DBT_PROJECT)): hits for path in files if (hits := duckdb_only(path.read_text()))}
    assert len(files) > 60
    assert found == {}


def test_the_lint_finds_duckdb_only_sql_but_not_in_comments_or_engine_macros():
    model = """
        -- unnest(range(...)) in a comment is fine
        with samples as not materialized (select ts::date as day, list(distinct gpu) as gpus from t)
        select * exclude (day) from samples where regexp_full_match(pod, 'a\\.b')
        {% macro duckdb__threads() %} reset threads {% endmacro %}
    """
    hits = "\n".join(duckdb_only(model))
    for token in ("not materialized", "::", "list(", "exclude (", "regexp_full_match(", "\\\\"):
        assert repr(token)[1:-1] in hits or token in hits, (token, hits)
    assert "unnest" not in hits and "threads" not in hits
