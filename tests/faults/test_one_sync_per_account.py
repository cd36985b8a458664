"""Fault suite, issue 11 item 5: one sync per account across processes, one pacing budget.

Cron and *Sync now* used to run two syncs of one account at once: twice the API calls, and at
a low limit both failed with rate_limit_exceeded. A lease on the account row makes the second
say "already running" without a request, and the pacing window lives in a file every process
of the data directory shares.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET
from services.ratelimit import Pacer
from services.sync import sync_accounts
from services.sync_lease import LEASE_SECONDS, claim_sync_lease
from tests.services.conftest import REDIRECT_URI
from tests.services.test_sync import api_calls, connect

REPO = Path(__file__).resolve().parents[2]


def _hold_lease_elsewhere(db, open_id, until):
    db.execute("UPDATE accounts SET sync_lease_owner = 'otherhost:4242:abcd', "
               "sync_lease_until = ? WHERE open_id = ?", [until, open_id])


def test_a_sync_held_by_another_process_is_already_running(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    _hold_lease_elsewhere(db, open_id, int(time.time()) + 60)
    sandbox.clear_requests()

    [result] = sync_accounts(settings, [open_id], keyring=keyring)

    assert result.status == "skipped" and result.already_running
    assert "already running" in result.error
    assert api_calls(sandbox) == []  # not one request
    assert db.execute("SELECT count(*) FROM sync_runs").fetchone()[0] == 0


def test_a_crashed_holders_lease_expires(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    _hold_lease_elsewhere(db, open_id, int(time.time()) - 1)

    [result] = sync_accounts(settings, [open_id], keyring=keyring)

    assert result.status == "succeeded", result.error
    # Released at the end, so the next sync (any process) may run at once.
    assert db.execute("SELECT sync_lease_owner, sync_lease_until FROM accounts "
                      "WHERE open_id = ?", [open_id]).fetchone() == (None, None)


def test_the_lease_is_claimed_once(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    first = claim_sync_lease(db, open_id)
    assert first is not None and first.owner
    assert claim_sync_lease(db, open_id) is None
    until = db.execute("SELECT sync_lease_until FROM accounts WHERE open_id = ?",
                       [open_id]).fetchone()[0]
    assert until <= int(time.time()) + LEASE_SECONDS
    first.release()
    second = claim_sync_lease(db, open_id)
    assert second is not None
    second.release()


class FakeWall:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_two_pacers_on_one_data_dir_share_one_budget(tmp_path):
    """Two processes' pacers (two instances, one file): the second waits for the first's
    requests to leave the window instead of spending a budget of its own."""
    wall = FakeWall()
    path = tmp_path / "pacing.db"
    cron = Pacer(30, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    app = Pacer(30, shared_path=path, wall_clock=wall, sleep=wall.sleep)
    for _ in range(27):  # 90 % of 30/min
        assert cron.acquire("/v2/video/list/", "acct") == 0
    assert app.acquire("/v2/video/list/", "other-account") == 0  # per account
    assert app.acquire("/v2/user/info/", "acct") == 0  # per endpoint
    waited = app.acquire("/v2/video/list/", "acct")
    assert 59.9 < waited < 60.2
    cron.close()
    app.close()


@pytest.mark.slow
def test_two_cli_syncs_at_once_make_one_listing_and_no_429(settings, db, keyring, sandbox,
                                                           data_dir):
    """Two real processes, `python -m services sync --account=…`, against a sandbox limited to
    12 requests a minute per endpoint: one listing's worth of video/list calls, zero 429s."""
    username = f"lease{secrets.token_hex(4)}"  # the sandbox's world outlives its resets
    created = sandbox.http.post(sandbox.base_url + "/_sandbox/creators",
                                json={"username": username, "videos": 180}, timeout=10)
    assert created.status_code == 201, created.text
    open_id = connect(db, settings, keyring, sandbox, username)
    sandbox.config(rate_limit_per_minute=12)
    sandbox.fault("latency", ms=800)  # the first sync is still listing when the second starts
    sandbox.clear_requests()
    env = {**os.environ, "TIKTOK_CLIENT_KEY": DEFAULT_CLIENT_KEY,
           "TIKTOK_CLIENT_SECRET": DEFAULT_CLIENT_SECRET, "TIKTOK_REDIRECT_URI": REDIRECT_URI,
           "TIKTOK_AUTH_URL": sandbox.auth_url, "TIKTOK_API_BASE_URL": sandbox.base_url,
           "REELBOARD_DATA_DIR": str(data_dir), "REELBOARD_SYNC_REQUESTS_PER_MINUTE": "12"}
    command = [sys.executable, "-m", "services", "sync", f"--account={open_id}", "--quiet"]
    first = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not [c for c in api_calls(sandbox) if c["path"] == "/v2/video/list/"]:
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=120)
    out, err = first.communicate(timeout=120)

    assert first.returncode == 0, (out, err)
    assert second.returncode == 1 and "already running" in second.stdout, second
    calls = api_calls(sandbox)
    lists = [c for c in calls if c["path"] == "/v2/video/list/"]
    assert len(lists) == 9  # 180 videos, 20 a page: one listing
    assert [c for c in calls if c["status"] == 429] == []
    assert "Traceback" not in second.stderr + err


def test_sync_now_while_another_process_syncs_is_a_neutral_note():
    """The app's *Sync now* while cron holds the account: an info note, not a warning."""
    import streamlit as st

    from dashboard import runtime as dashboard_runtime
    from services.db import open_db
    from tests.pages.conftest import connect_demo, current_runtime, open_page

    st.cache_data.clear()
    try:
        rt = current_runtime()
        account = connect_demo(rt, "trailrunnerjo")
        (first,) = sync_accounts(rt.settings, [account.open_id])
        assert first.ok, first.error
        with open_db(rt.settings.database_path) as db:
            _hold_lease_elsewhere(db, account.open_id, int(time.time()) + 60)
        at = open_page("overview")
        at.button(key="sync_now").click().run()
        assert not at.exception
        assert any("already running" in note.value for note in at.info)
        assert not any("already running" in w.value for w in at.warning)
    finally:
        dashboard_runtime.shutdown()
        st.cache_data.clear()
