"""Fixtures for service tests: a real sandbox on loopback, a migrated cache, keys, a fake clock.

One sandbox per session (it starts in ~50 ms but stopping waits for its poll loop), reset before
every test through its control API, so each test sees no grants, faults, log entries or config
overrides from another.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, start_sandbox
from services.config import Settings
from services.crypto import load_keyring
from services.db import open_db
from services.tiktok.client import TikTokClient

REDIRECT_URI = "http://localhost:8501/accounts"
ANCHOR = datetime(2026, 11, 2, tzinfo=UTC)


class SandboxControl:
    """The sandbox's /_sandbox/ control API, for tests (not part of TikTok)."""

    def __init__(self, server):
        self.server = server
        self.base_url: str = server.base_url
        self.auth_url: str = server.auth_url
        self.http = requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(self.base_url + path, json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self._post("/_sandbox/reset", {})

    def consent(self, authorize_url: str, creator: str = "lunakitchen",
                scopes: list[str] | None = None, approve: bool = True) -> str:
        body: dict[str, Any] = {"authorize_url": authorize_url, "creator": creator,
                                "approve": approve}
        if scopes is not None:
            body["scopes"] = scopes
        return self._post("/_sandbox/consent", body)["redirect_url"]

    def callback_params(self, authorize_url: str, **kwargs) -> dict[str, list[str]]:
        """Consent, then the callback's query as the Accounts page would see it."""
        url = self.consent(authorize_url, **kwargs)
        return parse_qs(urlsplit(url).query, keep_blank_values=True)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        params = {"path": path} if path else {}
        response = self.http.get(self.base_url + "/_sandbox/requests", params=params, timeout=10)
        return response.json()

    def token_requests(self, grant_type: str | None = None) -> list[dict[str, Any]]:
        entries = self.requests("/v2/oauth/token/")
        return [e for e in entries if grant_type is None or e["grant_type"] == grant_type]

    def clear_requests(self) -> None:
        self.http.delete(self.base_url + "/_sandbox/requests", timeout=10)

    def fault(self, kind: str, **kwargs) -> Any:
        return self._post("/_sandbox/faults", {"kind": kind, **kwargs})

    def advance(self, seconds: float) -> None:
        self._post("/_sandbox/clock", {"advance": seconds})

    def config(self, **changes) -> Any:
        return self._post("/_sandbox/config", changes)


@pytest.fixture(scope="session")
def sandbox_server():
    server = start_sandbox(port=0, anchor=ANCHOR, redirect_uris=(REDIRECT_URI,),
                           state_path=None)
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox_server)
    control.reset()
    yield control
    control.http.close()


@dataclass
class FakeClock:
    """An injectable UTC clock that only moves when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 20, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def make_settings(data_dir: Path, sandbox: SandboxControl, **overrides) -> Settings:
    values: dict[str, Any] = {
        "mode": "sandbox",
        "client_key": DEFAULT_CLIENT_KEY,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "auth_url": sandbox.auth_url,
        "api_base_url": sandbox.base_url,
        "data_dir": data_dir,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(data_dir, sandbox) -> Settings:
    return make_settings(data_dir, sandbox)


@pytest.fixture
def settings_with(data_dir, sandbox):
    """Settings for this test's data directory with some values changed."""
    return lambda **overrides: make_settings(data_dir, sandbox, **overrides)


@pytest.fixture
def db(settings):
    with open_db(settings.database_path, migrate=True) as database:
        yield database


@pytest.fixture
def keyring(settings, db):
    return load_keyring(settings, db)


@pytest.fixture
def sleeps() -> list[float]:
    """Every back-off the client asked for, instead of really sleeping."""
    return []


@pytest.fixture
def client(settings, sleeps) -> Iterator[TikTokClient]:
    tiktok = TikTokClient.from_settings(settings, sleep=sleeps.append, rand=lambda: 0.5)
    yield tiktok
    tiktok.session.close()
