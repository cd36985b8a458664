"""Real-browser tests: `streamlit run` as a subprocess, Debian's Chromium driven by Playwright.

Modelled on Streamlit's own e2e harness (streamlit/streamlit: e2e_playwright/conftest.py): start
the app on a free port with output to a file, poll /_stcore/health, then wait for the stApp
element to report CONNECTED and notRunning after every interaction.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_app(data_dir: Path, log_path: Path, env_extra: dict[str, str] | None = None,
              timeout: float = 60, *, port: int | None = None,
              extra_args: tuple[str, ...] = ()) -> RunningApp:
    port = port or free_port()
    env = {**os.environ, "REELBOARD_DATA_DIR": str(data_dir), **(env_extra or {})}
    for name in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_REDIRECT_URI"):
        env.pop(name, None)
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", *extra_args],
        cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                return RunningApp(url, data_dir, log_path, proc)
        except requests.RequestException:
            pass
        time.sleep(0.25)
    proc.kill()
    raise RuntimeError(f"streamlit not healthy after {timeout}s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[RunningApp]:
    base = tmp_path_factory.mktemp("app")
    app = start_app(base / "data", base / "streamlit.log")
    yield app
    app.process.terminate()
    try:
        app.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.process.kill()


def wait_for_app(pg, timeout: float = 30_000) -> None:
    """Wait until the app is connected and the script has finished running."""
    pg.wait_for_selector(
        "[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout
    )
    # Give a just-triggered rerun a moment to start before waiting for it to end.
    pg.wait_for_timeout(150)
    pg.wait_for_selector(
        "[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout
    )


def choose_period(pg, label: str) -> None:
    """Pick ``label`` in the sidebar's period list. A rerun that lands while the list is open
    (the view is written to the URL after a sync) closes it: open it again, up to three times,
    rather than fail on a loaded machine."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    option = pg.get_by_role("option", name=label)
    for attempt in range(3):
        pg.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").last.click()
        try:
            option.click(timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
            wait_for_app(pg)
    wait_for_app(pg)


def connect_on_consent_page(pg, app_url: str, creator: str) -> None:
    """Connect ``creator`` as a person does: Accounts → Connect → the sandbox's consent page."""
    import re

    pg.goto(f"{app_url}/accounts")
    wait_for_app(pg)
    pg.get_by_role("button", name=re.compile("Connect (a TikTok|another) account")).click()
    pg.wait_for_url(re.compile(r".*/v2/auth/authorize/.*"))
    pg.get_by_text(f"@{creator}").click()
    pg.get_by_role("button", name="Authorize").click()
    pg.wait_for_url(re.compile(r".*/accounts$"))
    wait_for_app(pg)
    pg.get_by_text("Token health").first.wait_for()
