"""dcgm-exporter scraping against a real local HTTP server serving the fixture samples."""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.dcgm_scrape import ScrapeConfig, Scraper, scrape

TOKEN = "s3cret-token-value"
PASSWORD = "s3cret-password"
FAST = ScrapeConfig(timeout_s=0.5, retries=2, backoff_s=0.01)


class Server:
    def __init__(self, samples: Path) -> None:
        self.samples = samples
        self.hits: Counter[str] = Counter()
        self.released = threading.Event()  # set when the server closes: ends the hanging answers
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                status, body = server.answer(self.path, self.headers.get("Authorization", ""), server.hits[self.path])
                if status is None:
                    server.released.wait(2 if self.path == "/slow/metrics" else 60)  # slower than the client's timeout
                    status = 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(self, path: str, auth: str, hit: int) -> tuple[int | None, bytes]:
        if path == "/h100/metrics":
            return 200, (self.samples / "issue512_h100_mig_pods.prom").read_bytes()
        if path == "/a30/metrics":
            return 200, (self.samples / "pr736_mixed_models_mig_lowercase_hostname.prom").read_bytes()
        if path == "/flaky/metrics":  # 503 once, then fine
            return (503, b"busy") if hit == 1 else (200, (self.samples / "issue226_l40s_pods.prom").read_bytes())
        if path == "/counting/metrics":  # the same series at every scrape, new values
            return 200, (f'DCGM_FI_DEV_GPU_UTIL{{gpu="0",UUID="GPU-a"}} {hit}\n'
                         f'DCGM_FI_DEV_GPU_UTIL{{gpu="1",UUID="GPU-b"}} {-hit}\n').encode()
        if path == "/error/metrics":
            return 500, b"internal error"
        if path == "/missing/metrics":
            return 404, b"not found"
        if path in ("/slow/metrics", "/hang/metrics"):
            return None, b""
        if path == "/mixed/metrics":  # two good samples among garbage and timestamps past what a datetime holds
            return 200, (b'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-m0"} 7\n<html>502 Bad Gateway</html>\n'
                         b'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-m1"} 8 253402300800000\n'
                         b'DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-m2"} 9 99999999999999999999\n'
                         b'DCGM_FI_DEV_GPU_UTIL{gpu="3",UUID="GPU-m3"} 6\n')
        if path == "/garbage/metrics":
            return 200, b"<html><body>502 Bad Gateway</body></html>\n"
        if path == "/bearer/metrics":
            if auth != f"Bearer {TOKEN}":
                return 401, b"unauthorized"
            return 200, (self.samples / "pr239_xid_errors_count.prom").read_bytes()
        if path in ("/reflect/metrics", "/reflect401/metrics"):  # an auth proxy's debug page: the request echoed
            echo = f"<html><pre>GET {path} HTTP/1.1\nAuthorization: {auth}\n</pre></html>\n".encode()
            return (200 if path == "/reflect/metrics" else 401), echo
        if path == "/exporter/metrics":  # a GPU family beside the exporter's own go_*/process_* families
            return 200, (b"# TYPE go_goroutines gauge\ngo_goroutines 12\n"
                         b'go_gc_duration_seconds{quantile="0.5"} 4.1e-05\nprocess_open_fds 9\n'
                         b'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 7\n')
        if path == "/basic/metrics":
            if auth != "Basic " + base64.b64encode(f"dcgm:{PASSWORD}".encode()).decode():
                return 401, b"unauthorized"
            return 200, (self.samples / "pr239_xid_errors_count.prom").read_bytes()
        return 404, b""


@contextlib.contextmanager
def serving(shared: Path) -> Iterator[Server]:
    """A Server on the fixture samples, answering on a background thread until the block ends."""
    srv = Server(shared / "fixtures" / "dcgm" / "samples")
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.released.set()
        srv.httpd.shutdown()
        srv.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(shared: Path) -> Iterator[Server]:
    with serving(shared) as srv:
        yield srv


def test_one_bad_target_costs_only_its_own_samples(server: Server) -> None:
    names = ["h100", "error", "slow", "garbage", "a30", "flaky", "missing"]
    urls = [f"{server.base}/{n}/metrics" for n in names]
    result = scrape(urls, pool="pool-a", config=FAST)
    health = {h["target"].split("/")[3]: h for h in result.health}
    assert [h["target"] for h in result.health] == urls
    assert result.table.schema == GPU_SAMPLES.schema
    assert result.table.num_rows == 3 + 4 + 3
    assert set(result.table["gpu_uuid"].to_pylist()) >= {"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77",
                                                         "GPU-63bc0b91-2265-1b94-831c-15c41fe92675"}
    for name, samples in (("h100", 3), ("a30", 4), ("flaky", 3)):
        assert (health[name]["ok"], health[name]["http_status"], health[name]["samples"]) == (True, 200, samples)
        assert health[name]["error"] is None
    assert (health["error"]["ok"], health["error"]["http_status"], health["error"]["error"]) == (
        False, 500, "HTTP 500: internal error")  # the start of the error page, on one line
    assert server.hits["/error/metrics"] == 3  # retried twice
    assert server.hits["/flaky/metrics"] == 2
    assert (health["missing"]["http_status"], server.hits["/missing/metrics"]) == (404, 1)  # no retry on 4xx
    assert health["slow"]["ok"] is False and health["slow"]["http_status"] is None
    assert "Timeout" in health["slow"]["error"]
    assert (health["garbage"]["ok"], health["garbage"]["http_status"]) == (False, 200)
    assert "no samples parsed" in health["garbage"]["error"]
    [bad] = result.quarantine
    assert (bad["origin"], bad["record"]) == (f"{server.base}/garbage/metrics", 1)
    assert all(h["duration_s"] >= 0 and h["ts"].tzinfo is not None for h in result.health)


def test_a_scraper_reads_each_scrape_of_its_targets(server: Server) -> None:
    """The per-target parsers keep label sets between polls; every poll still gets that poll's values."""
    urls = [f"{server.base}/counting/metrics", f"{server.base}/h100/metrics"]
    scraper = Scraper(urls, pool="pool-a", config=FAST)
    first, second = scraper.scrape(), scraper.scrape()
    assert first.table.num_rows == second.table.num_rows == 2 + 3
    assert second.table.slice(0, 2)["value"].to_pylist() == [2.0, -2.0]
    assert second.table.slice(0, 2)["gpu_uuid"].to_pylist() == ["GPU-a", "GPU-b"]
    assert second.table.slice(2).drop_columns(["ts"]).equals(first.table.slice(2).drop_columns(["ts"]))


def test_bearer_and_basic_auth_come_from_named_env_vars_and_are_never_reported(
    server: Server, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DCGM_TOKEN", TOKEN)
    monkeypatch.setenv("DCGM_PASSWORD", PASSWORD)
    bearer = ScrapeConfig(timeout_s=1, retries=0, bearer_token_env="DCGM_TOKEN")
    ok = scrape([f"{server.base}/bearer/metrics", f"{server.base}/basic/metrics"], pool="p", config=bearer)
    assert [h["http_status"] for h in ok.health] == [200, 401]
    assert ok.table["metric"].to_pylist() == ["DCGM_FI_DEV_XID_ERRORS_ACTIVE"]
    basic = ScrapeConfig(timeout_s=1, retries=0, basic_user="dcgm", basic_password_env="DCGM_PASSWORD")
    assert scrape([f"{server.base}/basic/metrics"], pool="p", config=basic).health[0]["ok"] is True
    monkeypatch.delenv("DCGM_TOKEN")
    missing = scrape([f"{server.base}/bearer/metrics"], pool="p", config=bearer)
    assert missing.health[0]["ok"] is False
    assert missing.health[0]["error"] == "environment variable DCGM_TOKEN is not set"
    assert server.hits["/bearer/metrics"] == 1  # nothing was sent without the token
    reported = repr([ok.health, missing.health]) + caplog.text
    assert TOKEN not in reported and PASSWORD not in reported


def test_unreachable_target(server: Server) -> None:
    result = scrape(["http://127.0.0.1:9/metrics", f"{server.base}/h100/metrics"], pool="p",
                    config=ScrapeConfig(timeout_s=0.5, retries=1, backoff_s=0.01))
    assert [h["ok"] for h in result.health] == [False, True]
    assert "ConnectionError" in result.health[0]["error"]
    assert result.table.num_rows == 3


def test_a_target_that_echoes_the_token_gets_it_redacted(server: Server, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("DCGM_TOKEN", TOKEN)
    config = ScrapeConfig(timeout_s=1, retries=0, bearer_token_env="DCGM_TOKEN")
    result = scrape([f"{server.base}/reflect/metrics", f"{server.base}/reflect401/metrics"], pool="p", config=config)
    assert [(h["ok"], h["http_status"]) for h in result.health] == [(False, 200), (False, 401)]
    assert "Authorization: ***" in result.health[1]["error"]  # the start of the error page, redacted
    assert [q["row"] for q in result.quarantine] == ["<html><pre>GET /reflect/metrics HTTP/1.1",
                                                     "Authorization: ***", "</pre></html>"]
    reported = repr([result.health, result.quarantine]) + caplog.text
    assert TOKEN not in reported


def test_credentials_in_a_target_url_or_a_literal_token_are_refused_without_echo(server: Server) -> None:
    for url in ("http://dcgm:hunter2@127.0.0.1:9/metrics", "http://127.0.0.1:9/metrics?token=hunter2"):
        with pytest.raises(ValueError, match="target 1 has credentials") as info:
            Scraper([url], pool="p")
        assert "hunter2" not in str(info.value)
    literal = scrape([f"{server.base}/bearer/metrics"], pool="p",
                     config=ScrapeConfig(bearer_token_env="hunter2-not-a-variable-name"))
    assert "hunter2" not in repr(literal.health) and "NAME of an environment variable" in literal.health[0]["error"]
    assert server.hits["/bearer/metrics"] == 0


def test_samples_without_a_gpu_identity_are_counted_in_the_health_record(server: Server) -> None:
    scraper = Scraper([f"{server.base}/exporter/metrics"], pool="p", config=FAST)
    for _ in range(2):
        result = scraper.scrape()
        assert result.quarantine == [] and result.table["gpu_uuid"].to_pylist() == ["GPU-a"]
        [health] = result.health
        assert (health["ok"], health["samples"], health["skipped"], health["error"]) == (True, 1, 3, None)


def test_one_poll_per_target_whose_attempts_end_within_the_budget(server: Server) -> None:
    hang, h100 = f"{server.base}/hang/metrics", f"{server.base}/h100/metrics"
    config = ScrapeConfig(timeout_s=1, retries=3, backoff_s=0.1, budget_s=0.4)
    assert config.attempts_s() == pytest.approx(4 + 0.1 + 0.2 + 0.4)
    polls = Scraper([hang, h100], pool="p", config=config).polls()
    assert list(polls) == [hang, h100]
    started = time.monotonic()
    table, quarantine, [health] = polls[hang]()
    assert time.monotonic() - started < 0.7  # not 4.7 s: the budget cut the attempts short
    assert (table.num_rows, quarantine, health["ok"], health["target"]) == (0, [], False, hang)
    assert "Timeout" in health["error"]
    table, quarantine, [health] = polls[h100]()
    assert (table.num_rows, quarantine, health["ok"], health["target"]) == (3, [], True, h100)
