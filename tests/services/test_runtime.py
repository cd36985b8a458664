"""services.runtime in sandbox mode: one stable sandbox origin per data directory.

Ground truth is what answers on the wire (``GET /_sandbox/health`` on a port) and the files in
the data dir, never the runtime's own bookkeeping alone.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import start_sandbox
from services import runtime as runtime_module
from services.access import LOCAL_ACTOR
from services.accounts import start_connect
from services.config import load_settings
from services.db import open_db
from services.runtime import (
    LOCK_FILE,
    PORT_FILE,
    Runtime,
    remembered_port,
    sandbox_answers,
    start_runtime,
)
from services.tiktok.scopes import ANALYTICS


def settings_for(data_dir: Path, app_url: str = "http://localhost:8501"):
    return load_settings({"reelboard": {"timezone": "UTC"}},
                         {"REELBOARD_DATA_DIR": str(data_dir)}, app_url=app_url)


def port_of(rt: Runtime) -> int:
    port = urlsplit(rt.settings.api_base_url).port
    assert port is not None
    return port


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def runtimes():
    """start_runtime, with every runtime stopped at the end even if the test fails."""
    started: list[Runtime] = []

    def start(data_dir: Path, **kwargs) -> Runtime:
        rt = start_runtime(settings_for(data_dir, **kwargs))
        started.append(rt)
        return rt

    yield start
    for rt in reversed(started):
        rt.stop()


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def test_second_runtime_reuses_the_first_sandbox(runtimes, data_dir):
    first = runtimes(data_dir)
    port = port_of(first)
    assert first.sandbox is not None and first.sandbox.port == port
    assert remembered_port(first.settings) == port
    assert (data_dir / "sandbox" / PORT_FILE).read_text().strip() == str(port)

    second = runtimes(data_dir)

    assert second.sandbox is None  # a guest: it started no server of its own
    assert second.settings.api_base_url == first.settings.api_base_url
    assert second.settings.auth_url == first.settings.auth_url
    assert second.settings.api_base_url == f"http://127.0.0.1:{port}"
    # Its client really talks to the shared server.
    assert requests.get(second.settings.api_base_url + "/_sandbox/health", timeout=5).ok

    second.stop()
    assert sandbox_answers(port), "stopping a guest must leave the owner's sandbox up"
    assert first.sandbox is not None

    first.stop()
    assert not sandbox_answers(port)

    third = runtimes(data_dir)
    assert third.sandbox is not None, "nobody serves it any more: the new runtime owns it"
    assert port_of(third) == port == third.sandbox.port
    assert sandbox_answers(port)


def test_a_guest_takes_over_on_the_same_port_when_the_owner_stops(runtimes, data_dir):
    owner = runtimes(data_dir)
    guest = runtimes(data_dir)
    port = port_of(owner)
    url = guest.settings.api_base_url

    owner.stop()

    # The guest notices the freed lock and serves the same origin, so URLs it stored stay live.
    assert wait_until(lambda: guest.sandbox is not None and sandbox_answers(port))
    assert guest.settings.api_base_url == url
    assert guest.sandbox.port == port
    assert remembered_port(guest.settings) == port
    guest.stop()
    assert not sandbox_answers(port)


def test_a_taken_remembered_port_falls_back_to_a_free_one(runtimes, data_dir):
    # An unrelated program listens on the port this data dir remembers.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    try:
        (data_dir / "sandbox").mkdir(parents=True)
        (data_dir / "sandbox" / PORT_FILE).write_text(f"{taken}\n")

        rt = runtimes(data_dir)

        assert rt.sandbox is not None
        assert port_of(rt) != taken
        assert sandbox_answers(port_of(rt))
        assert (data_dir / "sandbox" / PORT_FILE).read_text().strip() == str(port_of(rt))
    finally:
        squatter.close()


def test_a_foreign_sandbox_on_the_remembered_port_is_not_reused(runtimes, data_dir):
    """A sandbox that answers health but holds no lock of this data dir (another data dir's,
    or a bare `python -m sandbox`) is not ours: its state is different."""
    foreign = start_sandbox(port=0, state_path=None)
    try:
        (data_dir / "sandbox").mkdir(parents=True)
        (data_dir / "sandbox" / PORT_FILE).write_text(f"{foreign.port}\n")

        rt = runtimes(data_dir)

        assert rt.sandbox is not None and port_of(rt) != foreign.port
        assert remembered_port(rt.settings) == port_of(rt)
        rt.stop()
        assert sandbox_answers(foreign.port), "we never stop a server we did not start"
    finally:
        foreign.stop()


def test_different_data_dirs_get_different_sandboxes(runtimes, tmp_path):
    a = runtimes(tmp_path / "a")
    b = runtimes(tmp_path / "b")

    assert a.sandbox is not None and b.sandbox is not None
    assert port_of(a) != port_of(b)
    assert remembered_port(a.settings) == port_of(a)
    assert remembered_port(b.settings) == port_of(b)
    # Each serves its own state: moving one clock leaves the other alone.
    before = requests.get(b.settings.api_base_url + "/_sandbox/clock", timeout=5).json()
    requests.post(a.settings.api_base_url + "/_sandbox/clock", json={"advance": 86400},
                  timeout=5).raise_for_status()
    after_a = requests.get(a.settings.api_base_url + "/_sandbox/clock", timeout=5).json()
    after_b = requests.get(b.settings.api_base_url + "/_sandbox/clock", timeout=5).json()
    assert after_a["offset_seconds"] == pytest.approx(86400, abs=5)
    assert after_b["offset_seconds"] == pytest.approx(before["offset_seconds"], abs=1)


def test_runtimes_starting_at_once_share_one_sandbox(data_dir):
    started: list[Runtime] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start() -> None:
        barrier.wait()
        try:
            started.append(start_runtime(settings_for(data_dir)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    try:
        assert not errors
        assert len({rt.settings.api_base_url for rt in started}) == 1
        assert sum(rt.sandbox is not None for rt in started) == 1
    finally:
        # Guests first, so none of them takes over from the owner being stopped.
        for rt in sorted(started, key=lambda r: r.sandbox is not None):
            rt.stop()


def test_a_guest_with_another_redirect_uri_can_connect(runtimes, data_dir):
    """A second app on another port reuses the sandbox; its own callback must be accepted."""
    runtimes(data_dir)
    guest = runtimes(data_dir, app_url="http://localhost:8502")
    assert guest.settings.redirect_uri == "http://localhost:8502/accounts"

    with open_db(guest.settings.database_path, migrate=True) as db:
        url = start_connect(db, guest.settings, guest.keyring, actor=LOCAL_ACTOR, scopes=ANALYTICS)
    response = requests.post(guest.settings.api_base_url + "/_sandbox/consent",
                             json={"authorize_url": url, "creator": "lunakitchen"}, timeout=10)

    assert response.status_code == 200, response.text
    redirect = response.json()["redirect_url"]
    assert redirect.startswith("http://localhost:8502/accounts?")
    assert "code" in parse_qs(urlsplit(redirect).query)


def test_a_stuck_owner_does_not_block_start_up(runtimes, data_dir, monkeypatch):
    """Lock held but nothing answers: after the wait, a private sandbox (not remembered)."""
    monkeypatch.setattr(runtime_module, "OWNER_WAIT_SECONDS", 0.3)
    (data_dir / "sandbox").mkdir(parents=True)
    (data_dir / "sandbox" / PORT_FILE).write_text("1\n")
    holder = runtime_module._OwnerLock(data_dir / "sandbox" / LOCK_FILE)
    assert holder.try_acquire()
    try:
        rt = runtimes(data_dir)
        assert rt.sandbox is not None and sandbox_answers(port_of(rt))
        assert remembered_port(rt.settings) == 1  # only the lock holder rewrites it
    finally:
        holder.close()


def test_live_mode_starts_no_sandbox(tmp_path):
    settings = load_settings(
        {"tiktok": {"client_key": "awlivekey", "client_secret": "s3cret",
                    "redirect_uri": "https://reelboard.example.com/accounts"},
         "reelboard": {"timezone": "UTC"}},
        {"REELBOARD_DATA_DIR": str(tmp_path / "data")})
    rt = start_runtime(settings)
    try:
        assert rt.sandbox is None
        assert rt.settings.api_base_url == "https://open.tiktokapis.com"
        assert not (tmp_path / "data" / "sandbox").exists()
    finally:
        rt.stop()
