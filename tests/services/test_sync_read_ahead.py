"""The listing's read-ahead thread (services.sync._ReadAhead): stops, rejections, cancels;
and a single account's run on the caller's thread.

The pages come from a script (instant answers, so the reader runs as far ahead as it may);
user/info and token refreshes go to the sandbox.
"""

from __future__ import annotations

import threading

import pytest

import services.sync as sync_module
from services.access import LOCAL_ACTOR
from services.sync import PAGE_SIZE, READ_AHEAD_PAGES, sync_account, sync_accounts
from services.tiktok.client import VideoPage
from services.tiktok.errors import error_from_api
from tests.services.test_sync import (
    T0,
    Killed,
    ScriptedClient,
    connect,
    fake_videos,
    fixed,
    freeze,
    make_client,  # noqa: F401 (a fixture)
)

PAGES = 30


def _pages(n: int = PAGES) -> list[VideoPage]:
    return [VideoPage(fake_videos(20 * i), 10_000 - i, i < n - 1) for i in range(n)]


def _saved(db) -> int:
    return db.execute("SELECT count(*) FROM video_snapshots").fetchone()[0]


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "reelboard-fetch"]


class RejectingOnce(ScriptedClient):
    """TikTok refuses the token once, at the ``at``-th list request."""

    def __init__(self, settings, pages, at):
        super().__init__(settings, pages)
        self._at = at
        self.tokens_seen: list[str] = []

    def list_videos(self, access_token, fields, *, cursor=None, max_count=20):
        self.tokens_seen.append(access_token)
        if len(self.tokens_seen) == self._at:
            raise error_from_api(401, "access_token_invalid")
        return super().list_videos(access_token, fields, cursor=cursor, max_count=max_count)


def test_a_token_refused_mid_listing_is_refreshed_once(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    sandbox.clear_requests()
    client = RejectingOnce(settings, _pages(), at=5)
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert result.status == "succeeded", result.error
    assert _saved(db) == PAGES * 20 and result.videos_seen == PAGES * 20
    assert len(sandbox.token_requests("refresh_token")) == 1
    # Page 5 asked again with the new token, which every later request uses.
    assert client.list_calls == PAGES and len(client.tokens_seen) == PAGES + 1
    assert len(set(client.tokens_seen[:5])) == 1
    assert set(client.tokens_seen[5:]) == {client.tokens_seen[5]} != {client.tokens_seen[0]}
    assert not _readers()


def test_a_stop_inside_a_write_leaves_whole_pages_and_no_reader(settings, db, keyring, sandbox,
                                                               monkeypatch):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    client = ScriptedClient(settings, _pages())
    real_store, calls = sync_module._store_page, []

    def store_then_die(*args, **kwargs):
        calls.append(1)
        written = real_store(*args, **kwargs)
        if len(calls) == 3:
            raise Killed  # inside the third page's transaction: it rolls back
        return written

    monkeypatch.setattr(sync_module, "_store_page", store_then_die)
    with pytest.raises(Killed):
        sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert _saved(db) == 2 * 20
    # The reader ran ahead by at most READ_AHEAD_PAGES pages and was waited for.
    assert 3 <= client.list_calls <= 3 + READ_AHEAD_PAGES
    assert not _readers()
    assert db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL again for what follows


def test_a_cancel_stops_the_requests_after_the_page_in_hand(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    client = ScriptedClient(settings, _pages())
    cancel = threading.Event()
    calls_at_cancel = []

    def on_progress(done, total, message):
        if done == 2 * 20:
            cancel.set()
            calls_at_cancel.append(client.list_calls)

    result = sync_account(db, client, keyring, open_id, clock=fixed(T0), cancel=cancel,
                          on_progress=on_progress)
    assert result.status == "failed" and "cancelled" in result.error
    # The page taken when the cancel was seen is still written, as before the read-ahead.
    assert _saved(db) == 3 * 20
    assert client.list_calls <= calls_at_cancel[0] + 1  # at most the one already on its way
    assert not _readers()


def test_one_account_runs_here_and_a_raising_callback_stops_it(settings, db, keyring, sandbox,
                                                                make_client):  # noqa: F811
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    threads = set()

    def stop(done, total, message):
        threads.add(threading.current_thread())
        if done >= 2 * PAGE_SIZE:
            raise Killed

    with pytest.raises(Killed):
        sync_accounts(settings, [open_id], actor=LOCAL_ACTOR, client_factory=make_client,
                      keyring=keyring, clock=fixed(T0), on_progress=stop)
    assert threads == {threading.current_thread()}
    # As with several accounts: the run stopped at its next checkpoint, as cancelled.
    status, error = db.execute("SELECT status, error FROM sync_runs").fetchone()
    assert status == "failed" and "cancelled" in error
    assert 2 * PAGE_SIZE <= _saved(db) <= 3 * PAGE_SIZE
    assert not _readers()
