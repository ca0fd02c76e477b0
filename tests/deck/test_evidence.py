"""The evidence appendix: a JSON list beside the deck and a Markdown twin a person can read."""

from __future__ import annotations

import json
from pathlib import Path

from deck_assets.evidence import TIERS, evidence_paths, read_evidence, to_markdown, validate, with_basis, write_evidence

ITEMS = [
    {"slide": 2, "text": "23.4%", "value": 23.4, "tier": "集群实测",
     "source": "marts.mart_stage_metrics.gpu_utilization_percent", "stage_key": "baseline"},
    {"slide": 2, "text": "a|b\nc", "value": None, "tier": "估算", "source": "文档化估算：见 notes"},
    {"slide": 5, "text": "1.8 倍", "value": 1.8, "tier": "行业基准", "source": "industry_benchmarks:B01"},
]
META = {"deck": "gpu_efficiency_2026-03-01.pptx", "as_of": "2026-03-01", "pools": ["pool-a", "pool-b"],
        "simulated": True, "tiers": [{"name": t, "mark": "", "note": "n|ote"} for t in TIERS]}


def test_writes_a_json_list_and_a_markdown_twin(tmp_path: Path) -> None:
    deck = tmp_path / "gpu_efficiency_2026-03-01.pptx"
    json_path, md_path = write_evidence(deck, ITEMS, META)

    assert (json_path, md_path) == evidence_paths(deck)
    assert json_path.name == "gpu_efficiency_2026-03-01.pptx.evidence.json"
    assert json.loads(json_path.read_text(encoding="utf-8")) == ITEMS  # extra keys kept
    assert read_evidence(deck) == read_evidence(json_path) == ITEMS
    assert validate(ITEMS) == []
    assert validate([{**ITEMS[0], "tier": "仿真"}]) == []  # the simulated cluster's tier is a tier
    assert not list(tmp_path.glob(".*.tmp"))
    md = md_path.read_text(encoding="utf-8")
    assert "截止日期**：2026-03-01" in md and "模拟数据**：是" in md and "pool-a、pool-b" in md
    assert "## 第 2 页" in md and "## 第 5 页" in md


def test_markdown_cells_escape_pipes_and_newlines() -> None:
    md = to_markdown(ITEMS, META)
    row = next(line for line in md.splitlines() if line.startswith("| a"))

    assert row.startswith("| a\\|b c |")
    table_rows = [line for line in md.splitlines() if line.startswith("|") and "第" not in line]
    widths = {line.replace("\\|", "").count("|") for line in table_rows if "stage_key" in line or "23.4" in line}
    assert len(widths) == 1  # header and rows have the same number of cells


def test_validate_names_bad_items() -> None:
    problems = validate([{"slide": 1, "text": "5", "value": 5, "tier": "猜测", "source": ""}, {"slide": 2}])

    assert any("猜测" in p for p in problems) and any("empty source" in p for p in problems)
    assert any("missing text, value, tier, source" in p for p in problems)


def test_reads_the_old_document_format(tmp_path: Path) -> None:
    path = tmp_path / "d.pptx.evidence.json"
    path.write_text(json.dumps({"items": ITEMS}), encoding="utf-8")

    assert read_evidence(path) == ITEMS


def test_with_basis_names_the_series_behind_each_stage_metric() -> None:
    items = [
        {"slide": 5, "text": "TTFT: 97.9 ms", "value": 97.9, "tier": "集群实测", "source": "s",
         "pool": "k8s", "metric": "ttft_milliseconds", "stage_key": "software"},
        {"slide": 5, "text": "42%", "value": 42.0, "tier": "集群实测", "source": "s"},  # not a stage metric
    ]
    basis = [{"pool": "k8s", "metric": "ttft_milliseconds", "stage_key": "software", "basis": "serving_metrics",
              "series": "prometheus: vllm:time_to_first_token_seconds_bucket", "bound": 12.5, "note": "p50 ..."},
             {"pool": "k8s", "metric": "ttft_milliseconds", "stage_key": "baseline", "basis": "serving_metrics",
              "series": "other", "bound": 1.0, "note": ""}]
    annotated = with_basis(items, basis)
    assert annotated[0]["series"] == "prometheus: vllm:time_to_first_token_seconds_bucket"
    assert (annotated[0]["basis"], annotated[0]["bound"], annotated[0]["basis_note"]) == (
        "serving_metrics", 12.5, "p50 ...")
    assert annotated[1] == items[1]
    assert "series" not in items[0]  # the input is not changed
