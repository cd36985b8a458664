"""Real-browser tests: `streamlit run` as a subprocess, Debian's Chromium driven by Playwright.

Modelled on Streamlit's own e2e harness (streamlit/streamlit: e2e_playwright/conftest.py): start
the app on a free port with output to a file, poll /_stcore/health, then wait for the stApp
element to report CONNECTED and notRunning after every interaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# One launcher for the browser tests and the benchmarks (bench/app_server.py): the same command,
# environment (no TikTok credentials: the embedded sandbox), health wait and shutdown.
from bench.app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port
from bench.app_server import AppServer as RunningApp
from bench.app_server import start_app as _start_app

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "ROOT", "RunningApp", "free_port", "start_app"]


def start_app(data_dir: Path, log_path: Path, env_extra: dict[str, str] | None = None,
              timeout: float = 60, *, port: int | None = None,
              extra_args: tuple[str, ...] = ()) -> RunningApp:
    return _start_app(data_dir, log_path, env_extra=env_extra, extra_args=extra_args,
                      timeout=timeout, port=port)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[RunningApp]:
    base = tmp_path_factory.mktemp("app")
    app = start_app(base / "data", base / "streamlit.log")
    yield app
    app.stop()


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
