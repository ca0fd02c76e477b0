"""The evidence appendix beside a deck: ``<deck>.pptx.evidence.json`` and its Markdown twin.

The JSON file is a list of objects, one per number shown on a slide::

    [{"slide": 3, "text": "42.1%", "value": 0.421, "tier": "集群实测",
      "source": "marts.mart_stage_metrics.gpu_util", ...extra keys...}, ...]

``tier`` is one of ``TIERS``; ``source`` names the mart and column, or the citation. Extra keys
(``pool``, ``stage_key``, ``metric``, ``place``...) are kept. Deck-level facts (as_of, pools, sources,
simulated, the tier legend, the product/project status claims the deck cites with their as_of and source) go in
the header of the Markdown twin ``<deck>.pptx.evidence.md``, a table per slide for a person to read.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deck_assets.files import atomic_write

TIERS = ("集群实测", "实验室实测", "行业基准", "估算", "仿真")  # DESIGN.md; 仿真: from the simulated cluster
BENCH_TIER = "行业基准"  # a cited figure (reference.industry_benchmarks)
ESTIMATE_TIER = "估算"  # a value the warehouse lacks
REQUIRED_KEYS = ("slide", "text", "value", "tier", "source")
MD_CELL_MAX = 200


def evidence_paths(deck_path: Path) -> tuple[Path, Path]:
    """(json, md) beside ``deck_path``."""
    deck_path = Path(deck_path)
    return (deck_path.with_name(deck_path.name + ".evidence.json"),
            deck_path.with_name(deck_path.name + ".evidence.md"))


def validate(items: Iterable[Mapping[str, Any]]) -> list[str]:
    """Problems with the items (missing keys, unknown tier, empty source); empty when all is well."""
    problems = []
    for index, item in enumerate(items):
        missing = [k for k in REQUIRED_KEYS if k not in item]
        if missing:
            problems.append(f"item {index}: missing {', '.join(missing)}")
            continue
        if item["tier"] not in TIERS:
            problems.append(f"item {index} (slide {item['slide']}, {item['text']!r}): tier {item['tier']!r} "
                            f"is not one of {', '.join(TIERS)}")
        if not str(item["source"]).strip():
            problems.append(f"item {index} (slide {item['slide']}, {item['text']!r}): empty source")
    return problems


def _cell(value: Any) -> str:
    """One Markdown table cell: no pipes, no newlines, bounded length."""
    if value is None:
        text = ""
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    text = " ".join(text.split())
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")
    if len(text) > MD_CELL_MAX:
        text = text[: MD_CELL_MAX - 1] + "…"
    return text


def to_markdown(items: list[Mapping[str, Any]], meta: Mapping[str, Any] | None = None) -> str:
    """A header with the deck's facts and the tier legend, then a table per slide."""
    meta = dict(meta or {})
    deck = meta.pop("deck", "deck")
    tiers = meta.pop("tiers", None) or []
    claims = meta.pop("status_claims", None) or []
    lines = [f"# 证据附录 · {_cell(deck)}", ""]
    labels = {"as_of": "截止日期", "pool": "详情资源池", "pools": "资源池", "sources": "数据来源",
              "simulated": "模拟数据", "warehouse": "数据仓库",
              "engine": "建模引擎"}
    for key, value in meta.items():
        if isinstance(value, (list, tuple)):
            value = "、".join(str(v) for v in value)
        elif isinstance(value, bool):
            value = "是（模拟集群）" if value else "否"
        lines.append(f"- **{_cell(labels.get(key, key))}**：{_cell(value)}")
    lines.append(f"- **条目数**：{len(items)}")
    if tiers:
        lines += ["", "## 证据等级", "", "| 等级 | 标记 | 说明 |", "|---|---|---|"]
        for tier in tiers:
            lines.append(f"| {_cell(tier.get('name'))} | {_cell(tier.get('mark'))} | {_cell(tier.get('note'))} |")
    if claims:
        lines += ["", "## 状态声明（产品与项目现状，核对日期与来源）", "",
                  "| 编号 | 内容 | 核对日期 | 来源 | 链接 | 页 |", "|---|---|---|---|---|---|"]
        for claim in claims:
            pages = "、".join(str(s) for s in claim.get("slides") or [])
            lines.append("| " + " | ".join(_cell(claim.get(k)) for k in ("id", "text", "as_of", "source", "url"))
                         + f" | {_cell(pages)} |")
    by_slide: dict[Any, list[Mapping[str, Any]]] = {}
    for item in items:
        by_slide.setdefault(item.get("slide"), []).append(item)
    base = set(REQUIRED_KEYS)
    for slide in sorted(by_slide, key=lambda s: (not isinstance(s, int), s if isinstance(s, int) else str(s))):
        rows = by_slide[slide]
        extra_keys = sorted({k for r in rows for k in r if k not in base})
        lines += ["", f"## 第 {_cell(slide)} 页", "",
                  "| 文本 | 数值 | 等级 | 来源 |" + "".join(f" {_cell(k)} |" for k in extra_keys),
                  "|---|---|---|---|" + "---|" * len(extra_keys)]
        for r in rows:
            cells = [r.get("text"), r.get("value"), r.get("tier"), r.get("source")] + [r.get(k) for k in extra_keys]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def with_basis(items: Iterable[dict[str, Any]], basis_rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items, each one about a metric of a pool and stage given where the warehouse read it
    (``marts.mart_metric_basis``): ``basis`` (the dataset), ``series`` (e.g. ``prometheus:
    vllm:time_to_first_token_seconds_bucket``), ``bound`` (± of a percentile read from histogram buckets) and
    ``basis_note`` (how it was computed)."""
    by_key = {(r["pool"], r["metric"], r["stage_key"]): r for r in basis_rows}
    out = []
    for item in items:
        row = by_key.get((item.get("pool"), item.get("metric"), item.get("stage_key")))
        if row is not None:
            item = {**item, "basis": row["basis"], "series": row["series"], "bound": row["bound"],
                    "basis_note": row["note"]}
        out.append(item)
    return out


def write_evidence(deck_path: Path, items: list[dict[str, Any]], meta: Mapping[str, Any] | None = None
                   ) -> tuple[Path, Path]:
    """Write the JSON list and its Markdown twin beside ``deck_path`` atomically; return their paths."""
    json_path, md_path = evidence_paths(deck_path)
    atomic_write(json_path, json.dumps(list(items), ensure_ascii=False, indent=2, default=str).encode())
    atomic_write(md_path, to_markdown(items, meta).encode())
    return json_path, md_path


def read_evidence(path: Path) -> list[dict[str, Any]]:
    """The list from ``<deck>.pptx.evidence.json`` (or from the deck path itself)."""
    path = Path(path)
    if path.suffix == ".pptx":
        path = evidence_paths(path)[0]
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):  # the pre-list format: {"items": [...], ...}
        data = data.get("items", [])
    if not isinstance(data, list):
        raise ValueError(f"{path}: the evidence appendix is not a JSON list")
    return data
