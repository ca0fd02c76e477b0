"""A hostile corpus for every import kind (issue 17): small files, each holding valid records around one
value that cannot be represented or is implausible, plus files that test the encoding (BOM, CRLF).

`CASES` lists them; `Case.write(directory)` writes one and returns the path to import (a directory for
h200-lab). `landed` and `quarantined` are what the importer must make of the file: every record either
lands or is quarantined (a record is a line or CSV row; for prometheus-json a sample point, or a whole
series when the series itself is refused; for h200-lab a phase line or a one-metric CSV row). A case with
`refused` is a file that cannot be read as a whole: the importer raises ValueError naming the file.

Write them all for a look: `python -m tests.importers.hostile.corpus DIRECTORY`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

TS = "2026-11-01T00:00:00Z"
T0 = 1_761_955_200  # 2025-11-01T00:00:00Z in unix seconds
BOM = b"\xef\xbb\xbf"
DEEP = "[" * 100_000 + "]" * 100_000
LONG = "x" * 200_000  # over csv's default 128 KiB field limit and the 64K-character text limit
BAD_UTF8 = b"\xff\xfe caf\xc3"  # an invalid start byte and a truncated sequence


@dataclass(frozen=True)
class Case:
    kind: str
    name: str  # file name; for h200-lab a directory
    files: dict[str, bytes]  # file name -> content (one entry, `name`, except for h200-lab)
    landed: int
    quarantined: int
    options: dict[str, str] = field(default_factory=dict)  # read_log options (dcgm-text: scrape_ts)
    refused: bool = False

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"

    def write(self, directory: Path) -> Path:
        target = directory / self.name if self.kind == "h200-lab" else directory
        target.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (target / name).write_bytes(content)
        return target if self.kind == "h200-lab" else target / self.name


def _lines(lines: list[bytes | str], end: bytes = b"\n") -> bytes:
    return b"".join((line if isinstance(line, bytes) else line.encode()) + end for line in lines)


def _json(**record) -> str:
    return json.dumps(record, allow_nan=True)


# ---- jobs (JSONL) -------------------------------------------------------------------------------------------

def _job(i: int, **changes) -> str:
    record = {"job_id": f"j{i}", "gpu_count": 1, "submit_ts": TS, "start_ts": "2026-11-01T00:01:00Z",
              "end_ts": "2026-11-01T01:00:00Z", "status": "succeeded", "restarts": 0}
    record.update(changes)
    return _json(**record)


def _jobs_jsonl(name: str, hostile: bytes | str) -> Case:
    return Case("jobs", f"{name}.jsonl", {f"{name}.jsonl": _lines([_job(1), hostile, _job(3)])}, 2, 1)


JOBS_JSONL = [
    _jobs_jsonl("submit_1e20", _job(2, submit_ts=1e20)),
    _jobs_jsonl("submit_1e20_string", _job(2, submit_ts="1e20")),
    _jobs_jsonl("submit_infinity", _job(2, submit_ts=float("inf"))),  # JSON `Infinity`
    _jobs_jsonl("submit_nan", _job(2, submit_ts=float("nan"))),
    _jobs_jsonl("submit_9999_minus5", _job(2, submit_ts="9999-12-31T23:00:00-05:00")),
    _jobs_jsonl("submit_0001_plus1", _job(2, submit_ts="0001-01-01T00:00:00+01:00")),
    _jobs_jsonl("submit_1969", _job(2, submit_ts="1969-12-31T23:00:00Z")),
    _jobs_jsonl("submit_9999", _job(2, submit_ts="9999-01-01T00:00:00Z")),
    _jobs_jsonl("submit_negative_unix", _job(2, submit_ts=-1)),
    _jobs_jsonl("submit_2099", _job(2, submit_ts="2099-01-01T00:00:00Z")),
    _jobs_jsonl("submit_bool", _job(2, submit_ts=True)),
    _jobs_jsonl("submit_huge_int", '{"job_id": "j2", "gpu_count": 1, "status": "running", "submit_ts": 1'
                                   + "0" * 400 + "}"),
    _jobs_jsonl("restarts_1e400", '{"job_id": "j2", "gpu_count": 1, "status": "running", "submit_ts": "'
                                  + TS + '", "restarts": 1e400}'),
    _jobs_jsonl("restarts_int32_overflow", _job(2, restarts=2**31)),
    _jobs_jsonl("restarts_huge_int", '{"job_id": "j2", "gpu_count": 1, "status": "running", "submit_ts": "'
                                     + TS + '", "restarts": 1' + "0" * 400 + "}"),
    _jobs_jsonl("gpu_count_5000_digits", '{"job_id": "j2", "status": "running", "submit_ts": "' + TS
                                         + '", "gpu_count": ' + "9" * 5000 + "}"),
    _jobs_jsonl("gpu_count_nan", _job(2, gpu_count=float("nan"))),
    _jobs_jsonl("tokens_minus_infinity", _job(2, tokens_processed=float("-inf"))),
    _jobs_jsonl("gpu_count_1e400_string", _job(2, gpu_count="1e400")),
    _jobs_jsonl("nested_100000", DEEP),
    _jobs_jsonl("nested_in_field", '{"job_id": ' + DEEP + "}"),
    _jobs_jsonl("invalid_utf8", b'{"job_id": "j2", "tenant": "' + BAD_UTF8 + b'"}'),
    _jobs_jsonl("end_before_start", _job(2, end_ts="2026-10-31T23:00:00Z")),
    _jobs_jsonl("long_job_id", _job(2, job_id=LONG)),
    _jobs_jsonl("lone_surrogate", '{"job_id": "j2", "tenant": "\\ud800", "gpu_count": 1, "status": "running", '
                                  '"submit_ts": "' + TS + '"}'),
    _jobs_jsonl("json_array_line", "[1, 2, 3]"),
    _jobs_jsonl("nul_byte", b'{"job_id": "j2\x00"}'),
    _jobs_jsonl("event_ts_1e20", _json(record_type="event", job_id="j1", ts=1e20, event="started")),
    Case("jobs", "bom.jsonl", {"bom.jsonl": BOM + _lines([_job(1), _job(2), _job(3)])}, 3, 0),
    Case("jobs", "crlf.jsonl", {"crlf.jsonl": _lines([_job(1), _job(2), _job(3)], b"\r\n")}, 3, 0),
]

# ---- jobs (CSV) ---------------------------------------------------------------------------------------------

CSV_HEADER = "job_id,tenant,gpu_count,submit_ts,start_ts,end_ts,status,restarts,gpu_uuids"


def _csv_job(i: int, **changes) -> str:
    row = {"job_id": f"c{i}", "tenant": "t", "gpu_count": "1", "submit_ts": TS, "start_ts": "2026-11-01T00:01:00Z",
           "end_ts": "2026-11-01T01:00:00Z", "status": "succeeded", "restarts": "0", "gpu_uuids": ""}
    row.update(changes)
    return ",".join(row.values())


def _jobs_csv(name: str, hostile: bytes | str) -> Case:
    return Case("jobs", f"{name}.csv", {f"{name}.csv": _lines([CSV_HEADER, _csv_job(1), hostile, _csv_job(3)])}, 2, 1)


JOBS_CSV = [
    _jobs_csv("field_over_128k", _csv_job(2, tenant=LONG)),
    _jobs_csv("job_id_over_128k", _csv_job(2, job_id=LONG)),
    _jobs_csv("invalid_utf8", _csv_job(2).encode().replace(b"t,", b"t" + BAD_UTF8 + b",", 1)),
    _jobs_csv("restarts_1e400", _csv_job(2, restarts="1e400")),
    _jobs_csv("restarts_int32_overflow", _csv_job(2, restarts="99999999999")),
    _jobs_csv("submit_1e20", _csv_job(2, submit_ts="1e20")),
    _jobs_csv("submit_9999_minus5", _csv_job(2, submit_ts="9999-12-31T23:00:00-05:00")),
    _jobs_csv("submit_infinity", _csv_job(2, submit_ts="Infinity")),
    _jobs_csv("end_before_start", _csv_job(2, end_ts="2026-11-01T00:00:30Z")),
    _jobs_csv("more_cells", _csv_job(2) + ",extra"),
    _jobs_csv("carriage_return_mid_line", _csv_job(2, tenant="a\rb")),
    _jobs_csv("gpu_uuids_nested", _csv_job(2, gpu_uuids='"' + "[" * 20_000 + '"')),
    _jobs_csv("gpu_count_nan", _csv_job(2, gpu_count="nan")),
    Case("jobs", "header_invalid_utf8.csv", {"header_invalid_utf8.csv": _lines(
        [CSV_HEADER.encode().replace(b"tenant", BAD_UTF8), _csv_job(1)])}, 0, 0, refused=True),
    Case("jobs", "excel_bom.csv", {"excel_bom.csv": BOM + _lines([CSV_HEADER, _csv_job(1), _csv_job(2)], b"\r\n")},
         2, 0),
    Case("jobs", "bom.csv", {"bom.csv": BOM + _lines([CSV_HEADER, _csv_job(1), _csv_job(2), _csv_job(3)])}, 3, 0),
]

# ---- slurm-sacct --------------------------------------------------------------------------------------------

SACCT_HEADER = "JobID|JobName|Account|Partition|State|Submit|Start|End|AllocTRES|NodeList|ExitCode"


def _sacct(i: int, **changes) -> str:
    row = {"JobID": str(100 + i), "JobName": "train-x", "Account": "acct", "Partition": "gpu",
           "State": "COMPLETED", "Submit": "2026-11-01T00:00:00", "Start": "2026-11-01T00:01:00",
           "End": "2026-11-01T01:00:00", "AllocTRES": "cpu=8,gres/gpu=1", "NodeList": "n1", "ExitCode": "0:0"}
    row.update(changes)
    return "|".join(row.values())


def _sacct_case(name: str, hostile: bytes | str) -> Case:
    return Case("slurm-sacct", f"{name}.txt", {f"{name}.txt": _lines([SACCT_HEADER, _sacct(1), hostile, _sacct(3)])},
                2, 1)


SACCT = [
    _sacct_case("submit_9999", _sacct(2, Submit="9999-12-31T23:00:00")),
    _sacct_case("submit_0001", _sacct(2, Submit="0001-01-01T00:00:00")),
    _sacct_case("submit_1969", _sacct(2, Submit="1969-12-31T00:00:00")),
    _sacct_case("end_before_start", _sacct(2, End="2026-11-01T00:00:30")),
    _sacct_case("invalid_utf8", _sacct(2).encode().replace(b"train-x", BAD_UTF8)),
    _sacct_case("gpu_count_400_digits", _sacct(2, AllocTRES="gres/gpu=" + "9" * 400)),
    _sacct_case("field_count", _sacct(2) + "|extra|cells"),
    _sacct_case("submit_long", _sacct(2, Submit=LONG)),
    Case("slurm-sacct", "header_invalid_utf8.txt", {"header_invalid_utf8.txt": _lines(
        ["", SACCT_HEADER.encode().replace(b"JobName", BAD_UTF8), _sacct(1)])}, 0, 0, refused=True),
    Case("slurm-sacct", "bom.txt", {"bom.txt": BOM + _lines([SACCT_HEADER, _sacct(1), _sacct(2)])}, 2, 0),
    Case("slurm-sacct", "crlf.txt", {"crlf.txt": _lines([SACCT_HEADER, _sacct(1), _sacct(2)], b"\r\n")}, 2, 0),
]

# ---- openb --------------------------------------------------------------------------------------------------

OPENB_HEADER = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"\
               "scheduled_time"


def _pod(i: int, **changes) -> str:
    row = {"name": f"pod-{i}", "cpu_milli": "1000", "memory_mib": "1024", "num_gpu": "1", "gpu_milli": "1000",
           "gpu_spec": "", "qos": "LS", "pod_phase": "Succeeded", "creation_time": "10", "deletion_time": "100",
           "scheduled_time": "20"}
    row.update(changes)
    return ",".join(row.values())


def _openb_case(name: str, hostile: bytes | str) -> Case:
    return Case("openb", f"{name}.csv", {f"{name}.csv": _lines([OPENB_HEADER, _pod(1), hostile, _pod(3)])}, 2, 1)


OPENB = [
    _openb_case("creation_1e20", _pod(2, creation_time="1e20")),
    _openb_case("creation_inf", _pod(2, creation_time="inf")),
    _openb_case("creation_5e9", _pod(2, creation_time="5e9")),  # the year 2181
    _openb_case("num_gpu_1e400", _pod(2, num_gpu="1e400")),
    _openb_case("deleted_before_scheduled", _pod(2, deletion_time="15")),
    _openb_case("invalid_utf8", _pod(2).encode().replace(b"LS", BAD_UTF8)),
    _openb_case("name_over_128k", _pod(2, name=LONG)),
    Case("openb", "bom.csv", {"bom.csv": BOM + _lines([OPENB_HEADER, _pod(1), _pod(2)], b"\r\n")}, 2, 0),
]

# ---- requests -----------------------------------------------------------------------------------------------


def _request(i: int, **changes) -> str:
    record = {"request_id": f"r{i}", "service": "chat", "arrival_ts": TS, "first_token_ts": "2026-11-01T00:00:01Z",
              "end_ts": "2026-11-01T00:00:02Z", "prompt_tokens": 10, "output_tokens": 5}
    record.update(changes)
    return _json(**record)


def _requests_case(name: str, hostile: bytes | str) -> Case:
    return Case("requests", f"{name}.jsonl", {f"{name}.jsonl": _lines([_request(1), hostile, _request(3)])}, 2, 1)


REQUESTS = [
    _requests_case("prompt_tokens_2_31", _request(2, prompt_tokens=2**31)),
    _requests_case("output_tokens_1e400", _request(2).replace('"output_tokens": 5', '"output_tokens": 1e400')),
    _requests_case("cached_negative", _request(2, cached_prompt_tokens=-1)),
    _requests_case("arrival_1e20", _request(2, arrival_ts=1e20)),
    _requests_case("arrival_nan", _request(2, arrival_ts=float("nan"))),
    _requests_case("end_before_arrival", _request(2, end_ts="2026-10-31T23:59:59Z", first_token_ts=None)),
    _requests_case("end_before_first_token", _request(2, first_token_ts="2026-11-01T00:00:03Z")),
    _requests_case("invalid_utf8", b'{"request_id": "r2", "service": "' + BAD_UTF8 + b'"}'),
    _requests_case("nested_100000", DEEP),
    _requests_case("service_lone_surrogate", _request(2).replace('"chat"', '"\\udcff"')),
    Case("requests", "bom_crlf.jsonl", {"bom_crlf.jsonl": BOM + _lines([_request(1), _request(2)], b"\r\n")}, 2, 0),
]

# ---- azure-llm-trace ----------------------------------------------------------------------------------------

AZURE_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens"
AZURE_ROW = "2026-11-01 00:00:00.1234567,100,20"


def _azure_case(name: str, hostile: bytes | str) -> Case:
    file = f"AzureLLMInferenceTrace_{name}.csv"
    return Case("azure-llm-trace", file, {file: _lines([AZURE_HEADER, AZURE_ROW, hostile, AZURE_ROW])}, 2, 1)


AZURE = [
    _azure_case("context_3e9", "2026-11-01 00:00:01,3000000000,20"),
    _azure_case("generated_1e400", "2026-11-01 00:00:01,100,1e400"),
    _azure_case("context_5000_digits", "2026-11-01 00:00:01," + "9" * 5000 + ",20"),
    _azure_case("timestamp_9999", "9999-12-31 23:00:00,100,20"),
    _azure_case("timestamp_1969", "1969-07-20 20:17:00,100,20"),
    _azure_case("timestamp_over_128k", LONG + ",100,20"),
    _azure_case("invalid_utf8", b"2026-11-01 00:00:01," + BAD_UTF8 + b",20"),
    Case("azure-llm-trace", "AzureLLMInferenceTrace_bom.csv",
         {"AzureLLMInferenceTrace_bom.csv": BOM + _lines([AZURE_HEADER, AZURE_ROW, AZURE_ROW], b"\r\n")}, 2, 0),
]

# ---- dcgm-text ----------------------------------------------------------------------------------------------

SCRAPE = {"scrape_ts": "2026-11-01T00:00:00Z"}


def _sample(gpu: int, value: str = "35", stamp: str = "", **labels: str) -> str:
    labels = {"gpu": str(gpu), "UUID": f"GPU-{gpu}", "Hostname": "n1", **labels}
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"DCGM_FI_DEV_GPU_UTIL{{{text}}} {value}{' ' + stamp if stamp else ''}"


def _dcgm_case(name: str, hostile: bytes | str) -> Case:
    lines = ["# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).", "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
             _sample(0), hostile, _sample(2)]
    return Case("dcgm-text", f"{name}.prom", {f"{name}.prom": _lines(lines)}, 2, 1, SCRAPE)


DCGM = [
    _dcgm_case("value_plus_inf", _sample(1, "+Inf")),
    _dcgm_case("value_nan", _sample(1, "NaN")),
    _dcgm_case("value_1e400", _sample(1, "1e400")),
    _dcgm_case("timestamp_int64_overflow", _sample(1, stamp="99999999999999999999")),
    _dcgm_case("timestamp_1969", _sample(1, stamp="-1000")),
    _dcgm_case("gpu_index_int32_overflow", _sample(1).replace('gpu="1"', 'gpu="99999999999"')),
    _dcgm_case("hostname_over_128k", _sample(1, Hostname=LONG)),
    _dcgm_case("invalid_utf8", _sample(1).encode().replace(b"n1", BAD_UTF8)),
    _dcgm_case("label_set_not_closed", _sample(1).replace("}", "")),
    Case("dcgm-text", "bom_crlf.prom", {"bom_crlf.prom": BOM + _lines([_sample(0), _sample(1)], b"\r\n")}, 2, 0,
         SCRAPE),
]

# ---- prometheus-json ----------------------------------------------------------------------------------------

METRIC = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "UUID": "GPU-0", "Hostname": "n1"}
GOOD_SERIES = {"metric": METRIC, "values": [[T0, "1"], [T0 + 60, "2"]]}


def _prom(name: str, hostile: object, landed: int = 2, quarantined: int = 1, good: dict = GOOD_SERIES,
          result_type: str = "matrix") -> Case:
    body = {"status": "success", "data": {"resultType": result_type, "result": [good, hostile]}}
    return Case("prometheus-json", f"{name}.json", {f"{name}.json": json.dumps(body).encode()}, landed, quarantined)


def _prom_point(value: object, ts: object = T0 + 120) -> dict:
    return {"metric": {**METRIC, "gpu": "1", "UUID": "GPU-1"}, "values": [[T0, "5"], [ts, value]]}


PROMETHEUS = [
    _prom("values_not_a_list", {"metric": METRIC, "values": "abc"}),
    _prom("values_a_number", {"metric": METRIC, "values": 5}),
    _prom("values_an_object", {"metric": METRIC, "values": {"a": 1}}),
    _prom("point_plus_inf", _prom_point("+Inf"), landed=3),
    _prom("point_nan", _prom_point("NaN"), landed=3),
    _prom("point_ts_1e20", _prom_point("1", 1e20), landed=3),
    _prom("point_ts_infinity", _prom_point("1", "Infinity"), landed=3),
    _prom("point_ts_1969", _prom_point("1", -1), landed=3),
    _prom("point_not_a_pair", {"metric": METRIC, "values": [[T0, "5"], [T0]]}, landed=3),
    _prom("metric_not_an_object", {"metric": "DCGM_FI_DEV_GPU_UTIL", "values": [[T0, "5"]]}),
    _prom("series_not_an_object", 42),
    _prom("label_over_128k", {"metric": {**METRIC, "Hostname": LONG}, "values": [[T0, "5"]]}),
    _prom("gpu_index_int32_overflow", {"metric": {**METRIC, "gpu": "99999999999"}, "values": [[T0, "5"]]}),
    _prom("vector_plus_inf", {"metric": METRIC, "value": [T0, "+Inf"]}, landed=1,
          good={"metric": METRIC, "value": [T0, "1"]}, result_type="vector"),
    Case("prometheus-json", "invalid_utf8.json", {"invalid_utf8.json": json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": [
            GOOD_SERIES, {"metric": {**METRIC, "Hostname": "HOST"}, "values": [[T0, "5"]]}]}}).encode().replace(
        b"HOST", BAD_UTF8)}, 2, 1),
    Case("prometheus-json", "bom.json", {"bom.json": BOM + json.dumps(
        {"status": "success", "warnings": 5, "data": {"resultType": "matrix", "result": [GOOD_SERIES]}}).encode()},
         2, 0),
    Case("prometheus-json", "nested_100000.json", {"nested_100000.json": DEEP.encode()}, 0, 0, refused=True),
    Case("prometheus-json", "result_not_a_list.json", {"result_not_a_list.json": json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": {"a": 1}}}).encode()}, 0, 0, refused=True),
]

# ---- h200-lab -----------------------------------------------------------------------------------------------

ENV = json.dumps({"gpu_uuid": "GPU-h200", "gpu_name": "NVIDIA H200"}).encode()


def _phase(i: int, **changes) -> str:
    record = {"record": "phase", "phase": f"decode_batch_{i}", "start_ts": T0 + 100 * i, "end_ts": T0 + 100 * i + 60,
              "status": "ok", "output_tokens": 1000, "decode_tokens_per_s": 16.6}
    record.update(changes)
    return _json(**record)


SAMPLES = ["ts,gpu_util_pct", f"{T0},50", f"{T0 + 1},60"]


def _lab(name: str, landed: int, quarantined: int, *, job_log: bytes | None = None, samples: bytes | None = None,
         env: bytes | None = ENV) -> Case:
    files = {"job_log.jsonl": job_log if job_log is not None else _lines([_phase(1), _phase(2)]),
             "nvml_samples.csv": samples if samples is not None else _lines(SAMPLES)}
    if env is not None:
        files["env.json"] = env
    return Case("h200-lab", name, files, landed, quarantined, refused=landed == quarantined == 0)


H200_LAB = [
    _lab("phase_start_1e20", 4, 1, job_log=_lines([_phase(1), _phase(2, start_ts=1e20), _phase(3)])),
    _lab("phase_end_before_start", 4, 1, job_log=_lines([_phase(1), _phase(2, end_ts=T0), _phase(3)])),
    _lab("phase_tokens_infinity", 4, 1, job_log=_lines([_phase(1), _phase(2, output_tokens=float("inf")),
                                                        _phase(3)])),
    _lab("phase_invalid_utf8", 4, 1, job_log=_lines([_phase(1), b'{"phase": "' + BAD_UTF8 + b'"}', _phase(3)])),
    _lab("phase_nested_100000", 4, 1, job_log=_lines([_phase(1), DEEP, _phase(3)])),
    _lab("train_rate_tiny", 4, 0, job_log=_lines([_phase(1), _json(
        record="phase", phase="train_bf16", start_ts=T0 + 500, end_ts=T0 + 560, status="ok", steps=10,
        samples_per_s=1e-300)])),
    _lab("sample_ts_1e20", 4, 1, samples=_lines([*SAMPLES, "1e20,70"])),
    _lab("sample_util_inf", 4, 1, samples=_lines([*SAMPLES, f"{T0 + 2},inf"])),
    _lab("sample_energy_overflow", 2, 1, samples=_lines(["ts,energy_j", f"{T0},1e306"])),
    _lab("sample_invalid_utf8", 4, 1, samples=_lines([*SAMPLES, f"{T0 + 2},".encode() + BAD_UTF8])),
    _lab("bom_crlf", 4, 0, job_log=BOM + _lines([_phase(1), _phase(2)], b"\r\n"),
         samples=BOM + _lines(SAMPLES, b"\r\n"), env=BOM + ENV),
    _lab("env_missing", 0, 0, env=None),
    _lab("env_not_json", 0, 0, env=b"{nope"),
    _lab("env_a_list", 0, 0, env=b"[1, 2]"),
    _lab("env_nested_100000", 0, 0, env=DEEP.encode()),
]

# ---- serving-text -------------------------------------------------------------------------------------------

SERVING_OPTIONS = {"scrape_ts": "2026-11-01T00:00:30Z", "pod": "vllm-0"}


def _serving(i: int, value: str = "1") -> str:
    return f'vllm:generation_tokens_total{{model_name="m{i}"}} {value}'


def _serving_text(name: str, hostile: bytes | str, landed: int = 2, quarantined: int = 1) -> Case:
    return Case("serving-text", f"{name}.prom", {f"{name}.prom": _lines([_serving(1), hostile, _serving(3)])},
                landed, quarantined, SERVING_OPTIONS)


SERVING = [
    _serving_text("value_nan", _serving(2, "NaN")),
    _serving_text("value_inf", _serving(2, "+Inf")),
    _serving_text("value_1e400", _serving(2, "1e400")),
    _serving_text("value_negative_counter", _serving(2, "-5")),
    _serving_text("timestamp_1e20", _serving(2, "1 100000000000000000000")),
    _serving_text("label_set_not_closed", 'vllm:generation_tokens_total{model_name="m2" 1'),
    _serving_text("invalid_utf8", b'vllm:generation_tokens_total{model_name="' + BAD_UTF8 + b'"} 1'),
    _serving_text("long_model_label", _serving(2).replace("m2", LONG)),
    _serving_text("same_series_twice", _serving(1)),
    _serving_text("histogram_cut_short", 'vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="m2"} 1'),
    _serving_text("nan_in_a_skipped_family", "vllm:request_params_n_sum NaN", 2, 0),
    Case("serving-text", "bom_crlf.prom", {"bom_crlf.prom": BOM + _lines([_serving(1), _serving(2)], b"\r\n")},
         2, 0, SERVING_OPTIONS),
]

CASES: list[Case] = [*JOBS_JSONL, *JOBS_CSV, *SACCT, *OPENB, *REQUESTS, *AZURE, *DCGM, *PROMETHEUS, *H200_LAB,
                     *SERVING]

if __name__ == "__main__":
    for case in CASES:
        print(case.write(Path(sys.argv[1]) / case.kind))
