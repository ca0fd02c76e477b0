"""nvidia-smi logs (the real H200 recordings in shared/fixtures/nvidia_smi) into gpu_samples: each format
detected by content, every line landed under the sampler's DCGM names, the power-capped burst visible,
bad lines quarantined by line and field, and files that cannot be placed in time or GPU refused in one line."""

from __future__ import annotations

import datetime as dt

import pytest

from ingestion.cli import main
from ingestion.importers import land, read_log
from ingestion.importers.nvidia_smi import read_nvidia_smi

UUID = "GPU-ec60bdaf-864c-a533-ec44-74d28ff55ead"
FIXTURES = "fixtures/nvidia_smi"
# the README's 20 s of power-capped matrix products: the first and last query-gpu readings with the SW power cap
# as their clock-event reason (local times, read as UTC in these tests)
BURST = (dt.datetime(2026, 11, 27, 18, 26, 2, 5000, dt.UTC), dt.datetime(2026, 11, 27, 18, 26, 21, 601000, dt.UTC))


@pytest.fixture
def smi(shared):
    return shared / FIXTURES


def _series(result, metric: str) -> dict[dt.datetime, float]:
    rows = result.tables["gpu_samples"].to_pylist()
    return {r["ts"]: r["value"] for r in rows if r["metric"] == metric}


def _data_lines(path) -> list[str]:
    return [line for line in path.read_text().splitlines()[1:] if line.strip()]


def test_query_gpu_csv_lands_every_reading(smi):
    result = read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", hostname="h200-a", tz="UTC")
    assert result.rejected == {"gpu_samples": []}
    table = result.tables["gpu_samples"]
    lines = _data_lines(smi / "nvidia_smi_query_gpu.csv")
    # 11 landed fields per line (utilization.gpu/.memory, memory.total/used/free, power.draw, power.limit,
    # clocks.current.sm/.memory, temperature.gpu, clocks_event_reasons.active); none is [N/A] here
    assert table.num_rows == 11 * len(lines) == 1353
    rows = table.to_pylist()
    assert {(r["pool"], r["hostname"], r["gpu_uuid"], r["model_name"], r["source"]) for r in rows} == {
        ("lab", "h200-a", UUID, "NVIDIA H200", "nvidia-smi")}
    assert {r["gpu_index"] for r in rows} == {None}  # the field list has no `index`
    first = {r["metric"]: r["value"] for r in rows if r["ts"] == dt.datetime(2026, 11, 27, 18, 25, 49, 370000, dt.UTC)}
    assert first == {
        "DCGM_FI_DEV_GPU_UTIL": 0, "DCGM_FI_DEV_MEM_COPY_UTIL": 0, "DCGM_FI_DEV_FB_TOTAL": 143771,
        "DCGM_FI_DEV_FB_USED": 0, "DCGM_FI_DEV_FB_FREE": 143156, "DCGM_FI_DEV_POWER_USAGE": 78.03,
        "DCGM_FI_DEV_POWER_MGMT_LIMIT": 700, "DCGM_FI_DEV_SM_CLOCK": 345, "DCGM_FI_DEV_MEM_CLOCK": 3201,
        "DCGM_FI_DEV_GPU_TEMP": 34, "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": 1,  # 0x1: GPU idle
    }


def test_query_gpu_csv_shows_the_power_capped_burst(smi):
    result = read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", tz="UTC")
    power, sm = _series(result, "DCGM_FI_DEV_POWER_USAGE"), _series(result, "DCGM_FI_DEV_SM_CLOCK")
    reasons = _series(result, "DCGM_FI_DEV_CLOCKS_EVENT_REASONS")
    limit = _series(result, "DCGM_FI_DEV_POWER_MGMT_LIMIT")
    capped = sorted(ts for ts, mask in reasons.items() if mask == 4)  # 0x4: SW power cap, nothing else
    assert (capped[0], capped[-1]) == BURST and len(capped) == 40  # the 20 s burst, a reading every 0.5 s
    assert {ts for ts, watts in power.items() if watts > 600} <= set(capped)
    assert set(limit.values()) == {700.0}
    steady = capped[2:-1]  # past the ramp up (350, 640 W) and before the ramp down (601 W)
    assert all(680 <= power[ts] < 700 for ts in steady)
    assert all(1400 <= sm[ts] <= 1560 for ts in steady)  # held down from the 1980 MHz it runs at after
    assert sum(sm[ts] for ts in steady) / len(steady) == pytest.approx(1500, abs=20)
    after = [ts for ts in power if BURST[1] + dt.timedelta(seconds=1) < ts < BURST[1] + dt.timedelta(seconds=20)]
    assert {sm[ts] for ts in after} == {1980.0} and max(power[ts] for ts in after) < 130
    assert {reasons[ts] for ts in after} == {0.0}


def test_timestamps_are_read_in_the_given_zone(smi):
    utc = read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", tz="UTC")
    shanghai = read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", tz="Asia/Shanghai")
    offset = read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", tz="+08:00")
    first = min(_series(utc, "DCGM_FI_DEV_POWER_USAGE"))
    assert min(_series(shanghai, "DCGM_FI_DEV_POWER_USAGE")) == first - dt.timedelta(hours=8)
    assert min(_series(offset, "DCGM_FI_DEV_POWER_USAGE")) == first - dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="not a time zone"):
        read_nvidia_smi(smi / "nvidia_smi_query_gpu.csv", "lab", tz="Mars/Olympus")


def test_dmon_needs_a_start_and_a_uuid(smi):
    path = smi / "nvidia_smi_dmon.txt"
    with pytest.raises(ValueError, match="names GPUs by index only: pass gpu_uuid"):
        read_nvidia_smi(path, "lab", start="2026-11-27T18:25:49")
    with pytest.raises(ValueError, match=r"without timestamps \(recorded without -o DT\): pass start"):
        read_nvidia_smi(path, "lab", gpu_uuid=UUID)


def test_dmon_lands_every_line_and_the_burst(smi):
    path = smi / "nvidia_smi_dmon.txt"
    result = read_nvidia_smi(path, "lab", tz="UTC", gpu_uuid=f"0={UUID}", start="2026-11-27T18:25:49")
    assert result.rejected == {"gpu_samples": []}
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 60  # the header repeated at lines 47-48 is skipped
    table = result.tables["gpu_samples"]
    # pwr gtemp mtemp sm mem mclk pclk fb: 8 readings a line (pviol/tviol, enc/dec/jpg/ofa, bar1, ecc, pci: not landed)
    assert table.num_rows == 8 * len(lines)
    assert set(table["metric"].to_pylist()) == {
        "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_MEMORY_TEMP", "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_MEM_COPY_UTIL", "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_FB_USED"}
    assert {(r["gpu_index"], r["gpu_uuid"]) for r in table.to_pylist()} == {(0, UUID)}
    power, pclk = _series(result, "DCGM_FI_DEV_POWER_USAGE"), _series(result, "DCGM_FI_DEV_SM_CLOCK")
    start = dt.datetime(2026, 11, 27, 18, 25, 49, tzinfo=dt.UTC)
    assert sorted(power) == [start + dt.timedelta(seconds=k) for k in range(60)]  # one line a second (-d 1)
    # the lines dmon marks 100% power-capped (pviol, read from the raw file) are the ones at >= 680 W, clocks down
    pviol = [line.split()[12] == "100" for line in lines]
    capped = sorted(ts for ts, watts in power.items() if watts >= 680)
    assert capped == [start + dt.timedelta(seconds=k) for k, flag in enumerate(pviol) if flag] and len(capped) == 18
    assert all(1470 <= pclk[ts] <= 1545 for ts in capped)
    assert max(power.values()) == 694 and pclk[start] == 345


def test_dmon_with_a_time_zone_offset_in_start(smi):
    result = read_nvidia_smi(smi / "nvidia_smi_dmon.txt", "lab", gpu_uuid=UUID, start="2026-11-28T02:25:49+08:00",
                             interval_s=2)
    power = sorted(_series(result, "DCGM_FI_DEV_POWER_USAGE"))
    assert power[0] == dt.datetime(2026, 11, 27, 18, 25, 49, tzinfo=dt.UTC)
    assert power[-1] - power[0] == dt.timedelta(seconds=2 * 59)


def test_xml_report_is_one_snapshot(smi):
    result = read_nvidia_smi(smi / "nvidia_smi_q.xml", "lab", hostname="h200-a", tz="UTC")
    assert result.rejected == {"gpu_samples": []}
    rows = result.tables["gpu_samples"].to_pylist()
    assert {(r["ts"], r["gpu_index"], r["gpu_uuid"], r["model_name"], r["hostname"]) for r in rows} == {
        (dt.datetime(2026, 11, 27, 18, 25, 49, tzinfo=dt.UTC), 0, UUID, "NVIDIA H200", "h200-a")}
    assert {r["metric"]: r["value"] for r in rows} == {
        "DCGM_FI_DEV_GPU_UTIL": 0, "DCGM_FI_DEV_MEM_COPY_UTIL": 0, "DCGM_FI_DEV_FB_USED": 0,
        "DCGM_FI_DEV_FB_FREE": 143156, "DCGM_FI_DEV_FB_TOTAL": 143771,
        "DCGM_FI_DEV_POWER_USAGE": 78.07,  # average_power_draw, what power.draw reports on Hopper
        "DCGM_FI_DEV_POWER_MGMT_LIMIT": 700, "DCGM_FI_DEV_SM_CLOCK": 345, "DCGM_FI_DEV_MEM_CLOCK": 3201,
        "DCGM_FI_DEV_GPU_TEMP": 34, "DCGM_FI_DEV_MEMORY_TEMP": 35,
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": 1,  # only clocks_event_reason_gpu_idle is Active
        "NVML_COMPUTE_PROCESSES": 0,  # <processes> is empty
    }


def test_xml_bad_value_is_quarantined_with_its_line(smi, tmp_path):
    text = (smi / "nvidia_smi_q.xml").read_text()
    lines = text.splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, start=1) if "<average_power_draw>78.07 W" in line)
    bad = tmp_path / "q.xml"
    bad.write_text(text.replace("<average_power_draw>78.07 W<", "<average_power_draw>78.07 kW<", 1))
    result = read_nvidia_smi(bad, "lab", tz="UTC")
    [record] = result.rejected["gpu_samples"]
    assert (record["record"], record["field"]) == (number, "gpu_power_readings/average_power_draw")
    assert record["reason"] == "field 'gpu_power_readings/average_power_draw': unit 'kW', expected 'W'"
    assert record["row"] == "<gpu id='00000000:00:06.0'> (GPU 0)"
    assert result.tables["gpu_samples"].num_rows == 0


def test_compute_apps_count_processes_per_gpu(smi):
    result = read_nvidia_smi(smi / "nvidia_smi_compute_apps.csv", "lab", hostname="h200-a", tz="UTC")
    assert result.rejected == {"gpu_samples": []}
    [row] = result.tables["gpu_samples"].to_pylist()
    assert (row["ts"], row["gpu_uuid"], row["hostname"], row["metric"], row["value"]) == (
        dt.datetime(2026, 11, 27, 18, 26, 5, 368000, dt.UTC), UUID, "h200-a", "NVML_COMPUTE_PROCESSES", 1.0)
    assert BURST[0] <= row["ts"] <= BURST[1]  # the workload's python3 process, during the burst


def test_bad_csv_lines_are_quarantined_by_line_and_field(smi, tmp_path):
    lines = (smi / "nvidia_smi_query_gpu.csv").read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace("78.00 W", "78.00 kW")  # line 5
    lines[6] = lines[6].replace("2026/11/27 18:25:51.", "2026/13/27 18:25:51.")  # line 7
    lines[8] = lines[8].replace(", 0 %, 0 %,", ", 0 %, zero %,")  # line 9
    lines[10] = lines[10].replace(", Disabled", "")  # line 11
    bad = tmp_path / "smi.csv"
    bad.write_text("".join(lines))
    result = read_nvidia_smi(bad, "lab", tz="UTC")
    assert {r["record"]: r["field"] for r in result.rejected["gpu_samples"]} == {
        5: "power.draw", 7: "timestamp", 9: "utilization.memory", 11: "line"}
    reasons = {r["record"]: r["reason"] for r in result.rejected["gpu_samples"]}
    assert reasons == {
        5: "field 'power.draw': unit 'kW', expected 'W'",
        7: "field 'timestamp': not a timestamp: '2026/13/27 18:25:51.902'",
        9: "field 'utilization.memory': not a number: 'zero %'",
        11: "line has fewer cells than the header",
    }
    assert result.tables["gpu_samples"].num_rows == 11 * (len(lines) - 1 - 4)


def test_csv_without_uuid_takes_it_from_the_bus_id(smi, tmp_path):
    rows = [line.split(", ") for line in (smi / "nvidia_smi_query_gpu.csv").read_text().splitlines()]
    no_uuid = tmp_path / "no_uuid.csv"
    no_uuid.write_text("\n".join(", ".join(cells[:3] + cells[4:]) for cells in rows) + "\n")
    with pytest.raises(ValueError, match="no uuid field: add uuid to --query-gpu or pass gpu_uuid"):
        read_nvidia_smi(no_uuid, "lab", tz="UTC")
    result = read_nvidia_smi(no_uuid, "lab", tz="UTC", gpu_uuid=f"00000000:00:06.0={UUID}")
    assert result.rejected == {"gpu_samples": []}
    assert set(result.tables["gpu_samples"]["gpu_uuid"].to_pylist()) == {UUID}
    other = read_nvidia_smi(no_uuid, "lab", tz="UTC", gpu_uuid="00000000:00:07.0=GPU-other")
    assert len(other.rejected["gpu_samples"]) == len(rows) - 1
    assert other.rejected["gpu_samples"][0]["reason"] == (
        "field 'uuid': GPU '00000000:00:06.0' is not named by the gpu_uuid option")


def test_other_files_are_refused_in_one_line(smi, tmp_path):
    with pytest.raises(ValueError, match="not an nvidia-smi log this importer reads"):
        read_nvidia_smi(smi / "README.md", "lab")
    binary = tmp_path / "log.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ValueError, match="not an nvidia-smi log this importer reads"):
        read_nvidia_smi(binary, "lab")
    truncated = tmp_path / "q.xml"
    truncated.write_text((smi / "nvidia_smi_q.xml").read_text()[:2000])
    with pytest.raises(ValueError, match="not well-formed XML"):
        read_nvidia_smi(truncated, "lab")


def test_registered_kind_lands_through_the_cli(smi, tmp_path, capsys):
    source, result = read_log("nvidia-smi", smi / "nvidia_smi_q.xml", "lab", tz="UTC")
    assert source == "nvidia-smi"
    [landed] = land(result, source, base=tmp_path / "api")
    assert (landed.dataset, landed.day, landed.rows, landed.quarantined) == (
        "gpu_samples", dt.date(2026, 11, 27), 13, 0)
    for name, rows in (("nvidia_smi_query_gpu.csv", 1353), ("nvidia_smi_q.xml", 13),
                       ("nvidia_smi_compute_apps.csv", 1)):
        assert main(["import", "nvidia-smi", str(smi / name), "--pool", "lab", "--data-dir", str(tmp_path)]) == 0
        assert f": {rows} rows, 0 quarantined" in capsys.readouterr().out
    assert main(["import", "nvidia-smi", str(smi / "nvidia_smi_dmon.txt"), "--pool", "lab",
                 "--data-dir", str(tmp_path)]) == 2
    assert "names GPUs by index only: pass gpu_uuid" in capsys.readouterr().err


def test_bad_dmon_lines_are_quarantined_alone(smi, tmp_path):
    data = (smi / "nvidia_smi_dmon.txt").read_bytes().split(b"\n")
    data[4] = data[4].replace(b"  3201", b"  32\xff1", 1)  # line 5: not UTF-8
    data[9] = data[9][:40]  # line 10: cut short
    data[15] = data[15].replace(b"  688 ", b"  6x8 ", 1)  # line 16: pwr is not a number
    bad = tmp_path / "dmon.txt"
    bad.write_bytes(b"\n".join(data))
    result = read_nvidia_smi(bad, "lab", tz="UTC", gpu_uuid=UUID, start="2026-11-27T18:25:49")
    assert [(r["record"], r["field"]) for r in result.rejected["gpu_samples"]] == [
        (5, "line"), (10, "line"), (16, "pwr")]
    assert result.rejected["gpu_samples"][0]["reason"] == "not valid UTF-8: byte 0xff at column 74"
    assert result.rejected["gpu_samples"][1]["reason"] == "line has 6 cells, the header names 22"
    assert result.tables["gpu_samples"].num_rows == 8 * 57
