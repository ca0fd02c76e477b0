"""Daily refresh at 06:00 Asia/Shanghai: land and build the last complete UTC day, then marts and deck."""


import datetime as dt

import dagster as dg

daily_refresh_job = dg.define_asset_job(
    "daily_refresh",
    selection=dg.AssetSelection.all(),
    description="One day's landing partition and incremental models, then the marts and the deck.",
)


def last_complete_utc_day(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date() - dt.timedelta(days=1)


@dg.schedule(
    job=daily_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Shanghai",
    name="daily_refresh_0600_shanghai",
    description="Every day at 06:00 Asia/Shanghai: refresh yesterday (the last complete UTC day), rebuild the deck.",
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = last_complete_utc_day(context.scheduled_execution_time)
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
