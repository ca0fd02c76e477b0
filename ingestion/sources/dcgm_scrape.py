"""Scrape dcgm-exporter `/metrics` endpoints into gpu_samples rows plus one health record per target.

Each target is fetched with its own timeout and retries (connection errors, timeouts and 5xx are retried
with exponential backoff; 4xx is not), within its time budget (`budget_s`: attempts are cut short to end by
then), so one target that is down, slow or serving garbage costs only its own samples. `Scraper.polls()` gives
one poll per target, for `collector.run_collector` to run concurrently, each on its own schedule.

Credentials come from environment variables named in the config; their values are never put in a health
record, an error message or a log line. A target URL with credentials in it (`user:pass@`) is refused. What a
target sends back (an error page, lines that go to quarantine) is redacted
(`collector.redact`: the credentials' values, auth headers, Bearer/Basic tokens, `password=`-like pairs)
before it reaches a health record, a quarantine record or the log.

A target's samples without a GPU identity (its go_*/process_* families) are counted in the health record's
`skipped` (not a scrape_health column: it is for the caller and the log).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa
import requests

from ingestion.collector import PollResult, redact
from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.dcgm_exposition import ExpositionParser
from ingestion.yaml_keys import is_env_name, is_secret_key

log = logging.getLogger(__name__)
_ERROR_BODY_CHARS = 200  # of an error response, kept (redacted, on one line) in the health record


@dataclass(frozen=True)
class ScrapeConfig:
    timeout_s: float = 5.0  # connect and read timeout, per attempt
    retries: int = 2  # further attempts after the first
    backoff_s: float = 0.5  # wait before retry k is backoff_s * 2**k
    bearer_token_env: str | None = None  # NAME of the environment variable holding a bearer token
    basic_user: str | None = None
    basic_password_env: str | None = None  # NAME of the environment variable holding the password
    verify: bool | str = True  # TLS verification: True, False, or a CA bundle path
    max_workers: int = 16
    budget_s: float | None = None  # a target's attempts (and backoffs) end within this; None: attempts_s()
    extra_labels: tuple[str, ...] = ()

    def attempts_s(self) -> float:
        """The longest a target's attempts and backoffs take without a budget."""
        return self.timeout_s * (self.retries + 1) + sum(self.backoff_s * 2 ** k for k in range(self.retries))


@dataclass
class ScrapeResult:
    table: pa.Table  # gpu_samples rows of every target that answered
    quarantine: list[dict] = field(default_factory=list)  # unparseable lines, each with its target as origin
    # target, ts, ok, http_status, duration_s, error, samples, skipped (samples without a GPU identity)
    health: list[dict] = field(default_factory=list)


def has_credentials(url: str) -> bool:
    """Whether a URL carries credentials: `user[:password]@`, or a query parameter with a secret-like name
    (`?token=...`, `?password=...`); or cannot be read as a URL at all, so might."""
    try:
        parts = urllib.parse.urlsplit(url)
        params = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return True
    return "@" in parts.netloc or any(is_secret_key(name) for name, _ in params)


def _secret_env(option: str, name: str) -> str:
    """The value of the variable `name`; the error names the variable, or not even that when `name` does not
    look like a variable name (then it may be the secret itself)."""
    if not is_env_name(name):
        raise ValueError(f"{option} must be the NAME of an environment variable (this one is not a variable "
                         f"name: is it the secret itself?)")
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"environment variable {name} is not set")
    return value


def _auth(config: ScrapeConfig) -> tuple[dict[str, str], tuple[str, str] | None, tuple[str, ...]]:
    """Headers, basic auth and the secret values (for redaction) from the environment; raises ValueError naming
    (only) a missing variable."""
    headers: dict[str, str] = {}
    basic = None
    secrets: list[str] = []
    if config.bearer_token_env:
        token = _secret_env("bearer_token_env", config.bearer_token_env)
        headers["Authorization"] = f"Bearer {token}"
        secrets.append(token)
    if config.basic_user is not None:
        password = ""
        if config.basic_password_env:
            password = _secret_env("basic_password_env", config.basic_password_env)
            secrets.append(password)
        basic = (config.basic_user, password)
    return headers, basic, tuple(secrets)


def _fetch(url: str, config: ScrapeConfig, headers: dict[str, str], basic: tuple[str, str] | None,
           secrets: Sequence[str]) -> tuple[int | None, str | None, str | None]:
    """(http status, body, error) after retries; body is None unless the status is 200. The error is redacted:
    a connection error's text, or the status and the start of the error page on one line."""
    status: int | None = None
    error: str | None = None
    deadline = time.monotonic() + (config.budget_s if config.budget_s is not None else config.attempts_s())
    for attempt in range(config.retries + 1):
        if attempt:
            time.sleep(min(config.backoff_s * 2 ** (attempt - 1), max(0.0, deadline - time.monotonic())))
        timeout = min(config.timeout_s, deadline - time.monotonic())
        if timeout <= 0:
            error = error or "no time left in the scrape's budget"
            break
        try:
            resp = requests.get(url, headers=headers, auth=basic, timeout=timeout, verify=config.verify)
        except requests.RequestException as exc:
            # The exception text names the URL and the cause, never the request headers.
            status, error = None, redact(f"{type(exc).__name__}: {exc}", secrets)
            continue
        status = resp.status_code
        if status == 200:
            return status, resp.text, None
        # redacted whole, then cut: a secret cut in two at the limit would no longer match
        page = " ".join(redact(resp.text[:10 * _ERROR_BODY_CHARS], secrets).split())[:_ERROR_BODY_CHARS]
        error = f"HTTP {status}: {page}" if page else f"HTTP {status}"
        if status < 500:
            break  # a client error will not get better by retrying
    return status, None, error


def _scrape_one(url: str, parser: ExpositionParser, config: ScrapeConfig, headers: dict[str, str],
                basic: tuple[str, str] | None, secrets: Sequence[str]):
    start = time.monotonic()
    status, body, error = _fetch(url, config, headers, basic, secrets)
    ts = dt.datetime.now(dt.UTC)
    duration = time.monotonic() - start
    parsed = None
    if body is not None:
        parsed = parser.parse(body, scrape_ts=ts)
        for record in parsed.quarantine:  # a line may be an echo of the request (an auth proxy's error page)
            record["row"], record["reason"] = redact(record["row"], secrets), redact(record["reason"], secrets)
        if parsed.table.num_rows == 0:
            error = f"no samples parsed ({len(parsed.quarantine)} lines quarantined)"
        elif parsed.quarantine:
            error = f"{len(parsed.quarantine)} lines quarantined"
    samples = parsed.table.num_rows if parsed else 0
    health = {"target": url, "ts": ts, "ok": samples > 0, "http_status": status,
              "duration_s": round(duration, 6), "error": error, "samples": samples,
              "skipped": parsed.skipped if parsed else 0}
    if not health["ok"]:
        log.warning("dcgm scrape of %s failed: %s", url, error)
    elif health["skipped"]:
        log.debug("dcgm scrape of %s: %d samples without a GPU identity skipped", url, health["skipped"])
    return parsed, health


class Scraper:
    """Scrapes the same targets poll after poll, each with its own `ExpositionParser`, so that what repeats from
    one scrape of a target to the next (its label sets and series) is parsed once."""

    def __init__(self, urls: Sequence[str], *, pool: str, config: ScrapeConfig | None = None) -> None:
        """Raises ValueError (naming the target by its position, not its text) for a URL with credentials."""
        for i, url in enumerate(urls):
            if has_credentials(url):
                raise ValueError(f"target {i + 1} has credentials in its URL (user:password@ or a secret-like "
                                 f"parameter): give them with basic_user / basic_password_env or bearer_token_env "
                                 f"(--basic-user / --basic-password-env or --bearer-token-env)")
        self.urls, self.config = list(urls), config or ScrapeConfig()
        self._parsers = [ExpositionParser(pool=pool, origin=url, extra_labels=self.config.extra_labels)
                         for url in self.urls]

    def polls(self) -> dict[str, Callable[[], PollResult]]:
        """One poll per target (its URL: the poll), each returning `(gpu_samples, quarantine, [health])` of one
        scrape: for `collector.run_collector`, which runs them concurrently, each target on its own."""
        return {url: functools.partial(self._poll, i) for i, url in enumerate(self.urls)}

    def _poll(self, index: int) -> PollResult:
        result = self._scrape([index])
        return result.table, result.quarantine, result.health

    def scrape(self) -> ScrapeResult:
        """Scrape every URL concurrently and wait for all; the result keeps the order of the URLs."""
        return self._scrape(range(len(self.urls)))

    def _scrape(self, indices: Sequence[int]) -> ScrapeResult:
        urls, config = [self.urls[i] for i in indices], self.config
        try:
            headers, basic, secrets = _auth(config)
        except ValueError as exc:
            now = dt.datetime.now(dt.UTC)
            health = [{"target": u, "ts": now, "ok": False, "http_status": None, "duration_s": 0.0,
                       "error": str(exc), "samples": 0, "skipped": 0} for u in urls]
            return ScrapeResult(GPU_SAMPLES.schema.empty_table(), [], health)
        parsers = [self._parsers[i] for i in indices]

        def scrape_one(url: str, parser: ExpositionParser):
            return _scrape_one(url, parser, config, headers, basic, secrets)

        if len(urls) == 1:  # in the caller's thread (a collector's daemon thread: never waited for at exit)
            results = [scrape_one(urls[0], parsers[0])]
        else:
            with ThreadPoolExecutor(max_workers=max(1, min(config.max_workers, len(urls)))) as pool_:
                results = list(pool_.map(scrape_one, urls, parsers))
        tables = [parsed.table for parsed, _ in results if parsed is not None]
        table = pa.concat_tables(tables) if tables else GPU_SAMPLES.schema.empty_table()
        quarantine = [q for parsed, _ in results if parsed is not None for q in parsed.quarantine]
        return ScrapeResult(table, quarantine, [health for _, health in results])


def scrape(urls: Sequence[str], *, pool: str, config: ScrapeConfig | None = None) -> ScrapeResult:
    """Scrape every URL once, concurrently; the result keeps the order of `urls`."""
    return Scraper(urls, pool=pool, config=config).scrape()
