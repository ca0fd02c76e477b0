-- arrival <= scheduled <= first token <= end, where present (warn: one bad request log line
-- must not block the daily build; it is visible in the test results).
{{ config(severity='warn') }}

select request_id, arrival_ts, scheduled_ts, first_token_ts, end_ts
from {{ ref('stg_landing__inference_requests') }}
where {{ run_days_filter('landing_date') }}  -- the run's days (all without vars)
  and (scheduled_ts < arrival_ts
       or first_token_ts < coalesce(scheduled_ts, arrival_ts)
       or end_ts < coalesce(first_token_ts, scheduled_ts, arrival_ts))
