"""Retention: compaction keeps one run per ISO week and every weekly figure unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from services.analytics import AccountRef, queries
from services.db import open_db
from services.errors import ConfigError
from services.reports import IsoWeek, build_report
from services.retention import RetentionPolicy, compact
from tests.services.report_cache import D, FakeAccount, Video, add_account, daily_runs, ts

W47 = IsoWeek(2026, 47)
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
LATER = datetime(2026, 12, 10, tzinfo=UTC)  # 7 days of daily history: W45-W48 get compacted
V1, V2 = "7300000000000000001", "7300000000000000002"


@pytest.fixture
def db(tmp_path):
    with open_db(tmp_path / "r.db", migrate=True) as database:
        origin = ts(2026, 11, 2, 6)
        acct = FakeAccount(
            "-000luna",
            origin,
            username="luna",
            videos=[
                Video(V1, origin - 30 * D, 10, "Old favourite"),
                Video(V2, ts(2026, 11, 18, 12), 50, "New"),
            ],
        )
        add_account(database, acct, origin)
        daily_runs(database, acct, origin, ts(2026, 11, 25, 6))
        yield database


def _weekly(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The last row of each ISO week (UTC): what a weekly chart plots."""
    when = pd.to_datetime(frame["captured_at"], unit="s", utc=True)
    week = when.dt.isocalendar()
    keyed = frame.assign(_y=week["year"].to_numpy(), _w=week["week"].to_numpy())
    last = keyed.sort_values("captured_at").groupby(["_y", "_w"]).tail(1)
    return last[columns].reset_index(drop=True)


def _figures(db):
    start, end = ts(2026, 11, 1), ts(2026, 12, 1)
    totals = queries.video_totals_series(db, ["-000luna"], start, end)
    followers = queries.account_series(db, ["-000luna"], start, end)
    history = queries.video_history(db, V1)
    report = build_report(db, [AccountRef("-000luna", "@luna")], W47, "UTC", now=NOW)
    (week,) = report.accounts
    return {
        "totals": _weekly(totals, ["captured_at", "view_count", "like_count", "videos_counted"]),
        "followers": _weekly(followers, ["captured_at", "follower_count"]),
        "history": _weekly(history, ["captured_at", "view_count"]),
        "kpis": {k: (m.current.value, m.previous.value) for k, m in week.kpis.items()},
        "followers_start_end": (week.followers_start.value, week.followers_end.value),
        "gains": queries.period_gains(db, ["-000luna"], ts(2026, 11, 15, 6), ts(2026, 11, 22, 6))[
            ["video_id", "views_gained"]
        ],
    }


def test_compaction_keeps_weekly_figures(db):
    runs_before = db.execute("SELECT count(*) FROM sync_runs").fetchone()[0]
    before = _figures(db)

    result = compact(db, RetentionPolicy(7), clock=lambda: LATER)

    kept = [r[0] for r in db.execute("SELECT captured_at FROM sync_runs ORDER BY captured_at")]
    weeks = [datetime.fromtimestamp(t, UTC).isocalendar()[:2] for t in kept]
    assert len(weeks) == 8 and len(set(weeks)) == 4  # W45-W48: two runs each
    # Each week's first and last runs (Monday and Sunday 06:00; W48 ends with the last sync).
    assert kept == [
        ts(2026, 11, 2, 6),
        ts(2026, 11, 8, 6),
        ts(2026, 11, 9, 6),
        ts(2026, 11, 15, 6),
        ts(2026, 11, 16, 6),
        ts(2026, 11, 22, 6),
        ts(2026, 11, 23, 6),
        ts(2026, 11, 25, 6),
    ]
    assert result.runs_removed == runs_before - 8
    assert result.snapshot_rows_removed > 0
    assert (
        db.execute("SELECT count(DISTINCT captured_at) FROM video_snapshot_rows").fetchone()[0] == 8
    )
    after = _figures(db)
    for name in ("totals", "followers", "history", "gains"):
        pd.testing.assert_frame_equal(after[name], before[name], check_dtype=False, obj=name)
    assert after["kpis"] == before["kpis"]
    assert after["followers_start_end"] == before["followers_start_end"]
    # Latest counters on videos are untouched by compaction.
    assert db.execute("SELECT counted_at FROM videos WHERE id = ?", [V1]).fetchone()[0] == ts(
        2026, 11, 25, 6
    )


def test_recent_history_and_all_policy_are_left_alone(db):
    count = db.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0]
    assert compact(db, RetentionPolicy(365), clock=lambda: LATER).runs_removed == 0
    assert compact(db, RetentionPolicy(None), clock=lambda: LATER).runs_removed == 0
    assert db.execute("SELECT count(*) FROM video_snapshot_rows").fetchone()[0] == count
    # A second compaction finds nothing more to do.
    compact(db, RetentionPolicy(7), clock=lambda: LATER)
    assert compact(db, RetentionPolicy(7), clock=lambda: LATER).runs_removed == 0


@pytest.mark.parametrize(
    ("text", "days"), [(None, 365), ("", 365), ("30", 30), ("90d", 90), ("all", None)]
)
def test_policy_setting(text, days):
    assert RetentionPolicy.parse(text).daily_days == days
    env = {} if text is None else {"REELBOARD_RETENTION": text}
    assert RetentionPolicy.from_environment(secrets={}, environ=env).daily_days == days


def test_policy_from_secrets_and_bad_values():
    secrets = {"reelboard": {"retention": 120}}
    assert RetentionPolicy.from_environment(secrets=secrets, environ={}).daily_days == 120
    for bad in ("-1", "3", "a year", "1.5"):
        with pytest.raises(ConfigError):
            RetentionPolicy.parse(bad)
