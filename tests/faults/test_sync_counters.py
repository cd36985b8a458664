"""Fault suite, issue 11 item 2: numbers from TikTok out of range, and runs that crash.

Catalogue rows proposed to the lead (the fault catalogue (tests/faults)):

* N10 — a counter is out of range or of the wrong type (2^62, 10^30, negative, a string, a
  bool, a float): stored as null and counted in the run's note; totals never overflow.
* N11 — a run crashes on something that is not a TikTok error (SQLite, a bug): it ends
  ``failed`` with a sentence, no traceback reaches the caller, and the next sync starts fresh
  instead of adopting the crashed run.

Ground truth comes from the sandbox's world (the counts it would have sent), never from the
code under test.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest

import services.sync as sync_module
from services.access import LOCAL_ACTOR
from services.sync import MAX_COUNT, sync_from_cli
from tests.services.test_sync import T0, connect, freeze, listed_ids, run_one, world

HOSTILE_VIEWS = [2**62, 2**62, 2**62, 10**30, -5, "12", True, 12.5]


def _newest(sandbox, username: str, n: int):
    """The creator's n newest listed videos at T0 (the first records of video/list)."""
    now = T0.timestamp()
    listed = [v for v in world(sandbox, username).public if v.listed_at(now)]
    return sorted(listed, key=lambda v: v.create_time, reverse=True)[:n]


def test_out_of_range_counters_are_stored_as_null_and_said(settings, db, keyring, sandbox):
    """N10: 2^62 (valid int64: three of them overflowed the run's SUM), 10^30 (OverflowError
    in sqlite3), a negative, a numeric string, a bool and a float: all null, all counted."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    sandbox.fault(
        "counter_override", field="view_count", values=HOSTILE_VIEWS, path="/v2/video/list/"
    )
    sandbox.fault(
        "counter_override", field="like_count", values=[2**62] * 3, path="/v2/video/list/"
    )

    result = run_one(db, settings, keyring, open_id)

    assert result.status == "partial", result.error
    assert f"{len(HOSTILE_VIEWS) + 3} number(s)" in result.error
    assert "stored as blank" in result.error
    bad = {v.id for v in _newest(sandbox, "quietpotter", len(HOSTILE_VIEWS))}
    rows = dict(
        db.execute(
            "SELECT video_id, view_count FROM video_snapshots WHERE captured_at = ?",
            (result.captured_at,),
        ).fetchall()
    )
    assert set(rows) == listed_ids(sandbox, "quietpotter", T0)
    assert {vid for vid, views in rows.items() if views is None} == bad
    expected_views = sum(
        v.counts_at(T0.timestamp())[0]
        for v in world(sandbox, "quietpotter").public
        if v.listed_at(T0.timestamp()) and v.id not in bad
    )
    totals = db.execute(
        "SELECT view_count, like_count FROM account_video_totals WHERE captured_at = ?",
        (result.captured_at,),
    ).fetchone()
    assert totals[0] == expected_views
    assert 0 <= totals[1] < 2**62
    run = db.execute(
        "SELECT status, error FROM sync_runs WHERE id = ?", (result.run_id,)
    ).fetchone()
    assert run == ("partial", result.error)


def test_the_next_sync_after_hostile_counters_is_clean(settings, db, keyring, sandbox):
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    sandbox.fault(
        "counter_override",
        field="view_count",
        values=[2**62] * 3 + [10**30],
        path="/v2/video/list/",
    )
    first = run_one(db, settings, keyring, open_id)
    assert first.status == "partial"

    later = T0 + timedelta(hours=2)
    freeze(sandbox, later)
    second = run_one(db, settings, keyring, open_id, moment=later)
    assert second.status == "succeeded", second.error
    assert not second.resumed
    nulls = db.execute(
        "SELECT count(*) FROM video_snapshots WHERE captured_at = ? AND view_count IS NULL",
        (second.captured_at,),
    ).fetchone()[0]
    assert nulls == 0


def test_out_of_range_profile_counts_are_not_stored(settings, db, keyring, sandbox):
    """N10 on user/info: follower_count 10^30 and likes_count -1 are blank, the rest kept."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    sandbox.fault(
        "counter_override", field="follower_count", values=[10**30], path="/v2/user/info/"
    )
    sandbox.fault("counter_override", field="likes_count", values=[-1], path="/v2/user/info/")
    result = run_one(db, settings, keyring, open_id)
    assert result.status == "partial" and "2 number(s)" in result.error
    snap = db.execute(
        "SELECT follower_count, likes_count, video_count FROM account_snapshots "
        "WHERE captured_at = ?",
        (result.captured_at,),
    ).fetchone()
    stats = world(sandbox, "quietpotter").stats(T0.timestamp())
    assert snap == (None, None, stats.video_count)


@pytest.mark.parametrize(
    "value, stored",
    [
        (0, 0),
        (MAX_COUNT, MAX_COUNT),
        (MAX_COUNT + 1, None),
        (-1, None),
        (2**62, None),
        (10**30, None),
        ("12", None),
        (True, None),
        (False, None),
        (12.0, None),
        (None, None),
    ],
)
def test_count_bounds(value, stored):
    """Only a whole, non-negative JSON integer up to MAX_COUNT is a count; anything else sent
    (null included) is blank and noted. A field TikTok did not send is blank, not noted."""
    ignored: list[str] = []
    assert sync_module._count(value, "view_count", ignored) == stored
    assert ignored == ([] if stored is not None else ["view_count"])
    assert sync_module._count(sync_module.NOT_SENT, "view_count", ignored) is None
    assert len(ignored) == (0 if stored is not None else 1)


def _crash_final_once(monkeypatch):
    real = sync_module._store_final
    calls = {"n": 0}

    def crash(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise sqlite3.OperationalError("integer overflow")
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_module, "_store_final", crash)


def test_a_crashed_run_ends_failed_and_is_not_adopted(
    settings, db, keyring, sandbox, monkeypatch, caplog
):
    """N11: the crash is recorded with a sentence (the run is not left 'running'), the caller
    gets a failed result instead of an exception, and a sync minutes later starts fresh."""
    open_id = connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    _crash_final_once(monkeypatch)

    with caplog.at_level(logging.ERROR, logger="services.sync"):
        first = run_one(db, settings, keyring, open_id)
    assert first.status == "failed"
    assert "unexpected error" in first.error and "Traceback" not in first.error
    # The traceback goes to the server log only (services.redaction may have formatted it).
    assert any(r.exc_info or r.exc_text for r in caplog.records)
    run = db.execute(
        "SELECT status, error, finished_at FROM sync_runs WHERE id = ?", (first.run_id,)
    ).fetchone()
    assert run[0] == "failed" and run[1] == first.error and run[2] is not None

    second = run_one(db, settings, keyring, open_id, moment=T0 + timedelta(minutes=10))
    assert second.status == "succeeded", second.error
    assert not second.resumed and second.run_id != first.run_id


def test_no_traceback_reaches_the_cli(
    settings, db, keyring, sandbox, monkeypatch, capsys, make_client
):
    """N11 through ``python -m services sync``: a sentence and exit code 1, no traceback."""
    connect(db, settings, keyring, sandbox, "quietpotter")
    freeze(sandbox, T0)
    _crash_final_once(monkeypatch)

    class Runtime:
        pass

    rt = Runtime()
    rt.settings = settings
    real_accounts = sync_module.sync_accounts
    monkeypatch.setattr(
        sync_module,
        "sync_accounts",
        lambda s, ids, **kw: real_accounts(
            s, ids, client_factory=make_client, keyring=keyring, **kw
        ),
    )
    code = sync_from_cli(rt, all_accounts=True, actor=LOCAL_ACTOR)
    out = capsys.readouterr()
    assert code == 1
    assert "failed" in out.out and "unexpected error" in out.out
    assert "Traceback" not in out.out + out.err


@pytest.fixture
def make_client(settings, sleeps):
    from services.tiktok.client import TikTokClient

    def factory(_settings, session):
        return TikTokClient.from_settings(
            _settings, session=session, sleep=sleeps.append, rand=lambda: 0.5
        )

    return factory


def test_counters_stored_before_the_fix_are_blanked_by_the_migration(tmp_path):
    """N10 for caches written by the old sync: 2^62, -5 and "12x" already stored are blanked,
    in-range values stay, and a totals row built on them is dropped."""
    import sqlite_utils

    from services.migrations import MIGRATIONS, _counters_in_range

    # The cache as the old sync left it: every migration before this one applied (later ones
    # move snapshots into the compact table behind a view).
    db = sqlite_utils.Database(tmp_path / "old.db")
    MIGRATIONS.apply(db, stop_before="0006_counters_in_range")

    db.execute(
        "INSERT INTO accounts (open_id, status, connected_at, updated_at) "
        "VALUES ('o', 'active', 0, 0)"
    )
    db.execute(
        "INSERT INTO videos (id, open_id, create_time, first_seen_at, last_seen_at) "
        "VALUES ('v', 'o', 1, 1, 1)"
    )
    rows = [(1, 2**62, 5), (2, -5, 6), (3, "12x", 7), (4, 10**12, 8)]
    for captured_at, views, likes in rows:
        db.execute(
            "INSERT INTO video_snapshots (video_id, captured_at, open_id, view_count, "
            "like_count) VALUES ('v', ?, 'o', ?, ?)",
            (captured_at, views, likes),
        )
    for captured_at, views in ((1, 2**62 + 3), (4, 10**12)):
        db.execute(
            "INSERT INTO account_video_totals VALUES ('o', ?, 1, ?, 0, 0, 0)", (captured_at, views)
        )
    _counters_in_range(db)
    assert db.execute(
        "SELECT captured_at, view_count, like_count FROM video_snapshots ORDER BY captured_at"
    ).fetchall() == [(1, None, 5), (2, None, 6), (3, None, 7), (4, 10**12, 8)]
    assert db.execute("SELECT captured_at FROM account_video_totals").fetchall() == [(4,)]
