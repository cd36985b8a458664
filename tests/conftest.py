"""Fixtures shared by the whole suite.

Every test runs with its own data directory and no TikTok credentials from the developer's
environment, so nothing leaks between tests or from the machine into a test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_CONFIG_ENV = (
    "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_REDIRECT_URI", "TIKTOK_AUTH_URL",
    "TIKTOK_API_BASE_URL", "REELBOARD_DATA_DIR", "REELBOARD_ENCRYPTION_KEYS",
    "REELBOARD_TIMEZONE", "REELBOARD_APP_URL", "REELBOARD_SYNC_REQUESTS_PER_MINUTE",
    "REELBOARD_SYNC_EVERY",
    "GOOGLE_APPLICATION_CREDENTIALS", "REELBOARD_SHEETS_SPREADSHEET", "REELBOARD_SHEETS_API_URL",
)


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch, tmp_path):
    for name in _CONFIG_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REELBOARD_DATA_DIR", str(tmp_path / "data"))
    yield


# -- the one browser of a test session ---------------------------------------------------------
# Defined here, once: a second session-scoped definition (e.g. imported into another folder's
# conftest) would start a second sync_playwright inside the first, which Playwright refuses.

@pytest.fixture(scope="session")
def browser():
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run scripts/ensure-chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        out = Path(__file__).resolve().parents[1] / "test-artifacts"
        out.mkdir(exist_ok=True)
        pg.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
