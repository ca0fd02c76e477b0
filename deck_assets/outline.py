"""Parse ``outline.yaml`` (the deck as data) into typed records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deck_assets.status_claims import StatusClaim, claim_uses, parse_status_claims

DEFAULT_OUTLINE = Path(__file__).with_name("outline.yaml")
SLIDE_KINDS = ("title", "metric_table", "bar_chart", "delta_cards", "lab_evidence", "bullets", "diagram", "chart")
DIAGRAM_LAYOUTS = ("right", "full")
FULL_DIAGRAM_MAX_POINTS = 2
NUMBER_FORMATS = ("int", "d1", "d2", "sig3")


class OutlineError(ValueError):
    """The outline file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class MetricSpec:
    key: str
    label: str
    unit: str
    format: str
    zh_scale: bool = False


@dataclass(frozen=True)
class Tier:
    name: str
    mark: str
    color: str
    note: str


@dataclass(frozen=True)
class SourceSpec:
    label: str


@dataclass(frozen=True)
class Fonts:
    latin: str
    east_asian: str
    east_asian_fallback: str
    min_size_pt: int


@dataclass(frozen=True)
class SlideSpec:
    id: str
    kind: str
    title: str
    points: tuple[str, ...]
    binds: dict[str, Any]
    notes: str
    subtitle: str = ""
    section: str = ""  # a key of Outline.sections: content slides show its name in a coloured band
    # sub-points of each point (same length as points; empty tuples where a point has none)
    sub_points: tuple[tuple[str, ...], ...] = ()

    def items(self) -> list[tuple[str, tuple[str, ...]]]:
        """(point, its sub-points) pairs."""
        subs = self.sub_points or tuple(() for _ in self.points)
        return list(zip(self.points, subs, strict=True))


@dataclass(frozen=True)
class Talk:
    """Spoken length: the speaker notes read at `chars_per_minute` should last about `target_minutes`."""

    target_minutes: float = 45.0
    chars_per_minute: float = 220.0
    tolerance: float = 0.15  # allowed relative deviation from the target


@dataclass(frozen=True)
class Spread:
    """How a gain over the baseline shows its day-to-day spread (mart_stage_comparison.ratio_low / ratio_high):
    ``range`` after a ratio whose interval excludes 1, ``no_change`` when it includes 1 (a gain that cannot be told
    from day-to-day noise), ``too_few_days`` when a side has under two days; ``flat`` replaces a KPI card's change."""

    range: str
    no_change: str
    too_few_days: str
    flat: str


@dataclass(frozen=True)
class AdverseRule:
    """A value that can move against the story: a metric (key of `metrics`) or a stage mart's column
    ("MART.COLUMN" of `mart_values`), which way is better, and the reason the marts give when it gets worse."""

    key: str
    label: str
    higher_is_better: bool | None  # None: the metric's own (mart_stage_comparison.higher_is_better)
    reason: str


@dataclass(frozen=True)
class Adverse:
    """{adverse:STAGE}: a sentence per rule whose value in STAGE is worse than in the stage before."""

    min_change: float = 0.05  # relative: smaller moves are not called out
    sentence: str = "{label}较上一阶段变差（{previous} → {current}）：{reason}"
    rules: tuple[AdverseRule, ...] = ()


@dataclass(frozen=True)
class Outline:
    simulated_notice: str
    simulated_caveat: str  # {caveat} in text when the detailed pool's data is simulated
    footer: str
    missing_value: str
    focus_pool_note: str
    tier_legend_title: str
    no_mark: str
    fonts: Fonts
    keep_together: tuple[str, ...]
    sources: dict[str, SourceSpec]
    tiers: tuple[Tier, ...]
    metrics: dict[str, MetricSpec]
    spread: Spread  # deck.spread: how a gain's day-to-day spread is worded
    slides: tuple[SlideSpec, ...] = field(default_factory=tuple)
    talk: Talk = field(default_factory=Talk)
    adverse: Adverse = field(default_factory=Adverse)
    sections: dict[str, str] = field(default_factory=dict)  # section key -> name shown in the band
    # "mart.column" -> how {mart:MART:STAGE:COLUMN} shows a stage mart's value (label = the column)
    mart_values: dict[str, MetricSpec] = field(default_factory=dict)
    # id -> a product/project status claim that text cites as {status:ID} (deck_assets.status_claims)
    status_claims: dict[str, StatusClaim] = field(default_factory=dict)

    def tier(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return Tier(name=name, mark="?", color="8A8A8A", note="")

    def weakest_tier(self, names: list[str]) -> str:
        """The weakest of several tiers (later in the outline's list is weaker)."""
        order = {t.name: i for i, t in enumerate(self.tiers)}
        return max(names, key=lambda n: order.get(n, len(order)))

    def metric(self, key: str, fallback_unit: str = "") -> MetricSpec:
        return self.metrics.get(key) or MetricSpec(key=key, label=key, unit=fallback_unit, format="sig3")


def _require(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] is None:
        raise OutlineError(f"{where}: missing field '{key}'")
    return data[key]


def load_outline(path: Path = DEFAULT_OUTLINE) -> Outline:
    # libyaml's loader where PyYAML has it (the outline is read at every deck build: 0.15 s against 0.02 s)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(raw, dict):
        raise OutlineError(f"{path}: top level must be a mapping")
    deck = _require(raw, "deck", str(path))
    fonts = _require(raw, "fonts", str(path))
    metrics = {key: _metric(key, spec, f"{path}: metrics.{key}", require_label=True)
               for key, spec in _require(raw, "metrics", str(path)).items()}
    mart_values = {key: _metric(key, spec, f"{path}: mart_values.{key}", require_label=False)
                   for key, spec in (raw.get("mart_values") or {}).items()}
    sections = raw.get("sections") or {}
    if not isinstance(sections, dict):
        raise OutlineError(f"{path}: sections must be a mapping of key -> name")
    sections = {str(k): str(v) for k, v in sections.items()}
    slides = [_slide(entry, i, f"{path}: slides[{i}]", sections)
              for i, entry in enumerate(_require(raw, "slides", str(path)))]
    return Outline(
        simulated_notice=str(_require(deck, "simulated_notice", f"{path}: deck")),
        simulated_caveat=str(_require(deck, "simulated_caveat", f"{path}: deck")),
        footer=str(_require(deck, "footer", f"{path}: deck")),
        missing_value=str(_require(deck, "missing_value", f"{path}: deck")),
        focus_pool_note=str(deck.get("focus_pool_note", "")),
        tier_legend_title=str(deck.get("tier_legend_title", "")),
        no_mark=str(deck.get("no_mark", "")),
        fonts=Fonts(
            latin=str(fonts["latin"]),
            east_asian=str(fonts["east_asian"]),
            east_asian_fallback=str(fonts["east_asian_fallback"]),
            min_size_pt=int(fonts["min_size_pt"]),
        ),
        keep_together=tuple(str(w) for w in (raw.get("typography") or {}).get("keep_together") or ()),
        sources={k: SourceSpec(str(v["label"]))
                 for k, v in _require(raw, "sources", str(path)).items()},
        tiers=tuple(Tier(str(t["name"]), str(t.get("mark", "")), str(t.get("color", "000000")),
                         str(t.get("note", ""))) for t in _require(raw, "tiers", str(path))),
        metrics=metrics,
        mart_values=mart_values,
        slides=tuple(slides),
        talk=Talk(**{k: float(v) for k, v in (deck.get("talk") or {}).items()}),
        spread=Spread(**{k: str(_require(_require(deck, "spread", f"{path}: deck"), k, f"{path}: deck.spread"))
                         for k in ("range", "no_change", "too_few_days", "flat")}),
        adverse=_adverse(raw.get("adverse_notes") or {}, metrics, mart_values, path),
        sections=sections,
        status_claims=_status_claims(raw, slides, path),
    )


def _adverse(raw: dict[str, Any], metrics: dict[str, MetricSpec], mart_values: dict[str, MetricSpec],
             path: Path) -> Adverse:
    """adverse_notes: {min_change, sentence, rules: {KEY: {reason, label?, better?}}}; a KEY that is neither a
    metric nor a mart value, or a mart value without label and better, fails naming it."""
    rules = []
    for key, rule in (raw.get("rules") or {}).items():
        where = f"{path}: adverse_notes.rules.{key}"
        if key in metrics:
            label, better = str(rule.get("label") or metrics[key].label), rule.get("better")
        elif key in mart_values:
            label, better = str(_require(rule, "label", where)), _require(rule, "better", where)
        else:
            raise OutlineError(f"{where}: not a key of metrics nor of mart_values")
        if better not in (None, "higher", "lower"):
            raise OutlineError(f"{where}: better must be higher or lower, not {better!r}")
        rules.append(AdverseRule(str(key), label, None if better is None else better == "higher",
                                 str(_require(rule, "reason", where))))
    defaults = Adverse()
    return Adverse(float(raw.get("min_change", defaults.min_change)), str(raw.get("sentence", defaults.sentence)),
                   tuple(rules))


def _status_claims(raw: dict[str, Any], slides: list[SlideSpec], path: Path) -> dict[str, StatusClaim]:
    """The top-level status_claims; a {status:ID} of a slide that names no claim fails, naming the slide."""
    try:
        claims = parse_status_claims(raw.get("status_claims"), f"{path}: status_claims")
    except ValueError as exc:
        raise OutlineError(str(exc)) from None
    for use in claim_uses(slides):
        if use.claim_id not in claims:
            raise OutlineError(f"{path}: slide {use.slide_id} ({use.place}): {{status:{use.claim_id}}}: unknown "
                               f"status claim id (not in the top-level status_claims {sorted(claims)})")
    return claims


def _metric(key: str, spec: Any, where: str, *, require_label: bool) -> MetricSpec:
    if not isinstance(spec, dict):
        raise OutlineError(f"{where}: must be a mapping (label, unit, format)")
    fmt = str(spec.get("format", "sig3"))
    if fmt not in NUMBER_FORMATS:
        raise OutlineError(f"{where}.format: '{fmt}' is not one of {NUMBER_FORMATS}")
    label = str(_require(spec, "label", where)) if require_label else str(spec.get("label", key))
    return MetricSpec(key, label, str(spec.get("unit", "")), fmt, zh_scale=spec.get("scale") == "zh")


def _points(raw: Any, where: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """``points``: strings, or mappings {text: str, sub: [str, ...]} (a point with sub-points)."""
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        raise OutlineError(f"{where}.points: must be a list")
    texts: list[str] = []
    subs: list[tuple[str, ...]] = []
    for j, item in enumerate(raw):
        if isinstance(item, dict):
            unknown = set(item) - {"text", "sub"}
            if unknown:
                raise OutlineError(f"{where}.points[{j}]: unknown keys {sorted(unknown)} (use text, sub)")
            texts.append(str(_require(item, "text", f"{where}.points[{j}]")))
            sub = item.get("sub") or []
            if not isinstance(sub, list) or any(isinstance(x, (dict, list)) for x in sub):
                raise OutlineError(f"{where}.points[{j}].sub: must be a list of strings")
            subs.append(tuple(str(x) for x in sub))
        elif isinstance(item, (list, tuple)) or item is None:
            raise OutlineError(f"{where}.points[{j}]: a string or {{text, sub}} mapping")
        else:
            texts.append(str(item))
            subs.append(())
    return tuple(texts), tuple(subs)


def _slide(entry: Any, i: int, where: str, sections: dict[str, str]) -> SlideSpec:
    if not isinstance(entry, dict):
        raise OutlineError(f"{where}: must be a mapping")
    kind = str(_require(entry, "kind", where))
    if kind not in SLIDE_KINDS:
        raise OutlineError(f"{where}.kind: '{kind}' is not one of {SLIDE_KINDS}")
    slide_id = str(entry.get("id", f"slide{i + 1}"))
    where = f"{where} (id {slide_id})"
    binds = entry.get("binds") or {}
    if not isinstance(binds, dict):
        raise OutlineError(f"{where}.binds: must be a mapping")
    section = str(entry.get("section") or "")
    if section and section not in sections:
        raise OutlineError(f"{where}.section: '{section}' is not a key of the top-level sections "
                           f"{sorted(sections)}")
    points, sub_points = _points(entry.get("points"), where)
    if kind == "chart" and not (binds.get("mart") or binds.get("charts")):
        raise OutlineError(f"{where}.binds: missing field 'mart' (or 'charts', a list of chart specs)")
    if kind in ("diagram", "chart"):
        if kind == "diagram" and not binds.get("diagram"):
            raise OutlineError(f"{where}.binds: missing field 'diagram' (a name in deck_assets.diagrams.DIAGRAMS)")
        layout = str(binds.get("layout", "right"))
        if layout not in DIAGRAM_LAYOUTS:
            raise OutlineError(f"{where}.binds.layout: '{layout}' is not one of {DIAGRAM_LAYOUTS}")
        if layout == "full" and len(points) > FULL_DIAGRAM_MAX_POINTS:
            raise OutlineError(f"{where}.points: layout full takes at most {FULL_DIAGRAM_MAX_POINTS} points")
        if layout == "full" and any(sub_points):
            raise OutlineError(f"{where}.points: layout full takes no sub-points")
    return SlideSpec(
        id=slide_id,
        kind=kind,
        title=str(_require(entry, "title", where)),
        subtitle=str(entry.get("subtitle") or ""),
        points=points,
        sub_points=sub_points,
        binds=dict(binds),
        notes=str(entry.get("notes") or ""),
        section=section,
    )
