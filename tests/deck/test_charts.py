"""Kind `chart`: native charts bound to the stage marts, their values, labels, evidence and fonts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
from deck_warehouse import (
    DATA_STALL,
    DAYS_PER_STAGE,
    FAILURES,
    FRAGMENTATION,
    GPU_MEMORY,
    GPU_SHARING,
    LATENCY,
    LOST_GPU_HOURS,
    METRICS,
    QUEUE_WAIT,
    SCHEDULED_ALLOCATION,
    STAGES,
    TRAINING_TOKENS_PER_GPU_HOUR,
    WORKLOAD_TYPES,
    daily_utilization,
    hourly_share,
    make_warehouse,
)
from pptx import Presentation
from pptx.oxml.ns import qn

from deck_assets import DeckResult, build_deck, checks
from deck_assets.outline import OutlineError, load_outline
from deck_assets.warehouse import WarehouseError

AS_OF = dt.date(2026, 11, 27)
STAGE_NAMES = [name for _, _, name in STAGES]
OUTLINE = load_outline()
NUMBER = {spec.id: i for i, spec in enumerate(OUTLINE.slides, start=1)}
CHART_SLIDES = [spec.id for spec in OUTLINE.slides if spec.kind == "chart"]


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> DeckResult:
    directory = tmp_path_factory.mktemp("charts")
    return build_deck(make_warehouse(directory / "warehouse.duckdb"), directory / "deck", AS_OF)


def _charts(result: DeckResult, slide_id: str) -> list[Any]:
    slide = Presentation(str(result.path)).slides[NUMBER[slide_id] - 1]
    return [s.chart for s in slide.shapes if getattr(s, "has_chart", False) and s.has_chart]


def _series(chart: Any) -> dict[str, list[float | None]]:
    return {s.name: list(s.values) for s in chart.plots[0].series}


def test_the_outline_has_the_chart_slides() -> None:
    assert {"time_sharing_vgpu", "right_sizing", "stage1_results", "binpack", "dynamic_batching", "fair_share",
            "data_results", "training_efficiency", "downtime_results", "always_on"} <= set(CHART_SLIDES)
    assert OUTLINE.slides[NUMBER["stage2_results"] - 1].kind == "bar_chart"  # p14 keeps its bar chart


def test_every_chart_slide_has_a_native_chart(deck: DeckResult) -> None:
    for slide_id in CHART_SLIDES:
        assert _charts(deck, slide_id), f"{slide_id} has no native chart"


def test_stage_charts_show_the_marts_values(deck: DeckResult) -> None:
    (chart,) = _charts(deck, "data_results")
    assert list(chart.plots[0].categories) == STAGE_NAMES
    assert _series(chart) == {"训练作业数据等待占比": pytest.approx(DATA_STALL)}

    (chart,) = _charts(deck, "binpack")
    assert _series(chart) == {"GPU分配率": pytest.approx(SCHEDULED_ALLOCATION),
                              "碎片GPU占比": pytest.approx(FRAGMENTATION)}

    (chart,) = _charts(deck, "dynamic_batching")  # the '(all)' rows, not the service rows
    series = _series(chart)
    for i, name in enumerate(("TTFT p50", "TTFT p95", "TBT p50", "TBT p95")):
        assert series[name] == pytest.approx([row[i] for row in LATENCY])
    assert chart.value_axis._element.find(qn("c:scaling")).find(qn("c:logBase")) is not None

    lost, failures = _charts(deck, "downtime_results")
    assert _series(lost) == {"损失GPU时": pytest.approx(LOST_GPU_HOURS)}
    assert _series(failures) == {"故障次数": pytest.approx(FAILURES)}


def test_stage1_stage2_stage4_charts_show_the_marts_values(deck: DeckResult) -> None:
    (chart,) = _charts(deck, "time_sharing_vgpu")
    assert list(chart.plots[0].categories) == STAGE_NAMES
    assert _series(chart) == {"共享合计": pytest.approx([s for s, _, _ in GPU_SHARING]),
                              "MIG 分片": pytest.approx([m for _, m, _ in GPU_SHARING]),
                              "vGPU 分数卡": pytest.approx([f for _, _, f in GPU_SHARING])}

    (chart,) = _charts(deck, "right_sizing")
    assert _series(chart) == {"平均预留显存": pytest.approx([r for r, _ in GPU_MEMORY]),
                              "平均实际使用显存": pytest.approx([u for _, u in GPU_MEMORY])}

    (chart,) = _charts(deck, "fair_share")
    assert _series(chart) == {"排队等待 平均": pytest.approx([(p50 + p95) / 3 for p50, p95 in QUEUE_WAIT]),
                              "排队等待 p95": pytest.approx([p95 for _, p95 in QUEUE_WAIT])}

    (chart,) = _charts(deck, "training_efficiency")  # the '(all)' rows, in 万 tokens
    assert _series(chart) == {"训练 tokens/GPU小时": pytest.approx([v / 1e4 for v in TRAINING_TOKENS_PER_GPU_HOUR])}
    items = [i for i in deck.evidence if i["source"] == "marts.mart_inference.training_tokens_per_gpu_hour"]
    assert [i["value"] for i in items] == pytest.approx([v / 1e4 for v in TRAINING_TOKENS_PER_GPU_HOUR])
    assert all(i["slide"] == NUMBER["training_efficiency"] and i["scale"] == 0.0001 for i in items)


def test_hourly_profile_by_workload_type(deck: DeckResult) -> None:
    (chart,) = _charts(deck, "always_on")
    assert list(chart.plots[0].categories) == [str(h) for h in range(24)]
    names = dict(zip(WORKLOAD_TYPES, ("训练", "推理", "开发", "评测", "其他"), strict=True))
    assert _series(chart) == {names[w]: pytest.approx([100 * hourly_share(w, h) for h in range(24)])
                              for w in WORKLOAD_TYPES}


def test_timeline_groups_days_under_their_stage(deck: DeckResult) -> None:
    (chart,) = _charts(deck, "stage1_results")
    series = _series(chart)
    expected = [daily_utilization(s, d) for s, _, _ in STAGES for d in range(DAYS_PER_STAGE)]
    assert series["日均GPU利用率"] == pytest.approx([u for u, _ in expected])
    assert series["日均GPU分配率"] == pytest.approx([a for _, a in expected])
    categories = chart.plots[0].categories
    assert categories.depth == 2
    assert [c.label for c in categories.levels[1]] == STAGE_NAMES
    assert categories[0].label == "1/1"


def test_data_labels_are_in_the_evidence_with_tier_and_source(deck: DeckResult) -> None:
    tiers = {t.name for t in OUTLINE.tiers}
    labelled = 0
    for slide_id in CHART_SLIDES:
        items = [i for i in deck.evidence if i["slide"] == NUMBER[slide_id] and i.get("place") == "chart"]
        for chart in _charts(deck, slide_id):
            for _, value in checks._chart_labels(chart):
                labelled += 1
                found = [i for i in items if i["value"] == pytest.approx(value)]
                assert found, f"{slide_id}: label {value} not in the evidence"
                assert all(i["tier"] in tiers and i["source"].startswith("marts.mart_") and i["stage_key"]
                           for i in found)
    assert labelled >= 7 + 14 + 14  # data stalls, scheduling, reliability
    stall = [i for i in deck.evidence
             if i["source"] == "marts.mart_data_stalls.data_stall_percent" and i["place"] == "chart"]
    assert [i["stage_key"] for i in stall] == [k for _, k, _ in STAGES]
    assert all(i["tier"] == "仿真" for i in stall)  # the simulator's pool


def test_chart_fonts_are_at_least_12_pt_with_east_asian_font(deck: DeckResult) -> None:
    for slide_id in CHART_SLIDES:
        for chart in _charts(deck, slide_id):
            sizes = list(checks._chart_sizes(chart))
            assert sizes and min(sizes) >= 12, slide_id
            for node in chart._chartSpace.iter(qn("a:defRPr")):
                assert node.find(qn("a:ea")).get("typeface") == OUTLINE.fonts.east_asian


def test_deck_checks_pass_on_the_chart_slides(deck: DeckResult) -> None:
    results = checks.run_checks(deck.path, deck.evidence, OUTLINE)
    numbers = {NUMBER[s] for s in CHART_SLIDES}
    failed = {name: [f for f in r.findings if f.slide in numbers] for name, r in results.items()}
    assert not {name: f for name, f in failed.items() if f}


def _build(tmp_path: Path, sql: str) -> DeckResult:
    path = make_warehouse(tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    return build_deck(path, tmp_path / "deck", AS_OF)


def test_empty_mart_shows_no_data_and_no_numbers(tmp_path: Path) -> None:
    result = _build(tmp_path, "delete from marts.mart_data_stalls")
    number = NUMBER["data_results"]
    slide = Presentation(str(result.path)).slides[number - 1]
    assert not [s for s in slide.shapes if getattr(s, "has_chart", False) and s.has_chart]
    texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
    assert OUTLINE.missing_value in texts
    assert not [i for i in result.evidence if i["slide"] == number and i.get("place") == "chart"]
    assert checks.run_checks(result.path, result.evidence, OUTLINE)["numbers_in_evidence"].passed


def test_missing_column_names_mart_and_column(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"mart_data_stalls lacks columns \['data_stall_percent'\]"):
        _build(tmp_path, "alter table marts.mart_data_stalls drop column data_stall_percent")


def test_missing_mart_is_named(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match=r"marts\.mart_reliability is missing"):
        _build(tmp_path, "drop table marts.mart_reliability")


def test_chart_without_mart_is_an_outline_error(tmp_path: Path) -> None:
    import yaml

    from deck_assets.outline import DEFAULT_OUTLINE

    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    entry = next(s for s in raw["slides"] if s["id"] == "data_results")
    entry["binds"] = {"layout": "right"}
    path = tmp_path / "outline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(OutlineError, match="data_results.*mart"):
        load_outline(path)


def _cumulative_gains(deck: DeckResult) -> tuple[Any, list[dict[str, Any]]]:
    slide = Presentation(str(deck.path)).slides[NUMBER["achievements"] - 1]
    (chart,) = [s.chart for s in slide.shapes if getattr(s, "has_chart", False) and s.has_chart]
    items = [i for i in deck.evidence if i["slide"] == NUMBER["achievements"] and i.get("place") == "chart"]
    return chart, items


def test_achievements_table_has_the_cumulative_gains_chart_beside_it(deck: DeckResult) -> None:
    chart, items = _cumulative_gains(deck)
    assert list(chart.plots[0].categories) == ["基线", "一", "二", "三", "四", "五", "六"]
    ratios = {name: [v / METRICS[key][2][0] for v in METRICS[key][2]] for key, name in (
        ("gpu_utilization_percent", "GPU利用率"), ("cluster_throughput_per_watt", "集群能效"),
        ("throughput_per_dollar", "每美元token数"))}
    assert _series(chart) == {name: pytest.approx(values) for name, values in ratios.items()}
    assert len(items) == 3 * 7
    assert {(i["source"], i["tier"]) for i in items} == {("marts.mart_stage_comparison.ratio_to_baseline", "仿真")}
    slide = Presentation(str(deck.path)).slides[NUMBER["achievements"] - 1]
    table = next(s for s in slide.shapes if s.has_table)
    frame = next(s for s in slide.shapes if getattr(s, "has_chart", False) and s.has_chart)
    assert frame.left >= table.left + table.width and frame.top == table.top  # beside the table, not over it


def test_a_ratio_takes_the_weaker_tier_of_its_value_and_the_baseline(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "warehouse.duckdb", sources="dcgm-exporter")  # a real pool: 集群实测
    con = duckdb.connect(str(path))
    con.execute("update marts.mart_stage_comparison set evidence_tier = '行业基准' "
                "where stage_id = 0 and metric = 'gpu_utilization_percent'")
    con.close()
    _, items = _cumulative_gains(build_deck(path, tmp_path / "deck", AS_OF))
    assert {i["tier"] for i in items} == {"集群实测", "行业基准"}
    util = [i for i in items if i["text"].startswith("GPU利用率")]
    assert {i["tier"] for i in util} == {"行业基准"} and len(util) == 7
