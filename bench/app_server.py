"""A real Reelboard server for the benchmarks that need one, and the browser that drives it.

``start_app`` runs ``python -m streamlit run streamlit_app.py`` on a free loopback port with its
own ``REELBOARD_DATA_DIR`` and no TikTok credentials (so the embedded sandbox), waits for
``/_stcore/health`` and returns an :class:`AppServer` whose :meth:`AppServer.rss` reads the
server's resident memory from ``/proc/<pid>/status``. The browser tests start their servers with
this launcher too (tests/e2e/conftest.py), so a benchmark measures the app as the tests run it.

``browser`` starts Debian's Chromium through Playwright with the tests' flags, and
:func:`open_and_time` loads a page and waits until the app is idle, timing it from the
browser's own clock (see its docstring for what "idle" means).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
#: Debian's Chromium with the flags the browser tests and benchmarks share.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Settings the benchmarks must not inherit from the shell (credentials select live mode;
#: the others would change what is measured).
_SCRUBBED_ENV = (
    "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_REDIRECT_URI", "TIKTOK_AUTH_URL",
    "TIKTOK_API_BASE_URL", "REELBOARD_ENCRYPTION_KEYS", "REELBOARD_APP_URL",
    "REELBOARD_SYNC_EVERY", "REELBOARD_SYNC_REQUESTS_PER_MINUTE", "REELBOARD_TIMEZONE",
)


class AppServerError(RuntimeError):
    """The server did not start, or stopped under the benchmark."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` now (VmRSS), in bytes."""
    return _status_kib(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of ``pid``'s resident set (VmHWM), in bytes."""
    return _status_kib(pid, "VmHWM") * 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (all its threads)."""
    # /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, counted after the
    # command name, which is in parentheses and may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # "VmRSS:	  123456 kB"
    raise AppServerError(f"/proc/{pid}/status has no {field}")


@dataclass
class AppServer:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        self._check_alive()
        return rss_bytes(self.pid)

    def peak_rss(self) -> int:
        self._check_alive()
        return peak_rss_bytes(self.pid)

    def cpu(self) -> float:
        self._check_alive()
        return cpu_seconds(self.pid)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AppServerError(f"the server exited ({self.process.returncode}):\n"
                                 f"{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def app_env(data_dir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["REELBOARD_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def start_app(data_dir: Path, log_path: Path, *, env_extra: Mapping[str, str] | None = None,
              extra_args: tuple[str, ...] = (), timeout: float = 90,
              port: int | None = None) -> AppServer:
    """Start the app on ``port`` (a free one by default); returns once ``/_stcore/health``
    answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", *extra_args],
        cwd=ROOT, env=app_env(data_dir, env_extra), stdout=log_file, stderr=subprocess.STDOUT,
    )
    log_file.close()  # the child holds its own descriptor
    server = AppServer(f"http://localhost:{port}", data_dir, log_path, proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AppServerError(f"streamlit exited early:\n{server.log()[-4000:]}")
        try:
            if requests.get(f"{server.url}/_stcore/health", timeout=1).ok:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.25)
    server.stop()
    raise AppServerError(f"streamlit not healthy after {timeout}s:\n{server.log()[-4000:]}")


@contextlib.contextmanager
def running_app(data_dir: Path, log_path: Path, **kwargs: Any) -> Iterator[AppServer]:
    server = start_app(data_dir, log_path, **kwargs)
    try:
        yield server
    finally:
        server.stop()


# -- Streamlit's cache metrics ------------------------------------------------------------------


@dataclass(frozen=True)
class CacheStats:
    """Per ``st.cache_data`` function (short name, e.g. ``_insights``): pickled bytes held,
    and lookups that hit or missed since the server started (``/_stcore/metrics``)."""
    bytes: dict[str, int]
    hits: dict[str, int]
    misses: dict[str, int]


_METRIC_LINE = re.compile(r"(\w+)\{([^}]*)\} (\d+)")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def cache_stats(server: AppServer) -> CacheStats:
    response = requests.get(f"{server.url}/_stcore/metrics", timeout=30)
    response.raise_for_status()
    return parse_cache_metrics(response.text)


def parse_cache_metrics(text: str) -> CacheStats:
    stats = CacheStats({}, {}, {})
    for line in text.splitlines():
        m = _METRIC_LINE.fullmatch(line.strip())
        if not m:
            continue
        name, labels, value = m.group(1), dict(_LABEL.findall(m.group(2))), int(m.group(3))
        if labels.get("cache_type") != "st_cache_data":
            continue
        function = labels.get("cache", "").rsplit(".", 1)[-1]
        if name == "cache_memory_bytes":
            target = stats.bytes
        elif name == "cache_lookups_total" and labels.get("result") in ("hit", "miss"):
            target = stats.hits if labels["result"] == "hit" else stats.misses
        else:
            continue
        target[function] = target.get(function, 0) + value
    return stats


# -- the browser ---------------------------------------------------------------------------------


@contextlib.contextmanager
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, as the browser tests launch it."""
    if not Path(CHROMIUM).exists():
        raise AppServerError("Debian's chromium is not installed: run scripts/ensure-chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_page(chromium: Any, *, timeout_ms: float = 120_000) -> Any:
    """A desktop-sized page that records the app's run states and reaches nothing but loopback
    (stored cover and avatar links point at CDNs: a DNS wait must not enter a timing)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(_STATE_RECORDER)
    context.route("**/*", _loopback_only)
    pg = context.new_page()
    pg.set_default_timeout(timeout_ms)
    return pg


def _loopback_only(route: Any) -> None:
    host = route.request.url.split("/")[2].split(":")[0] if "//" in route.request.url else ""
    if host in ("localhost", "127.0.0.1", ""):
        route.continue_()
    else:
        route.abort()


# Runs before the app's own scripts on every document: note (on the page's clock, ms since
# navigation started) each change of the stApp element's connection and script state.
_STATE_RECORDER = """
(() => {
  window.__rbStates = [];
  const seen = {conn: null, script: null};
  const note = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app) return;
    const conn = app.getAttribute('data-test-connection-state');
    const script = app.getAttribute('data-test-script-state');
    if (conn !== seen.conn || script !== seen.script) {
      seen.conn = conn; seen.script = script;
      window.__rbStates.push({t: performance.now(), conn, script});
    }
  };
  new MutationObserver(note).observe(document, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-test-connection-state', 'data-test-script-state'],
  });
})();
"""

# Idle: connected, the script not running, no spinner or loading skeleton on screen, and at
# least one run started since state number ``since`` (0: since the page was loaded).
_IDLE_NOW = """
(since) => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app) return null;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return null;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return null;
  if (document.querySelector("[data-testid='stSpinner'], [data-testid='stSkeleton']")) {
    return null;
  }
  const states = window.__rbStates || [];
  const started = states.findIndex((s, i) => i >= since && s.script === 'running');
  if (started < 0) return null;
  return {states: states.length, started: states[started].t,
          at: states[states.length - 1].t, now: performance.now()};
}
"""


@dataclass(frozen=True)
class PageTiming:
    seconds: float  # navigation (or the action) -> the app idle: its last run ended
    run_seconds: float  # the first run's start -> the last run's end (the server's part)
    runs: int  # script runs it took (a page may rerun itself)


def state_count(pg: Any) -> int:
    """How many state changes the page has recorded: pass to :func:`wait_until_idle` as
    ``since`` before an action, to wait for the run the action starts."""
    return int(pg.evaluate("() => (window.__rbStates || []).length"))


def wait_until_idle(pg: Any, *, since: int = 0, quiet_ms: float = 600,
                    timeout_s: float = 300) -> dict:
    """Wait for the app to be idle and to stay so for ``quiet_ms`` (a page that reruns itself,
    e.g. after writing the view into the URL, is only done after its last run); returns the
    browser-side record (times in ms on the page's clock, which starts at navigation):
    ``started`` = the first run's start after ``since``, ``at`` = the last state change."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = max(deadline - time.monotonic(), 0.1) * 1000
        first = pg.wait_for_function(_IDLE_NOW, arg=since, timeout=remaining,
                                     polling=50).json_value()
        pg.wait_for_timeout(quiet_ms)
        again = pg.evaluate(_IDLE_NOW, since)
        if again is not None and again["states"] == first["states"]:
            runs = pg.evaluate(
                "(since) => window.__rbStates.slice(since)"
                ".filter(s => s.script === 'running').length", since)
            return {**first, "runs": int(runs)}
        if time.monotonic() > deadline:
            raise AppServerError("the app did not settle")


def open_and_time(pg: Any, url: str, *, heading: str | None = None) -> PageTiming:
    """Load ``url`` in ``pg`` and time navigation to idle on the browser's clock
    (``performance.now()`` counts from navigation start), so the polling and the quiet wait
    in :func:`wait_until_idle` add nothing to the figure. With ``heading``, also check that
    the page drawn is the one asked for."""
    pg.goto(url, wait_until="commit")
    record = wait_until_idle(pg)
    if heading is not None:
        pg.get_by_role("heading", name=heading).first.wait_for(timeout=5_000)
    return PageTiming(seconds=record["at"] / 1000.0,
                      run_seconds=(record["at"] - record["started"]) / 1000.0,
                      runs=record["runs"])


def act_and_time(pg: Any, action: Any, *, quiet_ms: float = 600) -> PageTiming:
    """Run ``action()`` (a click, a key) on an open page and time it until the app is idle
    again, from the action's start, on the browser's clock."""
    since = state_count(pg)
    t0 = pg.evaluate("() => performance.now()")
    action()
    record = wait_until_idle(pg, since=since, quiet_ms=quiet_ms)
    return PageTiming(seconds=(record["at"] - t0) / 1000.0,
                      run_seconds=(record["at"] - record["started"]) / 1000.0,
                      runs=record["runs"])


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()
