"""`gpu-eff`: the command-line entry points that do not need Dagster (which is slow to import)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

from ingestion.importers import KINDS


def _simulate(args: argparse.Namespace) -> int:
    from ingestion.simulator.replay_cache import load_or_simulate
    from ingestion.simulator.run import check_invariants, land_config, land_day

    base = Path(args.data_dir).resolve() if args.data_dir else None
    started = time.monotonic()
    sim = load_or_simulate(args.scenario, base)
    scenario = sim.scenario
    print(f"simulated {scenario.name}: {scenario.gpu_count} GPUs, {scenario.days} days, {len(sim.jobs)} jobs, "
          f"{len(sim.requests.request_id)} requests in {time.monotonic() - started:.1f}s", flush=True)
    # The whole scenario's telemetry at once only where it is small; a large one is built day by day.
    problems = check_invariants(sim, telemetry_checks=scenario.gpu_count * scenario.minutes <= 20_000_000)
    if problems:
        print("invariant violated: " + "; ".join(problems), file=sys.stderr)
        return 1
    land_config(scenario, base)
    days = scenario.dates()
    if args.day:
        days = [dt.date.fromisoformat(d) for d in args.day]
    from ingestion.progress import Progress

    with Progress(len(days), f"landing {scenario.name}", lambda line: print(line, flush=True)) as shown:
        for day in days:
            landed = land_day(sim, day, base)
            shown.step(", ".join([str(day)] + [f"{f.dataset}={f.rows}" for f in landed]),
                       sum(f.rows for f in landed))
    return 0


def window_days(scenario: str | None = None) -> tuple[dt.date, dt.date]:
    """The days a full backfill covers: the scenario's days, or from the first configured stage to yesterday."""
    from ingestion.config import load_config
    from ingestion.from_config import first_day

    config = None if scenario else load_config()
    scenario = scenario or config.scenario
    if scenario is not None:
        from ingestion.simulator.scenario import load_scenario

        days = load_scenario(scenario).dates()
        return days[0], days[-1]
    return first_day(config), dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def _window(args: argparse.Namespace) -> int:
    first, last = window_days(args.scenario)
    print(f"{first.isoformat()}...{last.isoformat()}")
    return 0


# kind -> the pool when --pool is not given (every other kind requires --pool)
DEFAULT_POOLS = {"h200-lab": "lab-h200"}
DIRECTORY_KINDS = {"h200-lab"}  # kinds that also read a directory (the lab recording)
# kind -> the `gpu-eff import` options its reader takes (argparse names = the reader's keyword arguments)
KIND_OPTIONS = {"dcgm-text": ("scrape_ts",),
                "serving-text": ("scrape_ts", "namespace", "pod"),
                "nvidia-smi": ("hostname", "tz", "gpu_uuid", "start", "date", "interval_s")}


def _import(args: argparse.Namespace) -> int:
    from ingestion import landing
    from ingestion.importers import input_name, land, read_log

    path = Path(args.path)
    if not (path.is_file() or (args.kind in DIRECTORY_KINDS and path.is_dir())):
        print(f"gpu-eff import: {path}: no such file", file=sys.stderr)
        return 2
    pool = args.pool or DEFAULT_POOLS.get(args.kind)
    if pool is None:
        print(f"gpu-eff import {args.kind}: --pool is required", file=sys.stderr)
        return 2
    try:
        landing.check_name("--pool", pool)
        if args.batch is not None:
            landing.check_name("--batch", args.batch)
    except ValueError as exc:
        print(f"gpu-eff import {args.kind}: {exc}", file=sys.stderr)
        return 2
    options = {name: getattr(args, name) for name in KIND_OPTIONS.get(args.kind, ())
               if getattr(args, name) is not None}
    try:
        source, result = read_log(args.kind, path, pool, **options)
    except ValueError as exc:  # the reader refused the file as a whole; its message names the file
        print(f"gpu-eff import {args.kind}: {exc}", file=sys.stderr)
        return 2
    for note in result.notes():
        print(note)
    base = Path(args.data_dir).resolve() if args.data_dir else None
    landed_files = land(result, source, base, progress=lambda line: print(line, flush=True), batch=args.batch)
    reasons: Counter[str] = Counter()
    for landed in landed_files:
        day = landed.day.isoformat() if landed.day else "-"
        print(f"{landed.dataset} {day}: {landed.rows} rows, {landed.quarantined} quarantined -> {landed.path}")
        reasons.update(landed.reasons)
    for name, records in sorted(result.rejected.items()):
        if records and not any(f.dataset == name for f in landed_files):
            print(f"{name} -: 0 rows, {len(records)} quarantined (no valid row to land)")
            reasons.update(landing.reason_category(str(r.get("reason", ""))) for r in records)
    identity = args.batch or str(Path(result.origin).resolve())
    return _import_summary(sum(f.rows for f in landed_files), reasons, identity,
                           f"{source}-{pool}@{input_name(result, args.batch)}", args.max_quarantined_percent)


def _import_summary(rows: int, reasons: Counter[str], identity: str, stem: str, max_percent: float) -> int:
    """Print the import's one summary line; 1 when nothing landed or too large a share was quarantined."""
    quarantined = sum(reasons.values())
    share = 100 * quarantined / (rows + quarantined) if quarantined else 0.0
    by_reason = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
    line = (f"landed {rows} rows, quarantined {quarantined} ({share:.1f}%{': ' + by_reason if by_reason else ''}) "
            f"as input {identity} (files {stem}.*)")
    if rows == 0:
        print(f"gpu-eff import: FAILED, nothing landed: {line}", file=sys.stderr)
        return 1
    if share > max_percent:
        print(f"gpu-eff import: FAILED, {share:.1f}% quarantined is above --max-quarantined-percent "
              f"{max_percent:g}: {line}", file=sys.stderr)
        return 1
    print(line)
    return 0


def _percent(text: str) -> float:
    """A percentage, 0 to 100."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a percentage must be within 0-100")
    return value


def _duration(text: str) -> float:
    """`15s`, `5m`, `1h`, `250ms` or plain seconds (`0.5`) -> seconds (> 0)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    raw = text.strip().lower()
    unit = next((u for u in ("ms", "s", "m", "h") if raw.endswith(u)), "")
    try:
        seconds = float(raw[: len(raw) - len(unit)]) * units.get(unit, 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (like 15s, 5m, 1h or 30)") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be > 0")
    return seconds


def _run_collect(args: argparse.Namespace, poll, *, source: str, interval_s: float, secrets: tuple[str, ...],
                 describe: str, error_target: str | None = None, deadline_s: float | None = None,
                 max_workers: int = 1) -> int:
    import logging
    import threading

    from ingestion import landing, paths
    from ingestion.collector import redact, run_collector, stop_on_signals

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = Path(args.data_dir).resolve() if args.data_dir else None
    try:
        landing.check_name("--pool", args.pool)
    except ValueError as exc:
        print(f"gpu-eff collect: {exc}", file=sys.stderr)
        return 2
    print(redact(f"collecting {describe} for pool {args.pool} every {interval_s:g}s, landing every "
                 f"{args.flush_every:g}s under {paths.landing_dir(base)}", secrets), flush=True)
    stop = threading.Event()
    try:
        with stop_on_signals(stop):
            stats = run_collector(
                poll, source=source, pool=args.pool, interval_s=interval_s, flush_every_s=args.flush_every,
                base=base, stop_event=stop, deadline_s=deadline_s, max_polls=1 if args.once else None,
                error_target=error_target, secrets=secrets, progress=lambda line: print(line, flush=True),
                max_workers=max_workers)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"gpu-eff collect: {redact(str(exc), secrets)}", file=sys.stderr)
        return 1
    print(f"stopped after {stats.ticks} tick(s): {stats.rows} gpu_samples rows landed, scrapes "
          f"{stats.scrapes_ok} ok, {stats.scrapes_failed} failed", flush=True)
    if args.once and stats.scrapes_ok == 0:
        return 1
    return 0


def _collect_dcgm(args: argparse.Namespace) -> int:
    import os
    from dataclasses import replace

    from ingestion.collector import scrape_deadline
    from ingestion.sources.dcgm_scrape import ScrapeConfig, Scraper
    from ingestion.yaml_keys import is_env_name

    targets = list(args.target or [])
    interval, timeout, retries = args.interval, args.timeout, args.retries
    bearer, user, password = args.bearer_token_env, args.basic_user, args.basic_password_env
    verify: bool | str = False if args.insecure else (args.ca_file or True)
    if not targets:  # the configured dcgm_exporter source supplies what the flags leave out
        from ingestion.config import load_config
        from ingestion.yaml_keys import ConfigError

        try:
            configured = load_config().dcgm_exporter
        except ConfigError as exc:
            print(f"gpu-eff collect dcgm: {exc}", file=sys.stderr)
            return 2
        if configured is None:
            print("gpu-eff collect dcgm: give --target URL (GPU_EFF_CONFIG names no dcgm_exporter source)",
                  file=sys.stderr)
            return 2
        targets = list(configured.targets)
        interval = interval or configured.interval_s
        timeout = timeout if timeout is not None else configured.timeout_s
        retries = retries if retries is not None else configured.retries
        auth = configured.auth
        bearer = bearer or auth.bearer_token_env
        user = user if user is not None else auth.basic_auth_user
        password = password or auth.basic_auth_password_env
        if not args.insecure and not args.ca_file and not auth.verify_tls:
            verify = False
    for option, name in (("--bearer-token-env", bearer), ("--basic-password-env", password)):
        if name and not is_env_name(name):  # not shown: it may be the secret itself
            print(f"gpu-eff collect dcgm: {option} must be the NAME of an environment variable (like DCGM_TOKEN); "
                  f"what was given does not look like one", file=sys.stderr)
            return 2
    config = ScrapeConfig(timeout_s=timeout if timeout is not None else 5.0,
                          retries=retries if retries is not None else 2,
                          bearer_token_env=bearer, basic_user=user, basic_password_env=password, verify=verify)
    secrets = tuple(v for v in (os.environ.get(bearer) if bearer else None,
                                os.environ.get(password) if password else None) if v)

    interval = interval or 15.0
    deadline = scrape_deadline(interval, config.attempts_s())
    # the attempts end a little before the deadline, so that a timeout is reported as itself
    try:  # a URL with credentials is refused, not redacted: a URL is logged, recorded and landed
        scraper = Scraper(targets, pool=args.pool, config=replace(config, budget_s=0.9 * deadline))
    except ValueError as exc:
        print(f"gpu-eff collect dcgm: {exc}", file=sys.stderr)
        return 2
    return _run_collect(args, scraper.polls(), source="dcgm-exporter", interval_s=interval, deadline_s=deadline,
                        max_workers=config.max_workers, secrets=secrets,
                        describe=f"dcgm-exporter from {len(targets)} target(s) ({', '.join(targets)})")


def _collect_nvml(args: argparse.Namespace) -> int:
    import socket

    try:
        from ingestion.sources.nvml import NvmlSampler

        sampler = NvmlSampler(pool=args.pool)
    except RuntimeError as exc:
        print(f"gpu-eff collect nvml: {exc}", file=sys.stderr)
        return 2
    target = f"nvml://{socket.gethostname()}"

    def poll():
        started = time.monotonic()
        table = sampler.poll()
        samples = table.num_rows
        health = {"ts": dt.datetime.now(dt.UTC), "target": target, "ok": samples > 0, "http_status": None,
                  "duration_s": round(time.monotonic() - started, 6), "samples": samples,
                  "error": None if samples else "no samples"}
        return table, [], [health]

    try:
        return _run_collect(args, poll, source="nvml", interval_s=args.interval or 15.0, error_target=target,
                            secrets=(), describe=f"NVML on {target}")
    finally:
        close = getattr(sampler, "close", None)
        if callable(close):
            close()


OVERVIEW = """\
Feed your cluster's GPU telemetry and logs into the efficiency warehouse, without Dagster.
Everything lands as Parquet under $GPU_EFF_DATA_DIR (default ./data/landing); the next Dagster
run (make demo, the UI or the daily schedule) builds the warehouse and the deck from it.

examples:
  gpu-eff import slurm-sacct sacct.txt --pool train-a     land a Slurm accounting export
  gpu-eff collect dcgm --target http://node-1:9400/metrics --pool prod
                                                          scrape dcgm-exporter every 15 s until stopped
  gpu-eff simulate --scenario tiny                        land a small simulated cluster to try things on

'gpu-eff COMMAND --help' tells more about each command."""

# What each import kind reads, for `gpu-eff import --help` (the kinds are ingestion.importers.KINDS).
IMPORT_KINDS = {
    "jobs": "job log: JSONL or CSV with the jobs contract's columns (job_id, pool, tenant, gpu_count, submit_ts, "
            "start_ts, end_ts, status, ...); records with an `event` field (or record_type event) are job events",
    "slurm-sacct": "Slurm accounting: `sacct --parsable2` output with JobID, State, Submit, Start, End, AllocTRES, "
                   "... (GPUs from AllocTRES gres/gpu)",
    "openb": "Alibaba GPU cluster trace v2023 pod list (openb_pod_list_*.csv; gpu_milli becomes fractional GPUs)",
    "requests": "inference request log: JSONL, one request a line (request_id, arrival_ts, first_token_ts, "
                "end_ts, prompt_tokens, output_tokens, status, ...)",
    "azure-llm-trace": "Azure LLM inference trace CSV (arrivals and token counts; latencies stay empty)",
    "dcgm-text": "a dcgm-exporter /metrics page saved to a file (`curl node:9400/metrics > page.txt`); "
                 "--scrape-ts says when it was taken",
    "prometheus-json": "a saved Prometheus API response (/api/v1/query_range or /api/v1/query) of DCGM metrics",
    "serving-text": "an LLM serving engine's /metrics page saved to a file (vLLM, SGLang, TGI, Triton, Dynamo; "
                    "also kube-state-metrics pod families): the families the product uses land as serving_metrics "
                    "(and GPU pods as pod_allocations), the others are counted; --scrape-ts says when it was taken, "
                    "--namespace/--pod name the replica when the page has no such labels",
    "h200-lab": "a lab recording directory (job_log.jsonl + nvml_samples.csv + env.json) of controlled "
                "experiments; pool lab-h200 unless --pool",
    "nvidia-smi": "an nvidia-smi log, detected by content: `--query-gpu=timestamp,uuid,... --format=csv -l N`, "
                  "`dmon` output, `-q -x` XML, or `--query-compute-apps=timestamp,gpu_uuid,...` CSV",
}
IMPORT_EPILOG = "kinds:\n" + "\n".join(
    textwrap.fill(text, 100, initial_indent=f"  {kind:<17}", subsequent_indent=" " * 19)
    for kind, text in IMPORT_KINDS.items()) + """

Bad lines never stop an import: each goes to data/quarantine/ with its file, line, field and reason.
Importing the same file again replaces what it landed before.

examples:
  gpu-eff import slurm-sacct sacct.txt --pool train-a
  gpu-eff import requests /var/log/serving/requests.jsonl --pool infer-a
  gpu-eff import dcgm-text page.txt --pool prod --scrape-ts 2026-11-30T08:00:00Z
  gpu-eff import serving-text vllm.txt --pool infer-a --scrape-ts 2026-11-30T08:00:00Z --namespace llm --pod vllm-0"""


def _parser() -> argparse.ArgumentParser:
    def command(name: str, help_text: str, description: str, epilog: str = "") -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=description, epilog=epilog or None,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    parser = argparse.ArgumentParser(prog="gpu-eff", description=OVERVIEW,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    imp = command("import", "land a log file: jobs, Slurm, requests, traces, saved metrics pages",
                  "Land one log file of your cluster (jobs, requests, telemetry pages) for one pool.", IMPORT_EPILOG)
    imp.add_argument("kind", choices=sorted(KINDS), metavar="KIND", help="what the file is (see kinds below)")
    imp.add_argument("path", help="the file (h200-lab: the recording's directory)")
    imp.add_argument("--pool", help="the GPU pool the records belong to (required, except h200-lab: lab-h200)")
    imp.add_argument("--scrape-ts", help="dcgm-text, serving-text: when the page was scraped (ISO 8601; default: "
                                         "the file's modification time)")
    page = imp.add_argument_group("serving-text pages saved from one replica (a label on the page wins)")
    page.add_argument("--namespace", help="the Kubernetes namespace of the replica the page was saved from")
    page.add_argument("--pod", help="the pod of the replica the page was saved from")
    smi = imp.add_argument_group("nvidia-smi logs (their timestamps carry no zone)")
    smi.add_argument("--hostname", help="the machine the log was recorded on")
    smi.add_argument("--tz", help="the zone the log's times are in: a name (Asia/Shanghai) or an offset (+08:00); "
                                  "default: this machine's")
    smi.add_argument("--gpu-uuid", metavar="UUID",
                     help="the GPU's UUID where the log has none (dmon; a CSV without a uuid column): one UUID, or "
                          "INDEX=UUID,... / BUS_ID=UUID,...")
    smi.add_argument("--start", help="dmon without -o DT/T: when its first line was printed (ISO 8601)")
    smi.add_argument("--date", help="dmon -o T: the day of its times (YYYY-MM-DD)")
    smi.add_argument("--interval", dest="interval_s", type=_duration,
                     help="dmon without -o DT: seconds between its lines (dmon -d; default 1s)")
    imp.add_argument("--batch", metavar="NAME",
                     help="land as input NAME instead of the file's resolved path: importing NAME again replaces "
                          "what it landed before, on every day (letters, digits, '.', '_', '-')")
    imp.add_argument("--max-quarantined-percent", type=_percent, default=10.0, metavar="P",
                     help="exit 1 when more than P%% of the records were quarantined (default 10); an import "
                          "that lands no row exits 1 too")
    imp.add_argument("--data-dir", help="data directory (default: $GPU_EFF_DATA_DIR or ./data)")
    imp.set_defaults(func=_import)
    col = command("collect", "poll live GPUs (dcgm-exporter or NVML) and land samples until stopped",
                  "Run beside the cluster: poll every --interval, land a Parquet part every --flush-every, "
                  "and on SIGTERM or Ctrl-C land what is buffered and exit. Every scrape lands a row in "
                  "scrape_health, so a target that is down costs only its own samples.",
                  "examples:\n"
                  "  gpu-eff collect dcgm --target http://node-1:9400/metrics --target http://node-2:9400/metrics \\\n"
                  "      --pool prod --interval 15s --flush-every 5m\n"
                  "  DCGM_TOKEN=... gpu-eff collect dcgm --pool prod --bearer-token-env DCGM_TOKEN\n"
                  "  gpu-eff collect nvml --pool lab --once        one poll of this machine's GPUs")
    kinds = col.add_subparsers(dest="source", required=True, metavar="SOURCE")
    dcgm = kinds.add_parser("dcgm", help="scrape dcgm-exporter /metrics endpoints (default: the config's targets)",
                            description="Scrape dcgm-exporter /metrics endpoints. Without --target, the targets, "
                                        "interval and auth of GPU_EFF_CONFIG's dcgm_exporter source are used.")
    dcgm.add_argument("--target", action="append", metavar="URL",
                      help="a dcgm-exporter /metrics URL; repeatable (default: GPU_EFF_CONFIG's dcgm_exporter)")
    dcgm.add_argument("--timeout", type=_duration, help="per-attempt timeout (default 5s)")
    dcgm.add_argument("--retries", type=int, help="further attempts after a failed one (default 2)")
    dcgm.add_argument("--bearer-token-env", metavar="NAME",
                      help="name of the environment variable holding a bearer token (never the token itself)")
    dcgm.add_argument("--basic-user", metavar="U", help="basic-auth user")
    dcgm.add_argument("--basic-password-env", metavar="NAME",
                      help="name of the environment variable holding the basic-auth password")
    tls = dcgm.add_mutually_exclusive_group()
    tls.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    tls.add_argument("--ca-file", metavar="PATH", help="CA bundle to verify TLS certificates with")
    dcgm.set_defaults(func=_collect_dcgm)
    nvml = kinds.add_parser("nvml", help="sample this machine's GPUs and MIG instances through NVML",
                            description="Sample this machine's GPUs (and MIG instances) through NVML: utilisation, "
                                        "memory, power, energy, clocks and, on Hopper, SM/tensor/DRAM activity, "
                                        "landed under the dcgm-exporter metric names.")
    nvml.set_defaults(func=_collect_nvml)
    for p in (dcgm, nvml):
        p.add_argument("--pool", required=True, help="the pool the GPUs belong to")
        p.add_argument("--interval", type=_duration, help="time between polls: 15s, 1m, ... (default 15s)")
        p.add_argument("--flush-every", type=_duration, default=300.0,
                       help="time between landings (default 5m); also lands on exit")
        p.add_argument("--once", action="store_true", help="poll once, land, exit (1 when nothing answered)")
        p.add_argument("--data-dir", help="data directory (default: $GPU_EFF_DATA_DIR or ./data)")
    sim = command("simulate", "land a simulated cluster's days (to try the product without a cluster)",
                  "Simulate a shared GPU cluster through the seven stages (workloads placed minute by minute) and "
                  "land its telemetry, jobs and requests like a real cluster's. The same seed gives the same data.",
                  "examples:\n  gpu-eff simulate --scenario tiny\n  gpu-eff simulate --scenario demo --day 2026-11-03")
    sim.add_argument("--scenario", default="demo",
                     help="a bundled scenario (tiny, demo, large) or the path of a scenario YAML (default demo)")
    sim.add_argument("--day", action="append", help="land only this day (YYYY-MM-DD); repeatable")
    sim.add_argument("--data-dir", help="data directory (default: $GPU_EFF_DATA_DIR or ./data)")
    sim.set_defaults(func=_simulate)
    win = command("window", "print the days a full run covers, as a Dagster partition range",
                  "Print FIRST...LAST: the simulated scenario's days, or, with GPU_EFF_CONFIG, from the first "
                  "configured stage to yesterday.",
                  "example:\n  dg launch --job warehouse_rebuild --partition-range \"$(gpu-eff window)\"")
    win.add_argument("--scenario", help="a bundled scenario name or YAML path (default: GPU_EFF_CONFIG's sources, "
                                        "else the scenario of GPU_EFF_SCENARIO, else demo)")
    win.set_defaults(func=_window)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
