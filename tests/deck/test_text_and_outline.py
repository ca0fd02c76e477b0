"""Pure helpers: sanitising, number formats, outline parsing, text measurement."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deck_assets import measure
from deck_assets.outline import DEFAULT_OUTLINE, SLIDE_KINDS, OutlineError, load_outline
from deck_assets.text import fill, format_change, format_number, sanitize, zh_scale

TEN = ["throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
       "decoding_parallelism", "gpu_utilization_percent", "memory_overhead_gb",
       "cluster_throughput_per_watt", "throughput_per_watt", "throughput_per_dollar"]


def test_sanitize_removes_xml_illegal_and_control_characters() -> None:
    assert sanitize("a\x00b\x08c\x0bd\x1f\x7fe\x85f\ufffe") == "abcdef"
    assert sanitize("line1\nline2\tx") == "line1 line2 x"
    assert sanitize("资源池\r\n甲", single_line=False) == "资源池\n甲"
    assert sanitize("x" * 50, max_len=10) == "x" * 9 + "…"


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [(1234.5, "int", "1,234"), (23.45, "d1", "23.4"), (0.9134, "sig3", "0.913"), (12.34, "sig3", "12.3"),
     (24870.0, "sig3", "24,870"), (-0.04, "d1", "0.0"), (-3.5, "d1", "−3.5"), (None, "d1", "无数据")],
)
def test_format_number(value: float | None, fmt: str, expected: str) -> None:
    assert format_number(value, fmt, "无数据") == expected


def test_format_change_and_zh_scale() -> None:
    assert format_change(236.2) == "+236%"
    assert format_change(-65.04) == "−65.0%"
    assert format_change(0.01) == "0.0%"
    assert zh_scale([8123.0, 24870.0]) == (1e4, "万")
    assert zh_scale([3.2e8]) == (1e8, "亿")
    assert zh_scale([999.0, None]) == (1.0, "")


def test_fill_sanitises_values_and_keeps_unknown_placeholders() -> None:
    assert fill("资源池：{pool}，{unknown}", {"pool": "a\x00b"}) == "资源池：ab，{unknown}"


def test_outline_describes_every_slide_and_the_ten_metrics() -> None:
    """Holds for any slide list the outline has (the content changes; the rules do not)."""
    outline = load_outline()
    assert outline.slides and outline.slides[0].kind == "title"
    assert len({s.id for s in outline.slides}) == len(outline.slides)
    for slide in outline.slides:
        assert slide.kind in SLIDE_KINDS and slide.title and slide.notes
        assert not slide.section or slide.section in outline.sections
        if slide.kind == "metric_table":
            assert slide.binds["metrics"] == TEN
    assert set(TEN) <= set(outline.metrics)
    assert [t.name for t in outline.tiers] == ["集群实测", "实验室实测", "行业基准", "估算", "仿真"]
    assert [t.mark for t in outline.tiers] == ["", "◆", "▲", "○", ""]  # 集群实测 and 仿真: the pool's own tier
    assert list(outline.sections) == ["opening", "baseline", *(f"stage{i}" for i in range(1, 7)), "summary"]
    assert outline.fonts.min_size_pt >= 12


def test_outline_errors_name_the_field(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    raw["slides"] = [{"id": "a", "kind": "bullets", "title": "t"}, {"id": "b", "kind": "pie", "title": "t"}]
    bad = tmp_path / "outline.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OutlineError, match=r"slides\[1\]\.kind: 'pie'"):
        load_outline(bad)
    raw["slides"] = [{"id": "a", "kind": "bullets"}]
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OutlineError, match=r"slides\[0\] \(id a\): missing field 'title'"):
        load_outline(bad)


def test_wrap_keeps_words_together_and_balances_lines() -> None:
    keep = ("软件定义", "优化")
    width = measure.text_width_pt("软件定义优", 14, bold=True)
    assert measure.balanced_wrap("软件定义优化", 14, width, True, keep) == ["软件定义", "优化"]
    assert measure.wrap("abc", 14, 1000) == ["abc"]
    ten = "一" * 10
    assert measure.fit_size([ten], measure.text_width_pt(ten, 20) + 1, 100, 28, 12, max_lines=1) == 20
