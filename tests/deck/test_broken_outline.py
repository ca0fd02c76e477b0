"""Break the real outline (deck_assets/outline.yaml) one slide at a time: the build or the checks must say so,
naming the slide."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from deck_warehouse import make_warehouse

from deck_assets import DeckResult, build_deck, checks
from deck_assets.outline import DEFAULT_OUTLINE, OutlineError, load_outline

AS_OF = dt.date(2026, 11, 27)
OUTLINE = load_outline()
NUMBER = {spec.id: i for i, spec in enumerate(OUTLINE.slides, start=1)}


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("broken") / "warehouse.duckdb")


def _build(tmp_path: Path, warehouse: Path, mutate: Callable[[dict[str, Any]], None] | None = None) -> DeckResult:
    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    if mutate is not None:
        mutate(raw)
    path = tmp_path / "outline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return build_deck(warehouse, tmp_path / "deck", AS_OF, outline_path=path)


def _slide(raw: dict[str, Any], slide_id: str) -> dict[str, Any]:
    return next(s for s in raw["slides"] if s["id"] == slide_id)


def _check(result: DeckResult) -> dict[str, checks.CheckResult]:
    return checks.run_checks(result.path, result.evidence, OUTLINE)


def _failures(results: dict[str, checks.CheckResult]) -> set[tuple[str, int | None]]:
    return {(name, f.slide) for name, r in results.items() for f in r.findings}


def test_the_real_outline_passes_every_check(tmp_path: Path, warehouse_path: Path) -> None:
    results = _check(_build(tmp_path, warehouse_path))
    assert "tier_labels" in results and "numbers_in_evidence" in results
    assert _failures(results) == set()
    assert all(r.passed for r in results.values())


@pytest.mark.parametrize(("slide_id", "repeat"), [
    ("binpack", 100),  # 400 characters: too long for the left column of a chart slide
    ("rdma_network", 300),  # a full-width bullets slide holds 400 at 12 pt; 1200 do not fit
])
def test_an_over_long_bullet_fails_naming_the_slide(tmp_path: Path, warehouse_path: Path, slide_id: str,
                                                    repeat: int) -> None:
    def mutate(raw: dict[str, Any]) -> None:
        _slide(raw, slide_id)["points"].append("无损网络" * repeat)

    try:
        result = _build(tmp_path, warehouse_path, mutate)
    except OutlineError as error:  # the guard: bullets never shrink below 12 pt
        assert f"slide {slide_id}: the points do not fit" in str(error)
    else:  # it built: then the overflow check must catch it
        overflow = _check(result)["text_overflow"]
        assert not overflow.passed and NUMBER[slide_id] in overflow.slides


@pytest.mark.parametrize("slide_id", ["challenge_overview", "binpack"])
def test_a_word_too_long_for_its_line_fails_naming_the_slide_and_the_word(tmp_path: Path, warehouse_path: Path,
                                                                          slide_id: str) -> None:
    word = "PagedAttention" * 12  # wider than the slide at 12 pt: it would break mid-word

    def mutate(raw: dict[str, Any]) -> None:
        _slide(raw, slide_id)["points"].append(f"启用 {word} 技术")

    with pytest.raises(OutlineError, match=f"slide {slide_id}: .*too long for a line: {word}"):
        _build(tmp_path, warehouse_path, mutate)


def test_removed_notes_fail_titles_and_notes(tmp_path: Path, warehouse_path: Path) -> None:
    def mutate(raw: dict[str, Any]) -> None:
        _slide(raw, "parallel_fs")["notes"] = ""

    try:
        result = _build(tmp_path, warehouse_path, mutate)
    except OutlineError as error:  # refusing the outline is as good, if it names the slide
        assert "parallel_fs" in str(error)
        return
    check = _check(result)["titles_and_notes"]
    assert not check.passed
    assert [(f.slide, f.problem) for f in check.findings] == [(NUMBER["parallel_fs"], "no speaker notes")]


def test_a_typed_number_fails_numbers_in_evidence(tmp_path: Path, warehouse_path: Path) -> None:
    def mutate(raw: dict[str, Any]) -> None:
        _slide(raw, "parallel_fs")["points"].append("利用率提升 37%")

    check = _check(_build(tmp_path, warehouse_path, mutate))["numbers_in_evidence"]
    assert not check.passed
    assert [(f.slide, f.problem) for f in check.findings] == [
        (NUMBER["parallel_fs"], "number 37 is not in the evidence")]


def test_a_changed_title_fails_structure(tmp_path: Path, warehouse_path: Path) -> None:
    def mutate(raw: dict[str, Any]) -> None:
        _slide(raw, "fair_share")["title"] = "公平控制器设计"

    check = _check(_build(tmp_path, warehouse_path, mutate))["structure"]
    assert not check.passed
    assert [(f.slide, f.measured, f.allowed) for f in check.findings] == [
        (NUMBER["fair_share"], "公平控制器设计", "公平控制器实现")]
