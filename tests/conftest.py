"""Fixtures shared by the whole suite.

Every test runs with its own data directory and no TikTok credentials from the developer's
environment, so nothing leaks between tests or from the machine into a test.
"""

from __future__ import annotations

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
