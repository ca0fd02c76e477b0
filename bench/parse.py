"""Parsing throughput: our dcgm-exporter text parser against prometheus_client's, and query_range decoding.

`run()` returns the figures for bench/results.json; `python -m bench.parse` prints them as a table.

- exposition: successive scrapes of the /metrics pages of 128 nodes x 8 GPUs x 25 fields (bench/parse_inputs.py;
  the same series, new values at each scrape), each page parsed on its own by its target's parser, as the
  collector does (`dcgm_scrape.Scraper` keeps one `ExpositionParser` per target): the untimed warm-up round
  is the first scrape, the timed rounds the scrapes after it. The first scrape of a target (a new parser per
  page, `parse_exposition`) is timed beside it. prometheus_client's `text_string_to_metric_families` is timed
  on the same scrape, consuming every sample of every family.
- query_range: `fetch_day` for one field of 1,024 GPUs over one day at a 60 s step, with a client that
  answers from prepared response bodies, so the time is the JSON decoding, the series assembly and
  `decode_series`, not HTTP.
Each figure is the median of `repeats` timed runs after one untimed warm-up run; the two /metrics parsers
are timed in alternation.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.parse_inputs import DAY, QUERY_METRIC, STEP_S, dcgm_pages, query_range_bodies
from ingestion.sources import prometheus
from ingestion.sources.dcgm_exposition import ExpositionParser, parse_exposition

SCRAPE_TS = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)


def median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of `repeats` calls after one warm-up call, and the last call's result."""
    result = fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ours(parsers: list[ExpositionParser], pages: list[str]) -> int:
    """Samples our parser turns into gpu_samples rows: one scrape of every node, each page by its node's parser."""
    pairs = zip(parsers, pages, strict=True)
    return sum(parser.parse(page, scrape_ts=SCRAPE_TS).table.num_rows for parser, page in pairs)


def ours_first_scrape(pages: list[str]) -> int:
    """The same with a new parser per page: what the first scrape of each target costs."""
    return sum(parse_exposition(page, scrape_ts=SCRAPE_TS, pool="large").table.num_rows for page in pages)


def prometheus_client_samples(pages: list[str]) -> int:
    """Samples prometheus_client's parser yields, every family of every page consumed."""
    return sum(len(family.samples) for page in pages for family in text_string_to_metric_families(page))


class _AnsweringClient(prometheus.PrometheusClient):
    """Answers query_range from prepared bodies (one per chunk, in order) through the real `_decode`."""

    def __init__(self, bodies: list[bytes]):
        super().__init__("http://bench.invalid")
        object.__setattr__(self, "bodies", bodies)
        object.__setattr__(self, "served", 0)

    def query_range(self, query, start, end, step_s, report=None):  # noqa: ANN001, ANN201 - same as the base
        body = self.bodies[self.served % len(self.bodies)]
        object.__setattr__(self, "served", self.served + 1)
        return self._decode(query, 200, body, attempts=1, report=report)


def fetch_rows(bodies: list[bytes]) -> int:
    """gpu_samples rows `fetch_day` builds from the prepared bodies."""
    client = _AnsweringClient(bodies)
    table, _, _ = prometheus.fetch_day(client.base_url, DAY, [QUERY_METRIC], pool="large", step_s=STEP_S,
                                       client=client)
    return table.num_rows


def interleaved_seconds(rounds: list[list[Callable[[], Any]]]) -> tuple[list[list[float]], list[Any]]:
    """Wall times of each round's calls, timed in turn (the first round untimed, a warm-up), so that load from
    other processes on this shared machine falls on all of them alike; and the last round's results."""
    results = [fn() for fn in rounds[0]]
    times: list[list[float]] = [[] for _ in rounds[0]]
    for fns in rounds[1:]:
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            results[i] = fn()
            times[i].append(time.perf_counter() - start)
    return times, results


def exposition_figures(repeats: int) -> dict[str, float | int]:
    """Round k parses scrape k of every node: ours with the nodes' parsers (warm after round 0), ours with a new
    parser per page, and prometheus_client."""
    scrapes = [dcgm_pages(scrape=k) for k in range(repeats + 1)]
    parsers = [ExpositionParser(pool="large", origin=f"node-{i}") for i in range(len(scrapes[0]))]
    (ours_t, first_t, theirs_t), counts = interleaved_seconds([
        [lambda p=pages: ours(parsers, p), lambda p=pages: ours_first_scrape(p),
         lambda p=pages: prometheus_client_samples(p)] for pages in scrapes])
    if len(set(counts)) != 1:
        raise RuntimeError(f"parsers disagree on the scrape: ours (warm, first scrape) and prometheus_client "
                           f"count {counts} samples")
    samples = counts[0]
    ours_s, first_s, theirs_s = (statistics.median(t) for t in (ours_t, first_t, theirs_t))

    def speedup(own: list[float]) -> float:
        # per round, both parsers timed back to back: the ratio is steadier than the ratio of medians
        return round(statistics.median(t / o for o, t in zip(own, theirs_t, strict=True)), 1)

    return {
        "exposition_scrape_samples": samples,
        "exposition_scrape_pages": len(scrapes[0]),
        "exposition_parse_s": round(ours_s, 4),
        "exposition_parse_samples_per_s": round(samples / ours_s),
        "exposition_first_scrape_parse_s": round(first_s, 4),
        "prometheus_client_parse_s": round(theirs_s, 4),
        "prometheus_client_parse_samples_per_s": round(samples / theirs_s),
        "exposition_parse_speedup_vs_prometheus_client": speedup(ours_t),
        "exposition_first_scrape_speedup_vs_prometheus_client": speedup(first_t),
    }


def query_range_figures(repeats: int) -> dict[str, float | int]:
    bodies = query_range_bodies()
    seconds, rows = median_seconds(lambda: fetch_rows(bodies), repeats)
    return {
        "query_range_rows": rows,
        "query_range_body_mb": round(sum(len(b) for b in bodies) / 1e6, 1),
        "query_range_parse_s": round(seconds, 3),
        "query_range_parse_rows_per_s": round(rows / seconds),
    }


def run(repeats: int = 3) -> dict[str, float | int]:
    """The parsing figures (medians of `repeats` runs, at least 3)."""
    repeats = max(3, repeats)
    return {**exposition_figures(repeats), **query_range_figures(repeats), "parse_repeats": repeats}


def main() -> None:
    figures = run()
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:>14,}" if isinstance(value, int) else f"{name:<{width}}  {value:>14,.4g}")


if __name__ == "__main__":
    main()
