"""Product and project status claims: what the deck says about the state of a product or project (a CNCF
maturity level, a Kubernetes feature's GA, which GPU generation ships), kept as data with the day it was last
checked against its source.

The outline's top-level ``status_claims`` maps an id to ``{text, as_of, source, url}``; outline text cites one
with ``{status:ID}`` (points, sub-points, subtitle, notes) and the slide shows ``text``. A claim carries no number
of its own (numbers come from the warehouse). ``as_of`` is the day the claim was last checked against its source;
the deck check ``status_currency`` warns about every cited claim whose ``as_of`` is more than ``MAX_AGE_MONTHS``
before the deck's build date, naming the slide.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

STATUS = re.compile(r"\{status:([^{}]*)\}")
MAX_AGE_MONTHS = 12
FIELDS = ("text", "as_of", "source", "url")


@dataclass(frozen=True)
class StatusClaim:
    id: str
    text: str  # zh-CN, as the deck shows it
    as_of: dt.date  # the day the claim was last checked against its source
    source: str  # the source's name (and its own date)
    url: str


@dataclass(frozen=True)
class ClaimUse:
    """A {status:ID} in the outline: the slide (1-based, the outline's order), its id and where on it."""

    slide: int
    slide_id: str
    place: str  # subtitle | points | notes
    claim_id: str


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{where}.as_of: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_status_claims(raw: Any, where: str) -> dict[str, StatusClaim]:
    """The outline's ``status_claims`` mapping; a ValueError names the claim and the field at fault."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: must be a mapping of id -> {{text, as_of, source, url}}")
    claims = {}
    for key, spec in raw.items():
        at = f"{where}.{key}"
        if not isinstance(spec, Mapping):
            raise ValueError(f"{at}: must be a mapping with {', '.join(FIELDS)}")
        missing = [f for f in FIELDS if not str(spec.get(f) or "").strip()]
        if missing:
            raise ValueError(f"{at}: missing field(s) {', '.join(missing)}")
        unknown = sorted(set(spec) - set(FIELDS))
        if unknown:
            raise ValueError(f"{at}: unknown keys {unknown} (use {', '.join(FIELDS)})")
        claims[str(key)] = StatusClaim(str(key), str(spec["text"]).strip(), _date(spec["as_of"], at),
                                       str(spec["source"]).strip(), str(spec["url"]).strip())
    return claims


def _texts(spec: Any) -> Iterator[tuple[str, str]]:
    """(place, text) of a slide spec's resolved text: subtitle, points and sub-points, notes."""
    yield "subtitle", spec.subtitle
    for point, subs in spec.items():
        yield "points", point
        for sub in subs:
            yield "points", sub
    yield "notes", spec.notes


def claim_uses(slides: Any) -> list[ClaimUse]:
    """Every {status:ID} of the outline's slides, in slide order."""
    return [ClaimUse(number, spec.id, place, match.group(1).strip())
            for number, spec in enumerate(slides, start=1)
            for place, text in _texts(spec)
            for match in STATUS.finditer(text or "")]


def cutoff(build_date: dt.date, months: int = MAX_AGE_MONTHS) -> dt.date:
    """The day ``months`` calendar months before ``build_date`` (the 28th for a 29-31 that month lacks)."""
    year, month = divmod(build_date.year * 12 + build_date.month - 1 - months, 12)
    day = build_date.day
    while True:
        try:
            return dt.date(year, month + 1, day)
        except ValueError:
            day -= 1


def is_stale(claim: StatusClaim, build_date: dt.date, months: int = MAX_AGE_MONTHS) -> bool:
    """Whether the claim was last checked more than ``months`` months before ``build_date``."""
    return claim.as_of < cutoff(build_date, months)


def used_claims(claims: Mapping[str, StatusClaim], uses: list[ClaimUse]) -> list[dict[str, Any]]:
    """The claims the deck cites, each once with the slides citing it: for the evidence appendix's header."""
    slides: dict[str, list[int]] = {}
    for use in uses:
        if use.claim_id in claims and use.slide not in slides.setdefault(use.claim_id, []):
            slides[use.claim_id].append(use.slide)
    return [{"id": cid, "text": claims[cid].text, "as_of": claims[cid].as_of.isoformat(),
             "source": claims[cid].source, "url": claims[cid].url, "slides": numbers}
            for cid, numbers in slides.items()]
