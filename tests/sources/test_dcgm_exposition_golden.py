"""The /metrics parser gives exactly the rows and quarantine records it gave before it was optimised.

`dcgm_exposition_golden.json` was written by the parser as it stood before the bench/parse.py work (commit
ec9f2ab), by `python tests/sources/test_dcgm_exposition_golden.py --write`; it must not be regenerated to
make a change pass. It covers every fixture sample, edge cases (bad lines, timestamps, CRLF, escapes,
extra labels) and two synthetic 8-GPU x 25-family node pages.

One rule changed on purpose since (issue 17): a sample without a GPU UUID is skipped and counted, no longer
quarantined. `_golden_now` applies exactly that to the golden records; nothing else may differ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

from ingestion.sources.dcgm_exposition import ExpositionParser, ParseResult, parse_exposition  # noqa: E402

GOLDEN = HERE / "dcgm_exposition_golden.json"
SHARED = HERE.parents[2] / "shared"
SCRAPE = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
EXTRA = ("xid", "pci_bus_id", "DCGM_FI_DRIVER_VERSION")

EDGE_TEXTS = {
    "bad_lines": (
        "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 10\n'
        "<html>502 Bad Gateway</html>\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} eleven\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-c" 12\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="x",UUID="GPU-d"} 13\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="4",UUID="GPU-e",UUID="GPU-f"} 14\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="5",UUID="GPU-g"} 15 16 17\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="6",UUID="GPU-h"} 18\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 19\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="x",UUID="GPU-d"} 20\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="7"} 21\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="7"} 22\n'
        "up 1\n"
        'bad-name{UUID="GPU-a"} 1\n'
        'DCGM_FI_DEV_GPU_UTIL {UUID="GPU-a"} 23\n'
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a"}\n'
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a", gpu = "9" ,} 24\n'
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a",gpu="9"} 25 1764244800123\n'
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a",gpu="9"} 26 x\n'
        "   # indented comment\n"
        "\n"
    ),
    "timestamps_specials_crlf": (
        "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\r\n"
        'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{UUID="GPU-a"} 123456789 1764244800123\r\n'
        'DCGM_FI_DEV_POWER_USAGE{UUID="GPU-a"} NaN\r\n'
        'DCGM_FI_DEV_GPU_TEMP{UUID="GPU-a"} +Inf\r\n'
        'DCGM_FI_DEV_SM_CLOCK{UUID="GPU-a"} -Inf 1764244800000\r\n'
        'DCGM_FI_DEV_MEM_CLOCK{UUID="GPU-a"} 1.5e3 12.5\r\n'
        "\r\n"
    ),
    "escapes_and_exported": (
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a",pod="a\\"b\\\\c\\nd}",modelName="x,y=\\"z\\""} 1\n'
        'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-b",exported_pod="p",namespace="n",xid="13"} 5\n'
        'dcgm_gpu_utilization{gpu="3",uuid="GPU-x",pod_name="p1",pod_namespace="ns1",container_name="c1"} 87\n'
    ),
    "empty": "",
    "no_labels": "\n\n  \n# comment\nDCGM_FI_DEV_GPU_UTIL 3\n",
}


def _cases() -> dict[str, str]:
    cases = {f"fixture:{p.name}": p.read_text(encoding="utf-8")
             for p in sorted((SHARED / "fixtures" / "dcgm" / "samples").iterdir())}
    cases.update(EDGE_TEXTS)
    cases["synthetic:two_node_pages"] = _node_page(0) + _node_page(1)
    return cases


def _node_page(node: int) -> str:
    """A dcgm-exporter page of 8 GPUs x 25 families, labels as in the kubermatic full-label sample."""
    lines = []
    for f in range(25):
        name = f"DCGM_FI_DEV_FIELD_{f}"
        lines += [f"# HELP {name} Field {f} (in %).", f"# TYPE {name} {'counter' if f % 5 == 0 else 'gauge'}"]
        for g in range(8):
            labels = (f'gpu="{g}",UUID="GPU-{node:04x}{g:04x}-0000-4000-8000-{node * 8 + g:012x}",pci_bus_id="00000000:'
                      f'{g * 16 + 24:02X}:00.0",device="nvidia{g}",modelName="NVIDIA H100 80GB HBM3",'
                      f'Hostname="gpu-node-{node:03d}",DCGM_FI_DRIVER_VERSION="535.129.03"')
            value = f"{(node * 7919 + f * 104729 + g * 1299709) % 100000 / 997:f}" if f % 2 else str(g * f)
            lines.append(f"{name}{{{labels}}} {value}")
    return "\n".join(lines) + "\n"


NO_UUID = "no GPU UUID (neither a UUID nor a uuid label)"


def _golden_now(want: dict) -> dict:
    """A golden record as the parser gives it since samples without a GPU UUID are skipped, not quarantined."""
    return {**want, "quarantine": [q for q in want["quarantine"] if q["reason"] != NO_UUID]} if "schema" in want \
        else want


def _canonical(result: ParseResult) -> dict:
    rows = [{k: (v.isoformat() if isinstance(v, dt.datetime) else
                 repr(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
            for row in result.table.to_pylist()]
    return {"schema": result.table.schema.to_string(), "rows": rows, "quarantine": result.quarantine,
            "lines": result.lines}


def _one_scrape(text: str, extra: tuple[str, ...]) -> ParseResult:
    return parse_exposition(text, scrape_ts=SCRAPE, pool="pool-a", origin="golden", extra_labels=extra)


def _after_every_case(text: str, extra: tuple[str, ...]) -> ParseResult:
    """The body parsed by a parser that has already parsed every case, this one included (its caches warm)."""
    parser = ExpositionParser(pool="pool-a", origin="golden", extra_labels=extra)
    for seen in _cases().values():
        parser.parse(seen, scrape_ts=SCRAPE)
    return parser.parse(text, scrape_ts=SCRAPE)


def test_the_changed_rule_is_the_only_difference(golden: dict[str, dict]) -> None:
    """The golden records that the skip rule drops are the no-UUID lines of two cases, and those lines are counted."""
    dropped = {key: [q["record"] for q in want["quarantine"] if q["reason"] == NO_UUID]
               for key, want in golden.items() if "schema" in want}
    assert {key: records for key, records in dropped.items() if records} == {
        "bad_lines|": [13, 14, 15], "bad_lines|xid,pci_bus_id,DCGM_FI_DRIVER_VERSION": [13, 14, 15],
        "no_labels|": [5], "no_labels|xid,pci_bus_id,DCGM_FI_DRIVER_VERSION": [5]}
    assert _one_scrape(EDGE_TEXTS["bad_lines"], ()).skipped == 3
    assert _one_scrape(EDGE_TEXTS["no_labels"], ()).skipped == 1


def _observed(parse=_one_scrape) -> dict[str, dict]:  # noqa: ANN001 - one of the two functions above
    out = {}
    for name, text in _cases().items():
        for extra in ((), EXTRA):
            got = _canonical(parse(text, extra))
            key = f"{name}|{','.join(extra)}"
            if name.startswith("synthetic:"):  # large: kept as a digest, with the counts for diagnosis
                blob = json.dumps(got, sort_keys=True).encode()
                got = {"rows": len(got["rows"]), "quarantine": len(got["quarantine"]),
                       "sha256": hashlib.sha256(blob).hexdigest()}
            out[key] = got
    return out


@pytest.fixture(scope="module")
def golden(shared: Path) -> dict[str, dict]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_output_is_identical_to_the_parser_before_optimisation(golden: dict[str, dict]) -> None:
    observed = _observed()
    assert sorted(observed) == sorted(golden)
    for key, want in golden.items():
        assert observed[key] == _golden_now(want), key


def test_a_warm_parser_gives_the_same_output(golden: dict[str, dict]) -> None:
    """Label sets, line prefixes and identity columns kept from earlier scrapes change nothing in the output."""
    observed = _observed(_after_every_case)
    for key, want in golden.items():
        assert observed[key] == _golden_now(want), key


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    GOLDEN.write_text(json.dumps(_observed(), indent=1, sort_keys=True) + "\n", encoding="utf-8")
