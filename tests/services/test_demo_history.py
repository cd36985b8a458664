"""services.demo_history: the real sync replayed over the sandbox's simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.access import LOCAL_ACTOR
from services.demo_history import DemoHistoryError, SandboxClock, load_demo_history
from services.sync import SyncOptions
from tests.services.test_sync import T0, api_calls, connect, set_clock


@pytest.fixture
def make_client(settings):
    from services.tiktok.client import TikTokClient

    def factory(_settings, session):
        return TikTokClient.from_settings(_settings, session=session, sleep=lambda s: None)
    return factory


def test_a_few_days_of_history_one_run_per_day_with_monotone_growth(
        settings, db, keyring, sandbox, make_client):
    ids = [connect(db, settings, keyring, sandbox, name) for name in ("trailrunnerjo",
                                                                        "quietpotter")]
    set_clock(sandbox, T0)
    sandbox.clear_requests()
    events = []

    result = load_demo_history(settings, actor=LOCAL_ACTOR, days=3, client_factory=make_client,
                               keyring=keyring,
                               on_progress=lambda d, t, m: events.append((d, t, m)))

    assert result.points == 4 and not result.failures  # 3 days ago … today
    for open_id in ids:
        runs = db.execute("SELECT captured_at, status FROM sync_runs WHERE open_id = ? "
                          "ORDER BY captured_at", [open_id]).fetchall()
        assert [s for _, s in runs] == ["succeeded"] * 4
        days = [datetime.fromtimestamp(c, UTC).date() for c, _ in runs]
        assert days == [(T0 - timedelta(days=d)).date() for d in (3, 2, 1, 0)]
        # Everything comes from a real sync at that simulated instant.
        assert {c for (c,) in db.execute(
            "SELECT DISTINCT captured_at FROM video_snapshots WHERE open_id = ?", [open_id])} \
            == {c for c, _ in runs}
        totals = [r[0] for r in db.execute(
            "SELECT view_count FROM account_video_totals WHERE open_id = ? ORDER BY captured_at",
            [open_id])]
        followers = [r[0] for r in db.execute(
            "SELECT follower_count FROM account_snapshots WHERE open_id = ? "
            "ORDER BY captured_at", [open_id])]
        assert len(totals) == len(followers) == 4
        assert totals == sorted(totals) and totals[0] < totals[-1]
        assert followers == sorted(followers)
    # Each video's views never go down from one day to the next.
    drops = db.execute(
        "SELECT count(*) FROM video_snapshots a JOIN video_snapshots b ON a.video_id = b.video_id "
        "AND b.captured_at > a.captured_at WHERE b.view_count < a.view_count").fetchone()[0]
    assert drops == 0
    assert [c for c in api_calls(sandbox) if c["status"] == 429] == []
    # The clock is put back where it was (T0 + the seconds the run took).
    assert abs(SandboxClock(sandbox.base_url).epoch() - T0.timestamp()) < 60
    assert events[-1][0] == events[-1][1] == 4


def test_history_is_idempotent(settings, db, keyring, sandbox, make_client):
    connect(db, settings, keyring, sandbox, "quietpotter")
    set_clock(sandbox, T0)
    first = load_demo_history(settings, actor=LOCAL_ACTOR, days=2, client_factory=make_client,
                              keyring=keyring)
    assert first.points == 3
    sandbox.clear_requests()
    again = load_demo_history(settings, actor=LOCAL_ACTOR, days=4, client_factory=make_client,
                              keyring=keyring)
    assert again.points == 2 and again.days_skipped == 3  # only the two older days were missing
    assert db.execute("SELECT count(*) FROM sync_runs").fetchone()[0] == 5
    assert db.execute("SELECT count(DISTINCT date(captured_at, 'unixepoch')) FROM sync_runs"
                      ).fetchone()[0] == 5


def test_history_resets_a_clock_that_ran_at_real_time(settings, db, keyring, sandbox,
                                                      make_client):
    connect(db, settings, keyring, sandbox, "quietpotter")
    load_demo_history(settings, actor=LOCAL_ACTOR, days=1, client_factory=make_client,
                      keyring=keyring,
                      options=SyncOptions(requests_per_minute=600))
    state = sandbox._post("/_sandbox/clock", {"advance": 0})
    assert abs(state["offset_seconds"]) < 1 and not state["frozen"]


def test_a_frozen_clock_runs_during_history_and_is_frozen_again(settings, db, keyring, sandbox,
                                                               make_client):
    connect(db, settings, keyring, sandbox, "quietpotter")
    sandbox._post("/_sandbox/clock", {"set": T0.timestamp(), "freeze": True})
    result = load_demo_history(settings, actor=LOCAL_ACTOR, days=1, client_factory=make_client,
                               keyring=keyring)
    assert result.points == 2 and not result.failures
    state = sandbox._post("/_sandbox/clock", {"advance": 0})
    assert state["frozen"] and state["now"] == T0.timestamp()


def test_live_mode_is_refused(settings_with, db):
    live = settings_with(mode="live", client_key="live-key", api_base_url="https://example.test")
    with pytest.raises(DemoHistoryError, match="only available in sandbox mode"):
        load_demo_history(live, actor=LOCAL_ACTOR, days=3)


def test_days_out_of_range_are_refused(settings):
    with pytest.raises(DemoHistoryError, match="between 1 and"):
        load_demo_history(settings, actor=LOCAL_ACTOR, days=0)
