"""Cited figures keep the form their source states them in (industry_benchmarks.claim_form): the renderer puts 至多,
不少于, 不超过, 均值 or 中位数 right before the number, a broken claim_form fails the build naming the slide, and the
claim_forms check fails a deck whose text lost the word."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from deck_warehouse import BENCHMARKS_CSV, make_warehouse
from pptx import Presentation

from deck_assets import DeckResult, build_deck, checks
from deck_assets.outline import DEFAULT_OUTLINE, OutlineError, load_outline
from deck_assets.warehouse import CLAIM_FORM_WORDS, WarehouseError, read_snapshot

AS_OF = dt.date(2026, 11, 27)
OUTLINE = load_outline()
NUMBER = {spec.id: i for i, spec in enumerate(OUTLINE.slides, start=1)}
SEED_ROWS = {row["id"]: row for row in csv.DictReader(BENCHMARKS_CSV.open(encoding="utf-8"))}
# Words that already say "up to", "at least", "on average"...: written before a placeholder whose row is not a point
# figure, they would double the word the renderer adds (最高至多, 可达至多, 不低于不少于).
QUALIFIERS = ("至多", "最多", "最高", "可达", "高达", "达到", "不低于", "不少于", "不超过", "超过", "低于", "平均",
              "均值", "中位数", "约")


@pytest.fixture(scope="module")
def warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("claim_forms") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory, warehouse_path: Path) -> DeckResult:
    return build_deck(warehouse_path, tmp_path_factory.mktemp("deck"), AS_OF)


def _bench_items(result: DeckResult, bench_id: str) -> list[dict[str, Any]]:
    return [i for i in result.evidence if i.get("bench_id") == bench_id]


def _slide_text(path: Path, number: int) -> str:
    slide = Presentation(str(path)).slides[number - 1]
    return "\n".join(shape.text_frame.text for shape in slide.shapes if shape.has_text_frame)


def _notes_text(path: Path, number: int) -> str:
    return Presentation(str(path)).slides[number - 1].notes_slide.notes_text_frame.text


def test_the_seed_has_a_known_claim_form_on_every_row() -> None:
    assert {row["claim_form"] for row in SEED_ROWS.values()} <= set(CLAIM_FORM_WORDS)
    assert SEED_ROWS["B04-SGLANG"]["claim_form"] == "up_to"


def test_the_snapshot_reads_claim_form_and_conditions(warehouse_path: Path) -> None:
    bench = read_snapshot(warehouse_path).benchmarks["B04-SGLANG"]
    assert bench.claim_form == "up_to"
    assert bench.conditions == SEED_ROWS["B04-SGLANG"]["conditions"]


def test_an_up_to_figure_renders_with_its_word_and_records_its_form(deck: DeckResult) -> None:
    number = NUMBER["llm_inference_stack"]
    items = _bench_items(deck, "B04-SGLANG")
    assert {(i["slide"], i["place"]) for i in items} == {(number, "points"), (number, "notes")}
    for item in items:
        assert (item["text"], item["claim_form"], item["claim_word"]) == ("6.4", "up_to", "至多")
        assert item["conditions"] == SEED_ROWS["B04-SGLANG"]["conditions"]
    assert "至多 6.4 倍" in _slide_text(deck.path, number)
    assert "至多 6.4 倍" in _notes_text(deck.path, number)


@pytest.mark.parametrize(("slide_id", "bench_id", "shown"), [
    ("challenge_overview", "B00-PAI-UTIL", "均值 10.5%"),
    ("baseline_model", "B00-PAI-REQ", "中位数 0.5 卡"),
    ("downtime_results", "B05-MEGASCALE", "不少于 90%"),
])
def test_other_forms_put_their_word_before_the_number(deck: DeckResult, slide_id: str, bench_id: str,
                                                      shown: str) -> None:
    assert shown in _slide_text(deck.path, NUMBER[slide_id])


def test_every_cited_figure_records_its_form_and_conditions(deck: DeckResult) -> None:
    cited = [i for i in deck.evidence if i.get("bench_id")]
    assert len(cited) > 40
    for item in cited:
        row = SEED_ROWS[item["bench_id"]]
        assert (item["claim_form"], item["conditions"]) == (row["claim_form"], row["conditions"]), item
    point = next(i for i in cited if i["bench_id"] == "B01-MIG-MAX")
    assert "claim_word" not in point  # a point figure carries no word: its configuration is in the text


def test_the_outline_never_doubles_the_word_the_renderer_adds() -> None:
    raw = DEFAULT_OUTLINE.read_text(encoding="utf-8")
    doubled = []
    for match in re.finditer(r"\{bench:([^{}]+)\}", raw):
        bench_id = match.group(1).strip()
        if bench_id not in SEED_ROWS or SEED_ROWS[bench_id]["claim_form"] == "point":
            continue
        before = raw[max(0, match.start() - 8):match.start()].rstrip()
        if before.endswith(QUALIFIERS):
            doubled.append(f"{bench_id}: …{before}{{bench}}")
    assert doubled == []


@pytest.mark.parametrize("broken", ["", "maximum", None])
def test_a_broken_claim_form_fails_the_build_naming_the_slide(tmp_path: Path, broken: str | None) -> None:
    path = make_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(path))
    con.execute("update reference.industry_benchmarks set claim_form = ? where id = 'B04-SGLANG'", [broken])
    con.close()
    with pytest.raises(OutlineError, match=r"slide llm_inference_stack: \{bench:B04-SGLANG\}: benchmark B04-SGLANG "
                                           r"has claim_form '(maximum)?'"):
        build_deck(path, tmp_path / "deck", AS_OF)


def test_a_warehouse_without_claim_form_is_a_clear_error(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(path))
    con.execute("alter table reference.industry_benchmarks drop column claim_form")
    con.close()
    with pytest.raises(WarehouseError, match=r"reference\.industry_benchmarks lacks columns \['claim_form'\]"):
        read_snapshot(path)


def test_the_check_passes_on_the_built_deck(deck: DeckResult) -> None:
    result = checks.run_checks(deck.path, deck.evidence, OUTLINE)["claim_forms"]
    assert result.passed, [f.line() for f in result.findings]
    non_point = [i for i in deck.evidence if i.get("bench_id") and i["claim_form"] != "point"]
    assert result.summary["cited_figures_checked"] == len(non_point) > 10


def _drop_word(path: Path, out: Path, word_and_number: str, number_only: str, notes: bool = False) -> Path:
    """A copy of the deck with ``word_and_number`` written as ``number_only`` in every run of the slides (or notes)."""
    prs = Presentation(str(path))
    for slide in prs.slides:
        frames = [slide.notes_slide.notes_text_frame] if notes else \
            [s.text_frame for s in slide.shapes if s.has_text_frame]
        for frame in frames:
            for paragraph in frame.paragraphs:
                for run in paragraph.runs:
                    run.text = run.text.replace(word_and_number, number_only)
    prs.save(str(out))
    return out


def test_the_check_fails_naming_the_slide_when_the_slide_text_lost_the_word(deck: DeckResult, tmp_path: Path) -> None:
    edited = _drop_word(deck.path, tmp_path / "edited.pptx", "至多 6.4", "6.4")
    result = checks.check_claim_forms(Presentation(str(edited)), deck.evidence)
    assert not result.passed
    assert [(f.slide, f.problem) for f in result.findings] == [
        (NUMBER["llm_inference_stack"], "B04-SGLANG: 6.4 is shown without its claim form 「至多」 (up_to)")]


def test_the_check_fails_when_the_notes_lost_the_word(deck: DeckResult, tmp_path: Path) -> None:
    edited = _drop_word(deck.path, tmp_path / "edited.pptx", "不超过 3.5", "3.5", notes=True)
    result = checks.check_claim_forms(Presentation(str(edited)), deck.evidence)
    assert [(f.slide, f.shape) for f in result.findings] == [(NUMBER["fault_tolerance"], "Notes")]
    assert "B05-CHECKFREQ" in result.findings[0].problem


def test_the_check_fails_on_evidence_whose_form_the_slide_does_not_show(deck: DeckResult) -> None:
    evidence = [dict(i, claim_form="up_to") if i.get("bench_id") == "B01-MIG-MAX" else i for i in deck.evidence]
    result = checks.check_claim_forms(Presentation(str(deck.path)), evidence)
    assert not result.passed
    assert {(f.slide, f.problem.split(":")[0]) for f in result.findings} == {
        (NUMBER["mig_architecture"], "B01-MIG-MAX")}


def test_the_check_fails_on_an_unknown_form_in_the_evidence(deck: DeckResult) -> None:
    evidence = [dict(i, claim_form="maximum") if i.get("bench_id") == "B04-SGLANG" else i for i in deck.evidence]
    result = checks.check_claim_forms(Presentation(str(deck.path)), evidence)
    assert {f.slide for f in result.findings} == {NUMBER["llm_inference_stack"]}
    assert all("B04-SGLANG: claim_form 'maximum'" in f.problem for f in result.findings)


def test_a_number_inside_a_longer_one_does_not_count(tmp_path: Path, deck: DeckResult) -> None:
    """「至多 50」 does not show 「至多 5」: the word must stand before this very number."""
    item = {"slide": 1, "text": "5", "value": 5.0, "tier": "行业基准", "source": "x", "bench_id": "X",
            "claim_form": "up_to", "place": "points"}
    prs = Presentation(str(deck.path))
    box = prs.slides[0].shapes.add_textbox(0, 0, 100, 100)
    box.text_frame.text = "至多 50 倍"
    assert not checks.check_claim_forms(prs, [item]).passed
    box.text_frame.text = "至多 5 倍"
    assert checks.check_claim_forms(prs, [item]).passed


def test_an_outline_sentence_cannot_drop_the_form(tmp_path: Path, warehouse_path: Path) -> None:
    """Whatever the outline writes around the placeholder, the rendered figure carries its word."""
    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    slide = next(s for s in raw["slides"] if s["id"] == "day_night")
    slide["points"][-1] = "Lyra 提升 {bench:B06-LYRA}%"
    path = tmp_path / "outline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = build_deck(warehouse_path, tmp_path / "deck", AS_OF, outline_path=path)
    assert "Lyra 提升 至多 25%" in _slide_text(result.path, NUMBER["day_night"])
