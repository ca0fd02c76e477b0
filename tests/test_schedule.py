"""The daily schedule: on by default, 06:00 Shanghai, yesterday's partition, and a skip (with its reason) for a
day the configured data does not cover (the simulated cluster's days are fixed)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.defs import schedules
from orchestration.defs.schedules import last_complete_utc_day

TICK = dt.datetime(2026, 11, 27, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # 22:00 UTC on the 26th


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def evaluate(defs, monkeypatch, partitions: dg.DailyPartitionsDefinition) -> dg.RunRequest | dg.SkipReason:
    """The schedule's answer at TICK, were the configured data's days `partitions`."""
    monkeypatch.setattr(schedules, "daily", partitions)
    with dg.build_schedule_context(scheduled_execution_time=TICK, repository_def=defs.get_repository_def()) as ctx:
        return schedules.daily_refresh_schedule(ctx)


def test_the_schedule_is_running_from_the_start_at_six_in_shanghai(defs):
    schedule = defs.resolve_schedule_def("daily_refresh_0600_shanghai")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Asia/Shanghai")


def test_a_cluster_up_to_yesterday_refreshes_the_last_complete_utc_day(defs, monkeypatch):
    request = evaluate(defs, monkeypatch, dg.DailyPartitionsDefinition(start_date="2026-11-01", timezone="UTC"))
    assert isinstance(request, dg.RunRequest) and request.partition_key == "2026-11-25"
    assert last_complete_utc_day(dt.datetime(2026, 11, 27, 1, tzinfo=dt.UTC)) == dt.date(2026, 11, 26)


def test_a_day_past_the_configured_data_is_skipped_with_the_reason(defs, monkeypatch):
    fixed = dg.DailyPartitionsDefinition(start_date="2026-10-05", end_date="2026-10-26", timezone="UTC")
    skip = evaluate(defs, monkeypatch, fixed)
    assert isinstance(skip, dg.SkipReason)
    assert "no partition for 2026-11-25" in skip.skip_message and "2026-10-05 to 2026-10-25" in skip.skip_message


def test_a_tick_on_a_day_of_the_demo_requests_that_days_partition(defs):
    schedule = defs.resolve_schedule_def("daily_refresh_0600_shanghai")
    tick = dt.datetime(2026, 10, 22, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # 22:00 UTC on the 21st
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def()) as ctx:
        request = schedule.evaluate_tick(ctx).run_requests[0]
    assert request.partition_key == "2026-10-20"


def test_on_the_simulated_cluster_a_tick_past_its_days_is_skipped_not_failed(defs):
    schedule = defs.resolve_schedule_def("daily_refresh_0600_shanghai")
    with dg.build_schedule_context(scheduled_execution_time=TICK, repository_def=defs.get_repository_def()) as ctx:
        data = schedule.evaluate_tick(ctx)
    assert not data.run_requests and "simulated cluster" in data.skip_message
