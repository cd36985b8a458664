"""Fault suite, issue 11 items 7 and 9: where the app listens, which config it runs with, and
the headers that keep it from being framed.

`streamlit run /abs/path/dashboard/app.py` from another folder used to ignore Reelboard's
.streamlit/config.toml (Streamlit reads config from the current folder), listen on every
interface and create data/ in that folder; the app sent no anti-framing headers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from dashboard import runtime as dashboard_runtime
from dashboard.security_headers import SECURITY_HEADERS
from services.config import (
    ALLOW_UNAUTHENTICATED_ENV,
    REPO_ROOT,
    check_bind_address,
    check_streamlit_options,
    is_loopback_address,
    load_settings,
)

APP = str(REPO_ROOT / "dashboard" / "app.py")
GOOD_OPTIONS = {"client.showErrorDetails": "none", "server.enableXsrfProtection": True,
                "server.enableStaticServing": False}


@pytest.mark.parametrize("address", ["localhost", "LOCALHOST", "127.0.0.1", "127.0.0.2", "::1",
                                     "[::1]"])
def test_loopback_addresses_are_fine(address):
    assert is_loopback_address(address)
    assert check_bind_address(address, auth_configured=False, allow_unauthenticated=False) == []


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "::", "192.0.2.10", "reelboard.lan"])
def test_other_addresses_are_refused_without_sign_in(address):
    [problem] = check_bind_address(address, auth_configured=False, allow_unauthenticated=False)
    assert "localhost" in problem and ALLOW_UNAUTHENTICATED_ENV in problem
    assert "sign-in" in problem
    # Sign-in, or the explicit override, accept it.
    assert check_bind_address(address, auth_configured=True, allow_unauthenticated=False) == []
    assert check_bind_address(address, auth_configured=False, allow_unauthenticated=True) == []


def test_streamlit_without_our_config_is_refused():
    assert check_streamlit_options(GOOD_OPTIONS) == []
    [problem] = check_streamlit_options({**GOOD_OPTIONS, "client.showErrorDetails": "full"})
    assert "config.toml" in problem and "streamlit_app.py" in problem


def test_a_relative_data_dir_is_relative_to_reelboard_not_the_current_folder(tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, {"REELBOARD_DATA_DIR": "data"})
    assert settings.data_dir == REPO_ROOT / "data"
    assert not (tmp_path / "data").exists()


@pytest.fixture
def clean_runtime():
    import streamlit as st

    st.cache_data.clear()
    yield
    dashboard_runtime.shutdown()
    st.cache_data.clear()


def _texts(at):
    return " ".join(e.value for kind in ("title", "error", "markdown")
                    for e in getattr(at, kind))


def test_the_app_refuses_to_start_without_its_config(tmp_path, monkeypatch, clean_runtime):
    """What `streamlit run /abs/dashboard/app.py` from another folder gets: Streamlit's
    defaults (AppTest reads config from the current folder, as `streamlit run` does)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REELBOARD_DATA_DIR", "data")  # relative: would land in the cwd before
    st_config.get_config_options(force_reparse=True)
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.secrets["reelboard"] = {"timezone": "UTC"}
        at.run()
    finally:
        monkeypatch.chdir(REPO_ROOT)
        st_config.get_config_options(force_reparse=True)
    text = _texts(at)
    assert "Reelboard will not start" in text and "config.toml" in text
    assert "every network interface" in text
    assert not (tmp_path / "data").exists()
    assert dashboard_runtime._STARTED == []  # nothing was started, no cache opened


@pytest.fixture
def serve_on(clean_runtime):
    def set_address(address):
        st_config.set_option("server.address", address)
    yield set_address
    st_config.get_config_options(force_reparse=True)


def test_a_public_address_is_refused_then_allowed_with_a_banner(serve_on, monkeypatch):
    serve_on("0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.run()
    assert "Reelboard will not start" in _texts(at)

    monkeypatch.setenv(ALLOW_UNAUTHENTICATED_ENV, "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["reelboard"] = {"timezone": "UTC"}
    at.run()
    errors = [e.value for e in at.error]
    assert any("without sign-in" in e for e in errors)
    assert "Reelboard will not start" not in _texts(at)


def test_the_committed_config_binds_to_loopback():
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    assert check_streamlit_options({
        "client.showErrorDetails": config["client"]["showErrorDetails"],
        "server.enableXsrfProtection": config["server"]["enableXsrfProtection"],
        "server.enableStaticServing": config["server"]["enableStaticServing"],
    }) == []


# -- a real server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_from_elsewhere(tmp_path):
    """`streamlit run <repo>/streamlit_app.py` started from an unrelated folder."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    port = _free_port()
    env = {**os.environ, "REELBOARD_DATA_DIR": str(tmp_path / "data")}
    env.pop(ALLOW_UNAUTHENTICATED_ENV, None)
    log_path = tmp_path / "streamlit.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "streamlit_app.py"),
             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.25)
        yield url, cwd, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_the_server_sends_security_headers_and_uses_its_own_config(served_from_elsewhere):
    url, cwd, log_path = served_from_elsewhere
    for path in ("/", "/_stcore/health", "/accounts"):
        response = requests.get(url + path, timeout=10)
        assert response.ok, path
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    log = log_path.read_text()
    # Reelboard's config (found next to streamlit_app.py, not in the cwd) binds to loopback:
    # Streamlit prints a "Network URL" only when it listens on every interface.
    assert "Network URL" not in log and "localhost" in log
    assert not (cwd / "data").exists() and not (cwd / ".streamlit").exists()


@pytest.mark.e2e
def test_the_wrapped_app_renders_in_a_browser(served_from_elsewhere, page):
    from tests.e2e.conftest import wait_for_app

    url, cwd, _ = served_from_elsewhere
    page.goto(url)
    wait_for_app(page)
    assert page.get_by_text("Sandbox mode").first.is_visible()
    assert page.get_by_text("Reelboard will not start").count() == 0
    assert page.get_by_test_id("stException").count() == 0
    assert not (cwd / "data").exists()

