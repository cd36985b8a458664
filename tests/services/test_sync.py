"""services.sync and services.ratelimit against a real sandbox on loopback.

Ground truth comes from the sandbox's own world (which videos are public and live at a simulated
instant) and its request log (what really went over the wire), never from the code under test.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import services.sync as sync_module
from services.access import LOCAL_ACTOR
from services.accounts import complete_connect, mark_needs_reconnect, start_connect
from services.db import open_db
from services.demo_history import SandboxClock
from services.ratelimit import Pacer, budget_for, paced_session
from services.sync import PAGE_SIZE, SyncOptions, sync_account, sync_accounts
from services.tiktok.client import TikTokClient, VideoPage
from services.tiktok.scopes import ANALYTICS
from tests.services.conftest import ANCHOR, make_settings

# A simulated instant well after the world's anchor, so every demo creator has history and
# some of lunakitchen's deleted videos are still live.
T0 = ANCHOR + timedelta(days=3, hours=9)
SNAPSHOT_TABLES = {
    "videos": "id",
    "video_snapshots": "video_id, captured_at",
    "account_snapshots": "open_id, captured_at",
    "account_video_totals": "open_id, captured_at",
}


# -- helpers -------------------------------------------------------------------------------


def connect(db, settings, keyring, sandbox, creator: str, scopes: list[str] | None = None) -> str:
    """Connect ``creator`` through the real flow: authorize URL → sandbox consent → callback."""
    client = TikTokClient.from_settings(settings)
    try:
        url = start_connect(db, settings, keyring, actor=LOCAL_ACTOR, scopes=ANALYTICS)
        params = sandbox.callback_params(url, creator=creator, scopes=scopes)
        return complete_connect(db, client, keyring, params,
                                actor=LOCAL_ACTOR, redirect_uri=settings.redirect_uri).open_id
    finally:
        client.session.close()


def freeze(sandbox, moment: datetime) -> None:
    """Stop the sandbox clock at ``moment``: counters and cover links then repeat exactly."""
    sandbox._post("/_sandbox/clock", {"set": moment.timestamp(), "freeze": True})


def set_clock(sandbox, moment: datetime) -> None:
    sandbox._post("/_sandbox/clock", {"set": moment.timestamp()})


def world(sandbox, username: str):
    return sandbox.server.sandbox.world.creator(username)


def listed_ids(sandbox, username: str, moment: datetime) -> set[str]:
    """What video/list may return at ``moment`` (public, posted, not deleted)."""
    now = moment.timestamp()
    return {v.id for v in world(sandbox, username).videos if v.listed_at(now)}


def api_calls(sandbox, open_id: str | None = None) -> list[dict]:
    return [e for e in sandbox.requests()
            if e["path"].startswith("/v2/") and (open_id is None or e["open_id"] == open_id)]


def table(db, name: str) -> list[tuple]:
    return db.execute(f"SELECT * FROM {name} ORDER BY {SNAPSHOT_TABLES[name]}").fetchall()


@pytest.fixture
def make_client(settings, sleeps):
    """A factory for sync_accounts: real client on the paced session, back-off not slept."""
    def factory(_settings, session):
        return TikTokClient.from_settings(_settings, session=session, sleep=sleeps.append,
                                          rand=lambda: 0.5)
    return factory


def fixed(moment: datetime):
    return lambda: moment


def run_one(db, settings, keyring, open_id, *, moment=T0, **kwargs):
    """sync_account on this thread with a real client on a paced session (as sync_accounts)."""
    session, adapter = paced_session(kwargs.pop("pacer", None) or Pacer(), open_id)
    client = TikTokClient.from_settings(settings, session=session, sleep=lambda s: None,
                                        rand=lambda: 0.5)
    try:
        return sync_account(db, client, keyring, open_id, clock=fixed(moment),
                            requests_counter=lambda: adapter.requests_made, **kwargs)
    finally:
        session.close()


# -- the happy path ------------------------------------------------------------------------


def test_one_pass_covers_every_public_video_once(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    sandbox.clear_requests()

    result = run_one(db, settings, keyring, open_id)

    expected = listed_ids(sandbox, "lunakitchen", T0)
    assert result.status == "succeeded", result.error
    assert len(expected) > 500
    ids = [r[0] for r in db.execute("SELECT id FROM videos")]
    assert set(ids) == expected  # every public live video, nothing private or deleted
    snaps = db.execute("SELECT video_id, captured_at FROM video_snapshots").fetchall()
    assert len(snaps) == len(set(snaps)) == len(expected)
    assert {c for _, c in snaps} == {result.captured_at}  # one capture time per run
    # The fewest requests: one user/info and ceil(N/20) list pages, nothing else.
    calls = api_calls(sandbox)
    assert [c["path"] for c in calls].count("/v2/user/info/") == 1
    assert [c["path"] for c in calls].count("/v2/video/list/") == math.ceil(len(expected) / 20)
    assert not [c for c in calls if c["path"] == "/v2/video/query/"]
    assert result.requests_made == len(calls)
    # Video metadata is stored with ids as text.
    row = db.execute("SELECT typeof(id), title, duration, width, height, share_url, "
                     "cover_image_url, embed_link FROM videos LIMIT 1").fetchone()
    assert row[0] == "text" and all(v is not None for v in row[1:])


def test_counters_match_the_sandbox(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    result = run_one(db, settings, keyring, open_id)
    creator = world(sandbox, "trailrunnerjo")
    by_id = {v.id: v for v in creator.videos}
    for vid, views, likes, comments, shares in db.execute(
            "SELECT video_id, view_count, like_count, comment_count, share_count "
            "FROM video_snapshots"):
        assert (views, likes, comments, shares) == by_id[vid].counts_at(T0.timestamp())
    stats = creator.stats(T0.timestamp())
    snap = db.execute("SELECT follower_count, following_count, likes_count, video_count "
                      "FROM account_snapshots WHERE open_id = ?", [open_id]).fetchone()
    assert snap == (stats.follower_count, stats.following_count, stats.likes_count,
                    stats.video_count)
    totals = db.execute("SELECT videos_counted, view_count FROM account_video_totals").fetchone()
    assert totals == (result.videos_seen, sum(
        by_id[v].counts_at(T0.timestamp())[0] for v in listed_ids(sandbox, "trailrunnerjo", T0)))


def test_sync_runs_bookkeeping_matches_the_request_log(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    sandbox.clear_requests()
    result = run_one(db, settings, keyring, open_id)
    run = db.execute(
        "SELECT status, captured_at, started_at, finished_at, requests_made, rows_written, "
        "duration_ms, videos_seen, missing_scopes, error FROM sync_runs").fetchone()
    videos = db.execute("SELECT count(*) FROM videos").fetchone()[0]
    assert run[0] == "succeeded"
    assert run[1] == run[2] == int(T0.timestamp()) == result.captured_at
    assert run[3] is not None
    assert run[4] == len(api_calls(sandbox)) == 1 + math.ceil(videos / PAGE_SIZE)
    # videos upserted + their snapshots + account snapshot + totals + profile refresh
    assert run[5] == 2 * videos + 3
    assert run[6] >= 0 and run[7] == videos
    assert run[8] is None and run[9] is None
    # The profile columns follow the newest run.
    followers = db.execute("SELECT follower_count FROM accounts").fetchone()[0]
    assert followers == world(sandbox, "trailrunnerjo").stats(T0.timestamp()).follower_count


def test_new_videos_and_growth_after_advancing_the_clock(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    first = run_one(db, settings, keyring, open_id)
    later = T0 + timedelta(days=4)
    freeze(sandbox, later)
    second = run_one(db, settings, keyring, open_id, moment=later)

    new = listed_ids(sandbox, "lunakitchen", later) - listed_ids(sandbox, "lunakitchen", T0)
    assert new, "lunakitchen posts about daily: four days bring new videos"
    assert second.status == "succeeded"
    seen_first = {r[0] for r in db.execute(
        "SELECT id FROM videos WHERE first_seen_at = ?", [second.captured_at])}
    assert seen_first == new
    # Every counter is monotone in time in the sandbox; our snapshots must agree.
    rows = db.execute(
        "SELECT a.view_count, b.view_count FROM video_snapshots a JOIN video_snapshots b "
        "ON a.video_id = b.video_id AND a.captured_at = ? AND b.captured_at = ?",
        [first.captured_at, second.captured_at]).fetchall()
    assert rows and all(b >= a for a, b in rows)
    assert any(b > a for a, b in rows)
    totals = db.execute("SELECT view_count FROM account_video_totals ORDER BY captured_at")
    views = [r[0] for r in totals]
    assert len(views) == 2 and views[1] > views[0]


def test_deleted_and_private_videos(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    creator = world(sandbox, "lunakitchen")
    victim = min((v for v in creator.public if v.deleted_at and v.deleted_at > T0.timestamp()),
                 key=lambda v: v.deleted_at)
    before = datetime.fromtimestamp(victim.deleted_at - 3600, UTC)
    after = datetime.fromtimestamp(victim.deleted_at + 3600, UTC)
    freeze(sandbox, before)
    run_one(db, settings, keyring, open_id, moment=before)
    assert db.execute("SELECT removed_at FROM videos WHERE id = ?", [victim.id]).fetchone() == (
        None,)
    freeze(sandbox, after)
    second = run_one(db, settings, keyring, open_id, moment=after)

    row = db.execute("SELECT removed_at FROM videos WHERE id = ?", [victim.id]).fetchone()
    assert row == (second.captured_at,)  # marked, not deleted: its history stays
    assert db.execute("SELECT count(*) FROM video_snapshots WHERE video_id = ?",
                      [victim.id]).fetchone()[0] == 1
    removed = {r[0] for r in db.execute("SELECT id FROM videos WHERE removed_at IS NOT NULL")}
    assert removed == listed_ids(sandbox, "lunakitchen", before) - listed_ids(
        sandbox, "lunakitchen", after)
    private = {v.id for v in creator.videos if not v.is_public}
    assert private and not private & {r[0] for r in db.execute("SELECT id FROM videos")}
    totals = db.execute("SELECT videos_counted FROM account_video_totals WHERE captured_at = ?",
                        [second.captured_at]).fetchone()[0]
    assert totals == len(listed_ids(sandbox, "lunakitchen", after))


def test_two_runs_in_the_same_second_keep_their_own_snapshots(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    first = run_one(db, settings, keyring, open_id)
    second = run_one(db, settings, keyring, open_id)
    assert first.status == second.status == "succeeded"
    assert second.captured_at == first.captured_at + 1
    assert db.execute("SELECT count(DISTINCT captured_at) FROM video_snapshots").fetchone()[0] == 2


# -- partial grants and skipped accounts ---------------------------------------------------


def test_without_video_list_only_the_profile_is_synced(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo",
                      scopes=["user.info.basic", "user.info.profile", "user.info.stats"])
    freeze(sandbox, T0)
    sandbox.clear_requests()
    result = run_one(db, settings, keyring, open_id)
    assert result.status == "partial"
    assert result.missing_scopes == ("video.list",)
    assert "not allowed reading videos" in result.error and "Grant more" in result.error
    assert [c["path"] for c in api_calls(sandbox)] == ["/v2/user/info/"]
    assert db.execute("SELECT count(*) FROM videos").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM account_snapshots").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM account_video_totals").fetchone()[0] == 0
    assert db.execute("SELECT status, missing_scopes FROM sync_runs").fetchone() == (
        "partial", "video.list")


def test_without_user_info_stats_videos_are_still_synced(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo",
                      scopes=["user.info.basic", "video.list"])
    freeze(sandbox, T0)
    result = run_one(db, settings, keyring, open_id)
    assert result.status == "partial"
    assert result.missing_scopes == ("user.info.stats",)
    assert "not allowed reading profile stats" in result.error and "user.info" not in result.error
    assert result.videos_seen == len(listed_ids(sandbox, "trailrunnerjo", T0))
    assert db.execute("SELECT count(*) FROM account_snapshots").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM account_video_totals").fetchone()[0] == 1


def test_accounts_that_need_reconnecting_are_skipped(settings, db, keyring, sandbox,
                                                     make_client):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    mark_needs_reconnect(db, open_id, "TikTok refused the refresh token.")
    sandbox.clear_requests()
    [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring)
    assert result.status == "skipped"
    assert "Reconnect" in result.error and "refused the refresh token" in result.error
    assert api_calls(sandbox) == []
    assert db.execute("SELECT count(*) FROM sync_runs").fetchone()[0] == 0


# -- faults from the control API -----------------------------------------------------------


@pytest.mark.parametrize("fault", [
    {"kind": "rate_limit", "count": 3, "path": "/v2/video/list/"},
    {"kind": "server_error", "count": 2, "status": 503},
    {"kind": "server_error", "count": 1, "status": 500, "path": "/v2/user/info/"},
    {"kind": "drop", "count": 2, "path": "/v2/video/list/"},
    {"kind": "latency", "ms": 30},
], ids=["429-burst", "503-burst", "500-user-info", "drop", "latency"])
def test_transient_faults_are_retried_and_counted(settings, db, keyring, sandbox, make_client,
                                                  sleeps, fault):
    connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    sandbox.clear_requests()
    sandbox.fault(**fault)
    [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring,
                             clock=fixed(T0))
    assert result.status == "succeeded", result.error
    assert result.videos_seen == len(listed_ids(sandbox, "trailrunnerjo", T0))
    calls = api_calls(sandbox)
    assert result.requests_made == len(calls)  # retries are counted too
    expected_retries = fault.get("count", 0) if fault["kind"] != "latency" else 0
    assert len(calls) == 1 + math.ceil(result.videos_seen / PAGE_SIZE) + expected_retries
    assert len(sleeps) == expected_retries  # the client backed off before each retry


def test_a_429_storm_fails_the_run_and_the_next_run_continues(settings, db, keyring, sandbox,
                                                             make_client):
    connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    pages = []

    def storm_after_three_pages(done, total, message):
        pages.append(done)
        if len(pages) == 4:  # "profile read" + three pages
            sandbox.fault("rate_limit", count=1000, path="/v2/video/list/")

    [first] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                            keyring=keyring,
                            clock=fixed(T0), on_progress=storm_after_three_pages)
    assert first.status == "failed"
    saved = db.execute("SELECT count(*) FROM video_snapshots").fetchone()[0]
    # Pages read before the storm began (the listing reads ahead of the writes and the
    # callback) still land, every one of them; nothing after the storm does.
    listed = [e for e in api_calls(sandbox)
              if e["path"] == "/v2/video/list/" and e["status"] == 200]
    assert saved == len(listed) * PAGE_SIZE >= 3 * PAGE_SIZE
    assert f"Stopped after {saved} videos" in first.error and "rate limit" in first.error
    assert db.execute("SELECT count(*) FROM account_video_totals").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM videos WHERE removed_at IS NOT NULL").fetchone() == (
        0,)

    sandbox.http.delete(sandbox.base_url + "/_sandbox/faults", timeout=10)
    sandbox.clear_requests()
    [second] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring,
                             clock=fixed(T0 + timedelta(minutes=5)))
    assert second.status == "succeeded" and second.resumed
    assert second.run_id == first.run_id and second.captured_at == first.captured_at
    total = len(listed_ids(sandbox, "lunakitchen", T0))
    assert second.videos_seen == total
    # It continued after the saved videos instead of starting over.
    assert len(api_calls(sandbox)) == 1 + math.ceil((total - saved + 1) / PAGE_SIZE)


def test_expired_token_is_refreshed_once(settings, db, keyring, sandbox, make_client):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    sandbox.fault("expire_token", open_id=open_id)
    sandbox.clear_requests()
    [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring,
                             clock=fixed(T0))
    assert result.status == "succeeded", result.error
    assert len(sandbox.token_requests("refresh_token")) == 1
    assert result.requests_made == len(sandbox.requests())  # the refresh is counted as well


def test_revoked_access_fails_the_run_and_flags_the_account(settings, db, keyring, sandbox,
                                                           make_client):
    open_id = connect(db, settings, keyring, sandbox, "trailrunnerjo")
    freeze(sandbox, T0)
    sandbox.fault("revoke", open_id=open_id)
    [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring,
                             clock=fixed(T0))
    assert result.status == "failed"
    assert result.error.count("Reconnect") == 1 and result.error.endswith("Then sync again.")
    assert db.execute("SELECT status FROM accounts").fetchone() == ("needs_reconnect",)
    assert db.execute("SELECT status, error FROM sync_runs").fetchone()[0] == "failed"
    [again] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                            keyring=keyring)
    assert again.status == "skipped"


# -- kill and resume -----------------------------------------------------------------------


class Killed(BaseException):
    """Stands for a process being stopped (a signal, Ctrl-C): it propagates and the run is
    continued later. An ordinary exception inside a run is a crash instead: the run ends
    failed and is not continued (tests/faults/test_sync_counters.py)."""


def clean_reference(tmp_path, sandbox, creator="lunakitchen"):
    """A second cache that gets one uninterrupted run at T0, to compare against."""
    from services.crypto import load_keyring

    ref_settings = make_settings(tmp_path / "reference", sandbox)
    with open_db(ref_settings.database_path, migrate=True) as ref:
        ref_keyring = load_keyring(ref_settings, ref)
        open_id = connect(ref, ref_settings, ref_keyring, sandbox, creator)
        result = run_one(ref, ref_settings, ref_keyring, open_id)
        assert result.status == "succeeded"
        return {name: table(ref, name) for name in SNAPSHOT_TABLES}


@pytest.mark.parametrize("how", ["progress-callback", "inside-page-write", "hard-kill"])
def test_kill_and_resume_leaves_the_rows_of_a_clean_run(tmp_path, settings, db,
                                                        keyring, sandbox, monkeypatch, how):
    freeze(sandbox, T0)
    reference = clean_reference(tmp_path, sandbox)
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")

    calls = {"n": 0}
    kwargs = {}
    if how in ("progress-callback", "hard-kill"):
        def on_progress(done, total, message):
            if done >= 7 * PAGE_SIZE:
                raise Killed
        kwargs["on_progress"] = on_progress
    else:
        real_store = sync_module._store_page

        def store_then_die(*args, **kw):
            calls["n"] += 1
            written = real_store(*args, **kw)
            if calls["n"] == 5:
                raise Killed  # inside the page's transaction: this page must roll back
            return written
        monkeypatch.setattr(sync_module, "_store_page", store_then_die)

    with pytest.raises(Killed):
        run_one(db, settings, keyring, open_id, **kwargs)
    if how == "hard-kill":
        # A killed process records nothing: the run row stays 'running'.
        db.execute("UPDATE sync_runs SET status = 'running', error = NULL")
    saved = db.execute("SELECT count(*) FROM video_snapshots").fetchone()[0]
    assert saved == (4 * PAGE_SIZE if how == "inside-page-write" else 7 * PAGE_SIZE)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    monkeypatch.undo()  # the next run is a normal one

    resumed = run_one(db, settings, keyring, open_id, moment=T0 + timedelta(seconds=90))
    assert resumed.status == "succeeded" and resumed.resumed
    assert resumed.captured_at == int(T0.timestamp())
    for name, rows in reference.items():
        assert table(db, name) == rows, name
    assert db.execute("SELECT count(*), max(status) FROM sync_runs").fetchone() == (
        1, "succeeded")


def test_a_stale_interrupted_run_is_closed_not_resumed(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)

    def die(done, total, message):
        if done:
            raise Killed
    with pytest.raises(Killed):
        run_one(db, settings, keyring, open_id, on_progress=die)
    db.execute("UPDATE sync_runs SET status = 'running'")
    later = T0 + timedelta(hours=3)  # past resume_within_s: its counts would be hours apart
    freeze(sandbox, later)
    result = run_one(db, settings, keyring, open_id, moment=later)
    assert result.status == "succeeded" and not result.resumed
    assert db.execute("SELECT status FROM sync_runs ORDER BY id").fetchall() == [
        ("failed",), ("succeeded",)]


# -- pagination safety ---------------------------------------------------------------------


class ScriptedClient(TikTokClient):
    """The real client for user/info and tokens; video/list answers from a script."""

    def __init__(self, settings, pages):
        real = TikTokClient.from_settings(settings)
        self.__dict__.update(real.__dict__)
        self._pages = list(pages)
        self.list_calls = 0

    def list_videos(self, access_token, fields, *, cursor=None, max_count=20):
        self.list_calls += 1
        return self._pages[min(self.list_calls, len(self._pages)) - 1]


def fake_videos(start: int, n: int = 20) -> list[dict]:
    return [{"id": str(7_300_000_000_000_000_000 + i), "create_time": 1_790_000_000 - i,
             "title": f"v{i}", "view_count": i} for i in range(start, start + n)]


@pytest.mark.parametrize("pages, reason", [
    ([VideoPage(fake_videos(0), 111, True), VideoPage(fake_videos(20), 111, True)],
     "cursor stopped advancing"),
    ([VideoPage(fake_videos(0), 111, True), VideoPage([], 222, True)], "empty page"),
], ids=["repeating-cursor", "empty-page-with-has-more"])
def test_pagination_never_loops(settings, db, keyring, sandbox, pages, reason):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    client = ScriptedClient(settings, pages)
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert client.list_calls == 2
    assert result.status == "partial" and reason in result.error
    # An incomplete listing proves nothing about removals and gives no account totals.
    assert db.execute("SELECT count(*) FROM account_video_totals").fetchone()[0] == 0


def test_page_cap(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    pages = [VideoPage(fake_videos(20 * i), 1000 - i, True) for i in range(10)]
    client = ScriptedClient(settings, pages)
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0),
                          options=SyncOptions(max_pages=3))
    assert client.list_calls == 3 and result.status == "partial"
    assert "3 pages" in result.error


def test_records_without_id_are_skipped_and_counted(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    videos = [*fake_videos(0, 3), {"title": "no id", "create_time": 1}, {"id": "7", "title": "x"}]
    client = ScriptedClient(settings, [VideoPage(videos, 5, False)])
    result = sync_account(db, client, keyring, open_id, clock=fixed(T0))
    assert result.status == "partial" and "2 video(s)" in result.error
    assert result.videos_seen == 3


# -- concurrency ---------------------------------------------------------------------------


def test_accounts_sync_concurrently_and_report_on_the_callers_thread(settings, db, keyring,
                                                                   sandbox, make_client):
    ids = {name: connect(db, settings, keyring, sandbox, name)
           for name in ("lunakitchen", "trailrunnerjo", "quietpotter")}
    freeze(sandbox, T0)
    sandbox.clear_requests()
    threads, events = set(), []

    def on_progress(done, total, message):
        threads.add(threading.current_thread())
        events.append((done, total))

    results = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                            keyring=keyring,
                            clock=fixed(T0), on_progress=on_progress)
    assert [r.open_id for r in results] == list(ids.values())  # connection order
    assert all(r.status == "succeeded" for r in results)
    assert threads == {threading.current_thread()}
    dones = [d for d, _ in events]
    assert dones == sorted(dones) and events[-1][0] == events[-1][1] == sum(
        r.videos_seen for r in results)
    for name, open_id in ids.items():
        result = next(r for r in results if r.open_id == open_id)
        assert result.videos_seen == len(listed_ids(sandbox, name, T0))
        assert result.requests_made == len(api_calls(sandbox, open_id))


def test_a_raising_progress_callback_stops_every_account(settings, db, keyring, sandbox,
                                                         make_client):
    for name in ("lunakitchen", "trailrunnerjo"):
        connect(db, settings, keyring, sandbox, name)
    freeze(sandbox, T0)

    def stop(done, total, message):
        raise Killed

    with pytest.raises(Killed):
        sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client, keyring=keyring,
                      clock=fixed(T0),
                      on_progress=stop)
    statuses = [r[0] for r in db.execute("SELECT status FROM sync_runs")]
    assert statuses and "running" not in statuses and "succeeded" not in statuses


def test_no_token_reaches_the_logs(settings, db, keyring, sandbox, make_client, caplog):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    sandbox.fault("expire_token", open_id=open_id)
    with caplog.at_level(logging.DEBUG):
        [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                                 keyring=keyring)
    assert result.status == "succeeded"
    text = caplog.text + result.summary()
    assert caplog.records
    assert not re.search(r"\b(act|rft)\.[A-Za-z0-9]", text)
    assert "Bearer " not in text


# -- pacing --------------------------------------------------------------------------------


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_keeps_a_sliding_window_per_endpoint_and_account():
    t = FakeTime()
    pacer = Pacer(30, clock=t, sleep=t.sleep)
    assert pacer.budget("/v2/video/list/") == budget_for(30) == 27
    for _ in range(27):
        assert pacer.acquire("http://x/v2/video/list/?fields=id", "a") == 0
    assert pacer.acquire("/v2/user/info/", "a") == 0  # another endpoint has its own window
    assert pacer.acquire("/v2/video/list/", "b") == 0  # and so has another account
    assert pacer.acquire("/v2/oauth/token/", "a") == 0  # undocumented limit: not paced
    t.now += 30
    waited = pacer.acquire("/v2/video/list/", "a")
    assert 29.9 < waited < 30.1  # the first request leaves the window 60 s after it was made
    # 6/min (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit)
    assert pacer.budget("/v2/post/publish/video/init/") == 5


def test_pacing_against_a_lowered_limit_sees_no_429(settings, db, keyring, sandbox, make_client):
    """31 list calls at a 30/min sandbox limit. The pacer waits on the sandbox's own clock (and
    advances it instead of sleeping), so the server's window really is exercised, in < 1 s."""
    connect(db, settings, keyring, sandbox, "lunakitchen")
    set_clock(sandbox, T0)
    sandbox.config(rate_limit_per_minute=30)
    sandbox.clear_requests()
    sim = SandboxClock(sandbox.base_url)
    pacer = Pacer(30, clock=sim.epoch, sleep=sim.advance)

    [result] = sync_accounts(settings, actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring, clock=sim,
                             pacer=pacer, options=SyncOptions(requests_per_minute=30))

    calls = api_calls(sandbox)
    assert result.status == "succeeded", result.error
    assert len([c for c in calls if c["path"] == "/v2/video/list/"]) > 30
    assert [c for c in calls if c["status"] == 429] == []
    assert pacer.waited_seconds >= 55  # it did have to wait for the window


def test_without_pacing_the_same_sync_hits_429(settings, db, keyring, sandbox, make_client):
    """The control for the test above: pacing for 600/min against a 30/min server fails."""
    open_id = connect(db, settings, keyring, sandbox, "lunakitchen")
    freeze(sandbox, T0)
    sandbox.config(rate_limit_per_minute=30)
    sandbox.clear_requests()
    [result] = sync_accounts(settings, [open_id], actor=LOCAL_ACTOR, client_factory=make_client,
                             keyring=keyring,
                             clock=fixed(T0))
    assert result.status == "failed" and "rate limit" in result.error
    assert [c for c in api_calls(sandbox) if c["status"] == 429]


@pytest.mark.slow
def test_pacing_in_real_time(settings, db, keyring, sandbox, make_client):
    """The same as above on the real clock (≈ 60 s): 28 list calls against 30/min."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    sandbox.config(rate_limit_per_minute=30)
    session, adapter = paced_session(Pacer(30), open_id)
    client = make_client(settings, session)
    sandbox.clear_requests()
    with open_db(settings.database_path) as conn:
        for _ in range(28):
            client.list_videos(_token(conn, client, keyring, open_id), ["id"], max_count=20)
    assert [c for c in api_calls(sandbox) if c["status"] == 429] == []
    assert adapter.requests_made == 28


def _token(db, client, keyring, open_id):
    from services.accounts import get_access_token

    return get_access_token(db, client, keyring, open_id)


def test_sync_modules_never_import_streamlit():
    import services.demo_history
    import services.ratelimit

    for module in (sync_module, services.demo_history, services.ratelimit):
        source = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+streamlit", source, re.M)


def test_storage_errors_are_not_swallowed(settings, db, keyring, sandbox, monkeypatch):
    """A storage error ends the run failed and says so (no traceback reaches the caller)."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(sync_module, "_store_page", broken)
    result = run_one(db, settings, keyring, open_id)
    assert result.status == "failed" and "disk I/O error" in result.error
    assert db.execute("SELECT status, error FROM sync_runs").fetchone() == ("failed",
                                                                            result.error)
