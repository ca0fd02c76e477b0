"""Status claims (issue 19, point 5): a product or project status the deck states is data with an as_of and a
source; {status:ID} renders its text, an unknown id fails the build naming the slide, and the non-blocking check
status_currency warns, naming the slide and the claim, about a claim last checked more than 12 months before the
deck's build date."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from deck_warehouse import WarehouseFactory, five_slide_outline
from pptx import Presentation

from deck_assets import DeckResult, build_deck, checks
from deck_assets.evidence import evidence_paths
from deck_assets.outline import DEFAULT_OUTLINE, OutlineError, load_outline
from deck_assets.status_claims import StatusClaim, cutoff, is_stale, parse_status_claims

AS_OF = dt.date(2026, 12, 6)  # the deck's build date
THIRTEEN_MONTHS_BEFORE = dt.date(2025, 11, 6)
LAST_MONTH = dt.date(2026, 11, 6)
OLD_TEXT = "某调度器处于测试阶段"
NEW_TEXT = "某项目已正式发布"


def _claim(text: str, as_of: dt.date) -> dict[str, str]:
    return {"text": text, "as_of": as_of.isoformat(), "source": f"测试来源（{as_of.isoformat()}）",
            "url": "https://example.org/status"}


def _outline(tmp_path: Path, claims: dict[str, Any], points: dict[str, str], notes: dict[str, str]) -> Path:
    """The five-slide outline with ``claims`` as its status_claims, the last point of each slide of ``points``
    replaced and a sentence appended to the notes of each slide of ``notes`` (slide id -> text)."""
    path = five_slide_outline(tmp_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["status_claims"] = claims
    for spec in raw["slides"]:
        if spec["id"] in points:
            spec["points"] = [*(spec.get("points") or [])[:-1], points[spec["id"]]]
        if spec["id"] in notes:
            spec["notes"] = f"{spec['notes']} {notes[spec['id']]}"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _build(warehouse: WarehouseFactory, tmp_path: Path, outline: Path) -> DeckResult:
    return build_deck(warehouse(), tmp_path / "decks", AS_OF, outline_path=outline)


def _status_check(result: DeckResult, outline: Path) -> checks.CheckResult:
    return checks.run_checks(result.path, result.evidence, load_outline(outline))["status_currency"]


def test_a_claim_thirteen_months_old_warns_naming_the_slide_and_a_current_one_passes(
        warehouse: WarehouseFactory, tmp_path: Path) -> None:
    outline = _outline(tmp_path, {"old-beta": _claim(OLD_TEXT, THIRTEEN_MONTHS_BEFORE),
                                  "new-ga": _claim(NEW_TEXT, LAST_MONTH)},
                       points={"utilization_chart": "现状：{status:old-beta}"},
                       notes={"stage_comparison": "另外，{status:new-ga}。"})
    result = _build(warehouse, tmp_path, outline)

    check = _status_check(result, outline)

    assert not check.passed
    assert [(f.slide, f.shape, f.measured) for f in check.findings] == [(3, "Points", "2025-11-06")]
    assert "old-beta" in check.findings[0].problem and "2026-12-06" in check.findings[0].problem
    assert check.summary["build_date"] == "2026-12-06"
    assert [(c["id"], c["as_of"], c["slides"]) for c in check.summary["status_claims"]] == [
        ("new-ga", "2026-11-06", [2]), ("old-beta", "2025-11-06", [3])]


def test_current_claims_pass_and_their_text_is_on_the_slide_and_in_the_notes(
        warehouse: WarehouseFactory, tmp_path: Path) -> None:
    outline = _outline(tmp_path, {"new-ga": _claim(NEW_TEXT, LAST_MONTH)},
                       points={"utilization_chart": "现状：{status:new-ga}"},
                       notes={"stage_comparison": "另外，{status:new-ga}。"})
    result = _build(warehouse, tmp_path, outline)

    check = _status_check(result, outline)

    assert check.passed and check.findings == []
    prs = Presentation(str(result.path))
    slide3 = "\n".join(s.text_frame.text for s in prs.slides[2].shapes if s.has_text_frame)
    assert f"现状：{NEW_TEXT}" in slide3 and "{status" not in slide3
    assert f"另外，{NEW_TEXT}。" in prs.slides[1].notes_slide.notes_text_frame.text
    assert not [i for i in result.evidence if "status" in str(i.get("placeholder", ""))]  # text, not a number


def test_the_evidence_appendix_lists_the_cited_claims_with_as_of_and_source(
        warehouse: WarehouseFactory, tmp_path: Path) -> None:
    outline = _outline(tmp_path, {"new-ga": _claim(NEW_TEXT, LAST_MONTH),
                                  "unused": _claim("未被引用的声明", LAST_MONTH)},
                       points={}, notes={"stage_comparison": "另外，{status:new-ga}。"})
    result = _build(warehouse, tmp_path, outline)

    markdown = evidence_paths(result.path)[1].read_text(encoding="utf-8")

    assert "## 状态声明" in markdown
    assert f"| new-ga | {NEW_TEXT} | 2026-11-06 | 测试来源（2026-11-06） | https://example.org/status | 2 |" in markdown
    assert "unused" not in markdown


def test_an_unknown_status_id_fails_the_build_naming_the_slide(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    outline = _outline(tmp_path, {"new-ga": _claim(NEW_TEXT, LAST_MONTH)},
                       points={"utilization_chart": "现状：{status:no-such-claim}"}, notes={})

    with pytest.raises(OutlineError, match=r"slide utilization_chart \(points\): \{status:no-such-claim\}: unknown"):
        _build(warehouse, tmp_path, outline)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("source", "", "missing field"),
    ("as_of", "last spring", "is not a date"),
])
def test_a_claim_without_its_source_or_date_fails_naming_the_claim(tmp_path: Path, field: str, value: str,
                                                                    message: str) -> None:
    claim = {**_claim(NEW_TEXT, LAST_MONTH), field: value}
    outline = _outline(tmp_path, {"new-ga": claim}, points={}, notes={"stage_comparison": "{status:new-ga}"})

    with pytest.raises(OutlineError, match=f"status_claims.new-ga.*{message}"):
        load_outline(outline)


@pytest.mark.parametrize(("build", "as_of", "stale"), [
    (dt.date(2026, 12, 6), dt.date(2025, 12, 6), False),  # exactly 12 months: still current
    (dt.date(2026, 12, 6), dt.date(2025, 12, 5), True),
    (dt.date(2026, 12, 6), dt.date(2025, 11, 6), True),  # 13 months
    (dt.date(2028, 2, 29), dt.date(2027, 2, 28), False),  # a 29 February build: 12 months before is 28 February
    (dt.date(2028, 2, 29), dt.date(2027, 2, 27), True),
])
def test_stale_means_more_than_twelve_calendar_months(build: dt.date, as_of: dt.date, stale: bool) -> None:
    claim = StatusClaim("x", NEW_TEXT, as_of, "来源", "https://example.org")
    assert is_stale(claim, build) is stale
    assert cutoff(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)


def test_parse_reads_yaml_dates_and_strings_alike() -> None:
    claims = parse_status_claims({"a": {**_claim(NEW_TEXT, LAST_MONTH), "as_of": dt.date(2026, 11, 6)},
                                  "b": _claim(NEW_TEXT, LAST_MONTH)}, "outline.yaml: status_claims")
    assert claims["a"].as_of == claims["b"].as_of == LAST_MONTH


# ---- the real outline ------------------------------------------------------------------------------------

OUTLINE = load_outline()
RAW = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))


def test_the_real_outline_cites_every_claim_and_each_has_a_date_a_source_and_a_link() -> None:
    cited = {m.group(1) for s in RAW["slides"] for m in re.finditer(r"\{status:([^{}]+)\}", yaml.safe_dump(s))}

    assert cited == set(OUTLINE.status_claims)
    for claim in OUTLINE.status_claims.values():
        assert claim.source and claim.url.startswith("https://"), claim.id
        assert not checks.number_tokens(claim.text), (claim.id, claim.text)  # no number a slide must prove


def test_the_real_outline_states_no_status_outside_its_claims() -> None:
    """The statements issue 19 found dated (p31's next-generation H200, HAMi a sandbox project) are gone, and
    HAMi's CNCF level, DRA's status and the GPU generations are said only through status claims."""
    future = next(s for s in RAW["slides"] if s["id"] == "future_outlook")
    texts = [yaml.safe_dump(s, allow_unicode=True) for s in RAW["slides"]]

    assert not any(re.search(r"下一代[^。；\n]*H200|H200[^。；\n]*下一代", t) for t in texts)
    assert not any(re.search(r"沙箱|sandbox|孵化|incubat|毕业|graduat", t, re.IGNORECASE) for t in texts)
    assert not any(re.search(r"\bGA\b|正式可用|Beta|Alpha", t) for t in texts)
    assert {"gpu-blackwell", "gpu-rubin", "k8s-dra-ga"} <= set(re.findall(r"\{status:([^{}]+)\}",
                                                                          yaml.safe_dump(future)))


def test_the_real_deck_passes_status_currency_on_the_day_it_is_built(tmp_path: Path,
                                                                   warehouse: WarehouseFactory) -> None:
    result = build_deck(warehouse(), tmp_path / "decks", AS_OF)
    check = checks.run_checks(result.path, result.evidence, OUTLINE)["status_currency"]

    assert check.passed, [f.line() for f in check.findings]
    assert {c["id"] for c in check.summary["status_claims"]} == set(OUTLINE.status_claims)
    # a year and a day later every claim is stale: the check names each slide that cites one
    later = checks.check_status_currency(Presentation(str(result.path)), OUTLINE, AS_OF + dt.timedelta(days=366))
    assert not later.passed
    assert {f.slide for f in later.findings} == {s for c in check.summary["status_claims"] for s in c["slides"]}
