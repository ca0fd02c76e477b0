"""nvidia-smi logs into gpu_samples, under the dcgm-exporter names and units the NVML sampler uses.

The format is detected from the file's content:

- query-gpu CSV (`nvidia-smi --query-gpu=... --format=csv[,nounits] -l N` or `-lms N`): any field list.
  The units in the header (`power.draw [W]`) and in the values (`78.03 W`) must be the ones below, or
  the column is refused; `[N/A]`, `[Not Supported]` and other bracketed values yield no reading. The
  `timestamp` field is required (`YYYY/MM/DD HH:MM:SS.mmm`, local time of the recording host).
  `uuid` names the GPU; without it, `gpu_uuid` (see below) maps `index` or `pci.bus_id` to a UUID.
  `name` becomes model_name, `index` gpu_index.
- `nvidia-smi dmon` output: its two `#` lines name the columns and their units (repeated headers are
  skipped). With `-o DT` (`Date` YYYYMMDD and `Time` columns) each line carries its time; with `-o T`
  only the time, so `date` (YYYY-MM-DD, the first line's date; a time that goes back rolls into the next
  day) is required; with neither (dmon's default, as in the fixture) `start` (ISO 8601: when the first
  line was printed) is required, and a GPU's k-th line is at start + k x `interval_s` (dmon's `-d`,
  1 s by default). dmon has no UUID: `gpu_uuid` is required (one UUID, or `IDX=UUID,...`).
  `-` values yield no reading.
- `nvidia-smi -q -x` XML: one reading per `<gpu>` at the report's `<timestamp>`; gpu_index is the
  GPU's position in the report (nvidia-smi lists GPUs in index order); `N/A` values yield no reading.
- `--query-compute-apps=timestamp,gpu_uuid,...` CSV: the number of processes listed per GPU and
  timestamp lands as NVML_COMPUTE_PROCESSES (what the sampler records from
  nvmlDeviceGetComputeRunningProcesses). A poll with no process prints no line, so zero is never seen.
  Without the timestamp and gpu_uuid fields the file is refused.

Timestamps in these logs have no zone: `tz` (an IANA name such as `Asia/Shanghai`, `UTC`, or an
offset such as `+08:00`) says in which they were written; by default the importing machine's local
zone, which is right when the log is imported on the host that wrote it.

`gpu_uuid` option: one UUID (every line of the file is that GPU), or `KEY=UUID,KEY=UUID` where KEY is
a GPU index or a PCI bus id as the log prints it. It is used only where the log has no UUID.

Readings land through `sources.nvml_fields.readings_to_table` (source `nvidia-smi`), plus the memory
temperature (DCGM_FI_DEV_MEMORY_TEMP) and the software power limit (DCGM_FI_DEV_POWER_MGMT_LIMIT, W),
which the sampler does not read. Clock-event reasons land as NVML's bitmask, as the sampler records
them (the CSV's hex value as is; the XML's Active/Not Active flags encoded with NVML's bits).
Not landed (no counterpart among the sampler's metrics): driver, pstate, MIG mode, encoder/decoder/
JPEG/OFA utilisation, dmon's pviol/tviol (share of the interval power- or thermally capped; the power
cap shows in the clock-event reasons and the power limit instead), BAR1, ECC and PCIe columns.

Quarantined, with the line number and field (`values.reject`): a line that is not UTF-8, a line whose
cell count differs from the header, an unparsable or implausible timestamp, a value that is not a number
or carries another unit, a line of a GPU that `gpu_uuid` does not name; in the XML, the GPU whose element
(named with its line) is bad. A file that is none of the formats above, or lacks what its times or GPU
identity need, is refused as a whole (ValueError, one line naming the file and what to do).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import zoneinfo
from collections import Counter
from pathlib import Path
from xml.parsers import expat

import pyarrow as pa

from ingestion.importers import ImportResult, convert_csv, to_table
from ingestion.importers.values import EARLIEST, LINE, Bad, latest, read_lines, reject
from ingestion.sources.nvml_fields import IDENTITY, readings_to_table

SOURCE = "nvidia-smi"

# reading fields the sampler does not have -> gpu_samples metric (raw unit as the seed maps it)
EXTRA_METRICS = {"mem_temp_c": "DCGM_FI_DEV_MEMORY_TEMP", "power_limit_w": "DCGM_FI_DEV_POWER_MGMT_LIMIT"}

# query-gpu field -> (reading field, unit its values carry); the first field of a reading in this order
# that the header has is the one read (power.draw is the 1 s average on Ampere and later, as NVML's)
QUERY_FIELDS: dict[str, tuple[str, str]] = {
    "utilization.gpu": ("gpu_util_pct", "%"),
    "utilization.memory": ("mem_util_pct", "%"),
    "memory.used": ("fb_used_mib", "MiB"),
    "memory.free": ("fb_free_mib", "MiB"),
    "memory.total": ("fb_total_mib", "MiB"),
    "power.draw": ("power_w", "W"),
    "power.draw.average": ("power_w", "W"),
    "power.draw.instant": ("power_w", "W"),
    "power.limit": ("power_limit_w", "W"),
    "clocks.current.sm": ("sm_clock_mhz", "MHz"),
    "clocks.sm": ("sm_clock_mhz", "MHz"),
    "clocks.current.memory": ("mem_clock_mhz", "MHz"),
    "clocks.mem": ("mem_clock_mhz", "MHz"),
    "temperature.gpu": ("temp_c", "C"),
    "temperature.memory": ("mem_temp_c", "C"),
    "clocks_event_reasons.active": ("clocks_event_reasons", "hex"),
    "clocks_throttle_reasons.active": ("clocks_event_reasons", "hex"),
}

# dmon column -> (reading field, unit in dmon's unit line); dmon's `fb` "MB" is MiB (it equals
# query-gpu's memory.used [MiB] in the fixture recorded beside it)
DMON_COLUMNS: dict[str, tuple[str, str]] = {
    "pwr": ("power_w", "W"),
    "gtemp": ("temp_c", "C"),
    "mtemp": ("mem_temp_c", "C"),
    "sm": ("gpu_util_pct", "%"),
    "mem": ("mem_util_pct", "%"),
    "mclk": ("mem_clock_mhz", "MHz"),
    "pclk": ("sm_clock_mhz", "MHz"),
    "fb": ("fb_used_mib", "MB"),
}

# -q -x element path under <gpu> -> (reading field, unit); the first path of a field found is read
# (older drivers: power_readings, clocks_throttle_reasons)
XML_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("utilization/gpu_util", "gpu_util_pct", "%"),
    ("utilization/memory_util", "mem_util_pct", "%"),
    ("fb_memory_usage/used", "fb_used_mib", "MiB"),
    ("fb_memory_usage/free", "fb_free_mib", "MiB"),
    ("fb_memory_usage/total", "fb_total_mib", "MiB"),
    ("gpu_power_readings/average_power_draw", "power_w", "W"),
    ("gpu_power_readings/power_draw", "power_w", "W"),
    ("power_readings/power_draw", "power_w", "W"),
    ("gpu_power_readings/current_power_limit", "power_limit_w", "W"),
    ("power_readings/power_limit", "power_limit_w", "W"),
    ("clocks/sm_clock", "sm_clock_mhz", "MHz"),
    ("clocks/mem_clock", "mem_clock_mhz", "MHz"),
    ("temperature/gpu_temp", "temp_c", "C"),
    ("temperature/memory_temp", "mem_temp_c", "C"),
)

# NVML clock-event reason bits (nvmlClocksEventReason*), by the XML's element suffix
EVENT_REASON_BITS = {
    "gpu_idle": 0x1, "applications_clocks_setting": 0x2, "sw_power_cap": 0x4, "hw_slowdown": 0x8,
    "sync_boost": 0x10, "sw_thermal_slowdown": 0x20, "hw_thermal_slowdown": 0x40,
    "hw_power_brake_slowdown": 0x80, "display_clocks_setting": 0x100,
}

NOT_A_VALUE = {"", "-", "N/A", "Not Supported", "Unknown Error", "Insufficient Permissions"}
_VALUE = re.compile(r"(-?\d+(?:\.\d+)?)\s*(\S*)")
_HEADER = re.compile(r"\s*(.*?)\s*(?:\[(.*)\])?\s*")


# ------------------------------------------------------------------------------------------------ values
def _value(text: str | None, field: str, unit: str) -> float | None:
    """A number in `unit` from a cell such as `78.03 W`, `0x0000000000000004` or `34`; None when the cell
    says there is no value (`[N/A]`, `N/A`, `-`, `[Not Supported]`, ...)."""
    text = (text or "").strip()
    if text in NOT_A_VALUE or text.startswith("["):
        return None
    if unit == "hex":
        try:
            return float(int(text, 16))
        except ValueError:
            raise Bad(field, f"not a hexadecimal bitmask: {text!r}") from None
    match = _VALUE.fullmatch(text)
    if match is None:
        raise Bad(field, f"not a number: {text!r}")
    if match.group(2) and match.group(2) != unit:
        raise Bad(field, f"unit {match.group(2)!r}, expected {unit!r}")
    return float(match.group(1))


def _zone(tz: str | None) -> dt.tzinfo | None:
    """tzinfo for `tz`; None means the importing machine's local zone."""
    if tz is None:
        return None
    if re.fullmatch(r"[+-]\d\d:?\d\d", tz):
        return dt.datetime.strptime(tz.replace(":", ""), "%z").tzinfo
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"tz {tz!r}: not a time zone (use a name like Asia/Shanghai, UTC, or +08:00)") from None


def _utc(naive: dt.datetime, zone: dt.tzinfo | None) -> dt.datetime:
    local = naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    return local.astimezone(dt.UTC)


def _local_ts(text: str | None, formats: tuple[str, ...], zone: dt.tzinfo | None, field: str) -> dt.datetime:
    """A local time of the recording host in one of `formats`, as UTC; Bad unless within 2000-01-01 .. now + 1 day."""
    text = (text or "").strip()
    for fmt in formats:
        try:
            naive = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        try:
            ts = _utc(naive, zone)
        except OverflowError:  # year 1 or 9999 shifted out of range
            ts = None
        if ts is None or not EARLIEST <= ts <= latest():
            raise Bad(field, f"{text!r} is outside {EARLIEST:%Y-%m-%d} .. now + 1 day")
        return ts
    raise Bad(field, f"not a timestamp: {text!r}")


def _uuid_map(gpu_uuid: str | None) -> dict[str | None, str]:
    """`gpu_uuid` as {key: uuid}; the key None stands for every GPU."""
    if not gpu_uuid:
        return {}
    if "=" not in gpu_uuid:
        return {None: gpu_uuid.strip()}
    pairs = [item.split("=", 1) for item in gpu_uuid.split(",") if item.strip()]
    if any(len(pair) != 2 or not pair[0].strip() or not pair[1].strip() for pair in pairs):
        raise ValueError(f"gpu_uuid {gpu_uuid!r}: expected UUID or KEY=UUID,KEY=UUID")
    return {key.strip().lower(): uuid.strip() for key, uuid in pairs}


def _uuid_of(uuids: dict[str | None, str], keys: tuple[str | None, ...], field: str) -> str:
    if None in uuids:
        return uuids[None]
    for key in keys:
        if key and key.strip().lower() in uuids:
            return uuids[key.strip().lower()]
    raise Bad(field, f"GPU {' / '.join(k for k in keys if k)!r} is not named by the gpu_uuid option")


def _table(readings: list[dict], pool: str) -> pa.Table:
    """gpu_samples rows of the readings: the sampler's fields through readings_to_table, plus EXTRA_METRICS."""
    extra = [{"ts": reading["ts"], "pool": pool, **{c: reading.get(c) for c in IDENTITY}, "metric": metric,
              "value": reading[field], "source": SOURCE}
             for reading in readings for field, metric in EXTRA_METRICS.items() if reading.get(field) is not None]
    return pa.concat_tables([readings_to_table(readings, pool=pool, source=SOURCE), to_table("gpu_samples", extra)])


# ------------------------------------------------------------------------------------------------ CSV
CSV_TS_FORMATS = ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S")


def _columns(header: str) -> dict[str, tuple[str, str]]:
    """{raw header cell: (field name, unit in brackets or '')} of a CSV header line."""
    columns = {}
    for cell in header.rstrip("\r\n").split(","):
        match = _HEADER.fullmatch(cell)
        columns[cell] = (match.group(1), match.group(2) or "")
    return columns


def _cells(record: dict) -> None:
    if None in record:
        raise Bad(LINE, "line has more cells than the header")
    if None in record.values():
        raise Bad(LINE, "line has fewer cells than the header")


def _read_query_gpu(path: Path, pool: str, columns: dict, zone, hostname, gpu_uuid) -> ImportResult:
    by_name = {name: raw for raw, (name, _) in columns.items()}
    if "timestamp" not in by_name:
        raise ValueError(f"{path}: a query-gpu CSV without the timestamp field: add timestamp to --query-gpu")
    uuids = _uuid_map(gpu_uuid)
    if "uuid" not in by_name and not uuids:
        raise ValueError(f"{path}: no uuid field: add uuid to --query-gpu or pass gpu_uuid "
                         "(a UUID, or INDEX=UUID / BUS_ID=UUID pairs)")
    metrics: dict[str, tuple[str, str, str]] = {}  # reading field -> (raw column, field name, unit)
    for name, (field, unit) in QUERY_FIELDS.items():
        if name in by_name and field not in metrics:
            header_unit = columns[by_name[name]][1]
            if header_unit and header_unit != unit:
                raise ValueError(f"{path}: column {by_name[name].strip()!r}: unit {header_unit!r}, expected {unit!r}")
            metrics[field] = (by_name[name], name, unit)
    if not metrics:
        raise ValueError(f"{path}: a query-gpu CSV with none of the fields this importer lands "
                         f"({', '.join(QUERY_FIELDS)})")
    header = {raw for raw in columns}

    def convert(record: dict, line: int) -> dict:
        _cells(record)
        if set(record) == header and all(value == raw for raw, value in record.items()):
            return {}  # the header again (a log appended to by a second run)
        cell = {name: record[raw].strip() for name, raw in by_name.items()}
        uuid = cell.get("uuid") or _uuid_of(uuids, (cell.get("index"), cell.get("pci.bus_id")), "uuid")
        index = cell.get("index")
        if index is not None and not index.isdigit():
            raise Bad("index", f"not a GPU index: {index!r}")
        reading = {"ts": _local_ts(cell["timestamp"], CSV_TS_FORMATS, zone, "timestamp"), "hostname": hostname,
                   "gpu_index": int(index) if index is not None else None, "gpu_uuid": uuid,
                   "model_name": cell.get("name") or None, "mig_profile": None, "gpu_instance_id": None}
        for field, (raw, name, unit) in metrics.items():
            reading[field] = _value(record[raw], name, unit)
        return reading

    readings, rejected = convert_csv(path, convert)
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": _table([r for r in readings if r], pool)},
                        rejected={"gpu_samples": rejected})


def _read_compute_apps(path: Path, pool: str, columns: dict, zone, hostname) -> ImportResult:
    by_name = {name: raw for raw, (name, _) in columns.items()}
    if "timestamp" not in by_name or "gpu_uuid" not in by_name:
        raise ValueError(f"{path}: a compute-apps CSV lands only with the timestamp and gpu_uuid fields "
                         "(--query-compute-apps=timestamp,gpu_uuid,pid,...)")

    def convert(record: dict, line: int) -> dict:
        _cells(record)
        uuid = record[by_name["gpu_uuid"]].strip()
        if not uuid.startswith(("GPU-", "MIG-")):
            raise Bad("gpu_uuid", f"not a GPU UUID: {uuid!r}")
        return {"ts": _local_ts(record[by_name["timestamp"]], CSV_TS_FORMATS, zone, "timestamp"), "gpu_uuid": uuid}

    processes, rejected = convert_csv(path, convert)
    counts = Counter((p["ts"], p["gpu_uuid"]) for p in processes)
    readings = [{"ts": ts, "gpu_uuid": uuid, "hostname": hostname, "n_compute_procs": n}
                for (ts, uuid), n in sorted(counts.items())]
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": _table(readings, pool)},
                        rejected={"gpu_samples": rejected})


# ------------------------------------------------------------------------------------------------ dmon
def _read_dmon(path: Path, pool: str, zone, hostname, gpu_uuid, start, date,
               interval_s: float) -> ImportResult:
    lines = list(read_lines(path))
    names: list[str] = []
    for _, line, _ in lines:
        if line.startswith("#"):
            names = line[1:].split()
            break
    has_date, has_time = "Date" in names, "Time" in names
    uuids = _uuid_map(gpu_uuid)
    if not uuids:
        raise ValueError(f"{path}: dmon output names GPUs by index only: pass gpu_uuid "
                         "(a UUID, or IDX=UUID,IDX=UUID)")
    if has_time and not has_date and not date:
        raise ValueError(f"{path}: dmon output with times but no dates (-o T): pass date "
                         "(YYYY-MM-DD of its first line)")
    if not has_time and not start:
        raise ValueError(f"{path}: dmon output without timestamps (recorded without -o DT): pass start "
                         "(ISO 8601, when its first line was printed) and interval_s if -d was not 1")
    first = None
    try:
        if start and not has_time:
            parsed = dt.datetime.fromisoformat(start)
            first = parsed.astimezone(dt.UTC) if parsed.tzinfo else _utc(parsed, zone)
        day = dt.date.fromisoformat(date) if date and not has_date else None
    except ValueError:
        raise ValueError(f"start {start!r} / date {date!r}: expected ISO 8601 "
                         "(2026-11-27T18:25:49, 2026-11-27)") from None
    if not interval_s > 0:
        raise ValueError(f"interval_s {interval_s!r}: must be > 0")

    readings, rejected = [], []
    units: list[str] | None = None
    seen: Counter = Counter()
    previous_time = None
    for number, line, unreadable in lines:
        if not line.strip():
            continue
        raw = line
        if unreadable is None and line.startswith("#"):
            tokens = line[1:].split()
            if tokens == names or (units is not None and tokens == units):
                continue
            if units is None:
                units = tokens
            else:  # a header naming other columns: a new section
                names, units = tokens, None
            continue
        try:
            if unreadable is not None:
                raise unreadable
            cells = line.split()
            if units is None or len(units) != len(names):
                raise Bad(LINE, "line before the dmon header's two # lines")
            if len(cells) != len(names):
                raise Bad(LINE, f"line has {len(cells)} cells, the header names {len(names)}")
            cell = dict(zip(names, cells, strict=True))
            index = cell.get("gpu", "")
            if not index.isdigit():
                raise Bad("gpu", f"not a GPU index: {index!r}")
            if has_date:
                ts = _local_ts(f"{cell['Date']} {cell['Time']}", ("%Y%m%d %H:%M:%S",), zone, "Date/Time")
            elif has_time:
                clock = _local_ts(f"2000-01-01 {cell['Time']}", ("%Y-%m-%d %H:%M:%S",), dt.UTC, "Time").time()
                if previous_time is not None and clock < previous_time:
                    day += dt.timedelta(days=1)
                previous_time = clock
                ts = _utc(dt.datetime.combine(day, clock), zone)
            else:
                ts = first + dt.timedelta(seconds=interval_s * seen[index])
            reading = {"ts": ts, "hostname": hostname, "gpu_index": int(index),
                       "gpu_uuid": _uuid_of(uuids, (index,), "gpu"), "model_name": None,
                       "mig_profile": None, "gpu_instance_id": None}
            for column, (field, unit) in DMON_COLUMNS.items():
                if column in cell:
                    got = units[names.index(column)]
                    if got != unit:
                        raise Bad(column, f"unit {got!r} in the header, expected {unit!r}")
                    reading[field] = _value(cell[column], column, unit)
            seen[index] += 1
            readings.append(reading)
        except ValueError as exc:
            rejected.append(reject(path, number, exc, raw))
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": _table(readings, pool)},
                        rejected={"gpu_samples": rejected})


# ------------------------------------------------------------------------------------------------ XML
def _parse_xml(path: Path) -> tuple[ET.Element, dict[int, int]]:
    """The document and the line of each element (by id), for quarantine records."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    lines: dict[int, int] = {}

    def start(tag: str, attrs: dict) -> None:
        lines[id(builder.start(tag, attrs))] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        with open(path, "rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        raise ValueError(f"{path}: not well-formed XML ({exc})") from None
    return builder.close(), lines


def _read_xml(path: Path, pool: str, zone, hostname) -> ImportResult:
    root, lines = _parse_xml(path)
    if root.tag != "nvidia_smi_log":
        raise ValueError(f"{path}: XML whose root is <{root.tag}>, not nvidia-smi -q -x's <nvidia_smi_log>")
    stamp = root.find("timestamp")
    try:
        ts = _local_ts(stamp.text if stamp is not None else None, ("%a %b %d %H:%M:%S %Y",), zone, "timestamp")
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}: the report's time is required") from None
    readings, rejected = [], []
    for position, gpu in enumerate(root.findall("gpu")):
        element = gpu  # the element a quarantine record points at (its line)
        try:
            uuid = (gpu.findtext("uuid") or "").strip()
            if not uuid:
                raise Bad("uuid", "required value is missing")
            reading = {"ts": ts, "hostname": hostname, "gpu_index": position, "gpu_uuid": uuid,
                       "model_name": (gpu.findtext("product_name") or "").strip() or None,
                       "mig_profile": None, "gpu_instance_id": None}
            for element_path, field, unit in XML_FIELDS:
                found = gpu.find(element_path)
                if found is not None and reading.get(field) is None:
                    element = found
                    reading[field] = _value(found.text, element_path, unit)
            reasons = gpu.find("clocks_event_reasons")
            if reasons is None:
                reasons = gpu.find("clocks_throttle_reasons")
            if reasons is not None:
                mask = 0
                for element in reasons:
                    name = re.sub(r"^clocks_(event|throttle)_reason_", "", element.tag)
                    if (element.text or "").strip() == "Active":
                        if name not in EVENT_REASON_BITS:
                            raise Bad(element.tag, "Active, but no NVML clock-event reason bit is known for it")
                        mask |= EVENT_REASON_BITS[name]
                reading["clocks_event_reasons"] = float(mask)
            processes = gpu.find("processes")
            if processes is not None:
                reading["n_compute_procs"] = sum("C" in (p.findtext("type") or "") for p in processes)
            readings.append(reading)
        except ValueError as exc:
            rejected.append(reject(path, lines[id(element)], exc, f"<gpu id={gpu.get('id', '')!r}> (GPU {position})"))
    if not readings and not rejected:
        raise ValueError(f"{path}: an nvidia-smi report without a <gpu> element")
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": _table(readings, pool)},
                        rejected={"gpu_samples": rejected})


# ------------------------------------------------------------------------------------------------ entry
def read_nvidia_smi(path: str | Path, pool: str, hostname: str | None = None, tz: str | None = None,
                    gpu_uuid: str | None = None, start: str | None = None, date: str | None = None,
                    interval_s: float = 1.0) -> ImportResult:
    """Read an nvidia-smi log (query-gpu CSV, dmon, -q -x XML or compute-apps CSV) into gpu_samples."""
    path = Path(path)
    zone = _zone(tz)
    with open(path, encoding="utf-8", errors="replace") as fh:  # enough to tell the format; lines are read later
        head = fh.read(4096)
    first = next((line for line in head.splitlines() if line.strip()), "").strip().lstrip("\ufeff")
    if first.startswith("<"):
        return _read_xml(path, pool, zone, hostname)
    if first.startswith("#") and "gpu" in first[1:].split():
        return _read_dmon(path, pool, zone, hostname, gpu_uuid, start, date, interval_s)
    columns = _columns(first)
    names = {name for name, _ in columns.values()}
    if "pid" in names:
        return _read_compute_apps(path, pool, columns, zone, hostname)
    if names & (set(QUERY_FIELDS) | {"timestamp", "uuid", "index", "pci.bus_id", "name"}):
        return _read_query_gpu(path, pool, columns, zone, hostname, gpu_uuid)
    raise ValueError(f"{path}: not an nvidia-smi log this importer reads (query-gpu or compute-apps CSV with "
                     f"its header, dmon output, -q -x XML); first line: {first[:80]!r}")
