"""Azure LLM inference trace 2023 (Splitwise, ISCA'24) into `inference_requests`, arrivals only.

Columns: TIMESTAMP (invocation time, e.g. `2023-11-16 18:17:03.9799600`, no zone: read in `tz`,
default UTC; the 7th fractional digit is dropped), ContextTokens, GeneratedTokens.

The trace has arrivals and token counts, no latencies. Convention (flagged, not a measurement):
- request_id = `<file stem>/<line number>`; service = `azure-llm-<code|conv>` from the file name unless
  given; replica, gpu_uuid, cached_prompt_tokens = null.
- arrival_ts = TIMESTAMP; prompt_tokens = ContextTokens; output_tokens = GeneratedTokens; status = `ok`
  (the trace lists served requests with their generated token counts).
- scheduled_ts, first_token_ts and end_ts are null: nothing in the trace says when a request finished.
  An extra column `latency_observed` (false) marks the rows. They land (the contract allows a null
  end_ts), so arrival rates and token mixes are usable, while latency percentiles skip them. Land such a
  trace in its own pool: it is demand, not a measurement of your serving stack.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from ingestion.importers import ImportResult, convert_csv, to_table
from ingestion.importers.values import number, timestamp


def read_azure_llm_trace(path: str | Path, pool: str, service: str | None = None,
                         tz: dt.tzinfo = dt.UTC) -> ImportResult:
    """Read one AzureLLMInferenceTrace_*.csv; `tz` is the zone of its naive TIMESTAMP values."""
    path = Path(path)
    service = service or f"azure-llm-{path.stem.rsplit('_', 1)[-1].lower()}"

    def convert(record: dict, line: int) -> dict:
        return {"request_id": f"{path.stem}/{line}", "pool": pool, "service": service,
                "arrival_ts": timestamp(record.get("TIMESTAMP"), "TIMESTAMP", tz=tz, required=True),
                "prompt_tokens": number(record.get("ContextTokens"), "ContextTokens", integer=True, required=True,
                                        minimum=0),
                "output_tokens": number(record.get("GeneratedTokens"), "GeneratedTokens", integer=True,
                                        required=True, minimum=0),
                "status": "ok"}

    rows, rejected = convert_csv(path, convert, "inference_requests")
    table = to_table("inference_requests", rows)
    table = table.append_column("latency_observed", pa.array([False] * table.num_rows, pa.bool_()))
    return ImportResult(pool=pool, origin=str(path), tables={"inference_requests": table},
                        rejected={"inference_requests": rejected})
