"""Chart queries against a small, hand-filled cache with exact expected answers.

The cache (times in days after T1):

    account a, runs:  T1 ok, T2 ok, T3 ok, T4 FAILED, T5 partial, T6 running
    v1  posted T1-10d   views 100 @T1, 150 @T2, 210 @T3, 260 @T4, 300 @T5
    v2  posted T1-5d    views  10 @T1,  20 @T2,  25 @T3,           40 @T5
    v3  posted T2+3h    views                   500 @T3, 800 @T4, 900 @T5
    v4  posted T1-20d   views                    70 @T3,            90 @T5  (not in T1/T2)
    account b: w1 posted T1-1d, runs at T1+60s and T2+60s
"""

from __future__ import annotations

import re

import pytest

from services.analytics import queries as q
from services.db import open_db, write_transaction

D = 86_400
H = 3600
T1 = 1_714_521_600  # 1 May 2024 00:00 UTC
T2, T3, T4, T5, T6 = T1 + D, T1 + 2 * D, T1 + 3 * D, T1 + 4 * D, T1 + 5 * D

RUNS = [
    ("a", T1, "succeeded"),
    ("a", T2, "succeeded"),
    ("a", T3, "succeeded"),
    ("a", T4, "failed"),
    ("a", T5, "partial"),
    ("a", T6, "running"),
    ("b", T1 + 60, "succeeded"),
    ("b", T2 + 60, "succeeded"),
]
VIDEOS = [
    ("v1", "a", T1 - 10 * D, "Latte art #Café"),
    ("v2", "a", T1 - 5 * D, "Dance #fyp"),
    ("v3", "a", T2 + 3 * H, "Big news"),
    ("v4", "a", T1 - 20 * D, "Old dance"),
    ("w1", "b", T1 - D, "Hello"),
]
SNAPSHOTS = {
    "v1": {T1: 100, T2: 150, T3: 210, T4: 260, T5: 300},
    "v2": {T1: 10, T2: 20, T3: 25, T5: 40},
    "v3": {T3: 500, T4: 800, T5: 900},
    "v4": {T3: 70, T5: 90},
    "w1": {T1 + 60: 5, T2 + 60: 8},
}


def _owner(video_id: str) -> str:
    return next(v[1] for v in VIDEOS if v[0] == video_id)


@pytest.fixture
def cache(tmp_path):
    with open_db(tmp_path / "c.db", migrate=True) as db, write_transaction(db):
        conn = db.conn
        for open_id in ("a", "b"):
            conn.execute(
                "INSERT INTO accounts (open_id, display_name, connected_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (open_id, open_id.upper(), T1 - D, T1),
            )
        for open_id, at, status in RUNS:
            conn.execute(
                "INSERT INTO sync_runs (open_id, captured_at, started_at, finished_at, status,"
                " rows_written) VALUES (?, ?, ?, ?, ?, 1)",
                (open_id, at, at, None if status == "running" else at + 30, status),
            )
        for vid, open_id, created, title in VIDEOS:
            conn.execute(
                "INSERT INTO videos (id, open_id, create_time, title, description, share_url,"
                " first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (vid, open_id, created, title, f"desc of {vid}", f"https://t/{vid}", T1, T5),
            )
        for vid, readings in SNAPSHOTS.items():
            for at, views in readings.items():
                conn.execute(
                    "INSERT INTO video_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (vid, at, _owner(vid), views, views // 10, views // 100, 1),
                )
        # Account snapshots: one per run, including the failed one (must be ignored).
        for open_id, at, status in RUNS:
            if status == "running":
                continue
            i = (at - T1) // D
            conn.execute(
                "INSERT INTO account_snapshots VALUES (?, ?, ?, 7, ?, ?)",
                (open_id, at, 1000 + 10 * i, 50 * i, 4),
            )
        # Totals exist only for complete listings (services.sync._store_final).
        for open_id, at, status in RUNS:
            if status in ("succeeded", "partial") or (open_id, at) == ("a", T4):
                rows = [
                    (v, r[at]) for v, r in SNAPSHOTS.items() if at in r and _owner(v) == open_id
                ]
                views = sum(x for _, x in rows)
                conn.execute(
                    "INSERT INTO account_video_totals VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        open_id,
                        at,
                        len(rows),
                        views,
                        sum(x // 10 for _, x in rows),
                        sum(x // 100 for _, x in rows),
                        len(rows),
                    ),
                )
    with open_db(tmp_path / "c.db") as db:
        yield db


def test_account_series_keeps_finished_runs_and_edge_snapshots(cache):
    f = q.account_series(cache, ["a"], T2 + H, T3 + H)
    # The last snapshot before the window (T2), inside it (T3), the first after it (T5);
    # the failed run's T4 row is ignored.
    assert f["captured_at"].tolist() == [T2, T3, T5]
    assert f["follower_count"].tolist() == [1010, 1020, 1040]
    assert list(f.columns) == [
        "open_id",
        "captured_at",
        "follower_count",
        "following_count",
        "likes_count",
        "video_count",
    ]
    assert str(f["follower_count"].dtype) == "Int64"


def test_account_series_for_several_accounts(cache):
    f = q.account_series(cache, ["b", "a", "b"], T1, T2 + H)
    assert f[["open_id", "captured_at"]].values.tolist() == [
        ["a", T1],
        ["a", T2],
        ["a", T3],
        ["b", T1 + 60],
        ["b", T2 + 60],
    ]


def test_account_series_empty_keeps_columns(cache):
    f = q.account_series(cache, ["nobody"], T1, T2)
    assert len(f) == 0 and "follower_count" in f.columns
    assert str(f["captured_at"].dtype) == "int64"


def test_video_totals_series_ignores_failed_runs(cache):
    f = q.video_totals_series(cache, ["a"], T1, T5)
    assert f["captured_at"].tolist() == [T1, T2, T3, T5]
    assert f["view_count"].tolist() == [110, 170, 805, 1330]
    assert f["videos_counted"].tolist() == [2, 2, 4, 4]


def test_latest_video_stats_newest_first(cache):
    f = q.latest_video_stats(cache, ["a"])
    assert f["video_id"].tolist() == ["v3", "v2", "v1", "v4"]
    assert f["view_count"].tolist() == [900, 40, 300, 90]
    assert f["captured_at"].tolist() == [T5] * 4
    assert f["total"].tolist() == [4] * 4
    assert f.loc[0, "share_url"] == "https://t/v3" and f.loc[0, "like_count"] == 90


def test_latest_video_stats_as_of_a_past_time(cache):
    f = q.latest_video_stats(cache, ["a"], as_of=T2 + H)
    # v3 was not posted yet; v4 had no snapshot yet (null counters, still listed).
    assert f["video_id"].tolist() == ["v2", "v1", "v4"]
    assert f["view_count"].tolist()[:2] == [20, 150]
    assert f["view_count"].isna().tolist() == [False, False, True]


def test_latest_video_stats_sorts_pages_and_searches_in_sql(cache):
    top = q.latest_video_stats(cache, ["a"], order_by="view_count", limit=2)
    assert top["video_id"].tolist() == ["v3", "v1"] and top["total"].tolist() == [4, 4]
    page2 = q.latest_video_stats(cache, ["a"], order_by="view_count", limit=2, offset=2)
    assert page2["video_id"].tolist() == ["v4", "v2"]
    asc = q.latest_video_stats(cache, ["a"], order_by="title", descending=False)
    assert asc["title"].tolist() == ["Big news", "Dance #fyp", "Latte art #Café", "Old dance"]
    found = q.latest_video_stats(cache, ["a", "b"], search="DANCE")
    assert sorted(found["video_id"]) == ["v2", "v4"] and found["total"].tolist() == [2, 2]
    er = q.latest_video_stats(cache, ["a"], order_by="engagement_rate", limit=1)
    assert er["video_id"].tolist() == ["v2"]  # (4 + 0 + 1) / 40 is the highest
    with pytest.raises(ValueError, match="order_by"):
        q.latest_video_stats(cache, ["a"], order_by="view_count; DROP TABLE videos")


def test_posting_times(cache):
    f = q.posting_times(cache, ["a"], T1 - 6 * D, T3)
    assert f["video_id"].tolist() == ["v2", "v3"]
    assert f["view_count"].tolist() == [40, 900]
    assert f["title"].tolist() == ["Dance #fyp", "Big news"]
    assert len(q.posting_times(cache, ["a", "b"])) == 5


def test_video_stats_at_reads_one_complete_run(cache):
    f = q.video_stats_at(cache, "a", T2 + 2 * H)
    assert f["captured_at"].unique().tolist() == [T2]
    assert dict(zip(f["video_id"], f["view_count"], strict=True)) == {"v1": 150, "v2": 20}
    # The failed run T4 is never a cut: nearest complete run to T4 + 1 h is T5 (23 h away)
    # rather than T4 itself.
    assert q.video_stats_at(cache, "a", T4 + H)["captured_at"].unique().tolist() == [T5]
    assert q.video_stats_at(cache, "a", T4, side="before")["captured_at"].iloc[0] == T3
    assert len(q.video_stats_at(cache, "a", T1 - 5 * D, max_distance=D)) == 0
    assert q.run_time_near(cache, "nobody", T1) is None


def test_period_gains_rank_new_and_unmeasured_videos(cache):
    f = q.period_gains(cache, ["a"], T1, T5 + H)
    assert f["video_id"].tolist() == ["v3", "v1", "v2"]
    assert f["views_gained"].tolist() == [900, 200, 30]
    assert f["baseline"].tolist() == ["posted_in_period", "snapshot", "snapshot"]
    assert f["views_start"].isna().tolist() == [True, False, False]
    assert (f["from_at"].unique().tolist(), f["to_at"].unique().tolist()) == ([T1], [T5])
    assert f["unmeasured"].unique().tolist() == [1]  # v4: older, but absent at T1
    assert q.period_gains(cache, ["a"], T1, T5, limit=1)["video_id"].tolist() == ["v3"]
    assert len(q.period_gains(cache, ["a"], T5, T5 + D)) == 0  # one run: nothing to compare


def test_period_gains_match_the_pandas_twin(cache):
    from services.analytics.metrics import period_gains_from_cuts

    sql = q.period_gains(cache, ["a"], T2, T5, limit=None)
    twin = period_gains_from_cuts(
        q.video_stats_at(cache, "a", T2), q.video_stats_at(cache, "a", T5, side="before")
    )
    assert sql["video_id"].tolist() == twin["video_id"].tolist()
    assert sql["views_gained"].tolist() == twin["views_gained"].tolist()
    assert sql["unmeasured"].tolist() == twin["unmeasured"].tolist()


def test_video_history_and_growth_curves(cache):
    h = q.video_history(cache, "v1")
    assert h["captured_at"].tolist() == [T1, T2, T3, T4, T5]  # every reading of the video
    assert h["create_time"].unique().tolist() == [T1 - 10 * D]
    assert q.video_history(cache, "v1", T2, T3)["view_count"].tolist() == [150, 210]
    g = q.growth_curves(cache, ["v3", "v2"], max_age_hours=30)
    assert g[["video_id", "captured_at"]].values.tolist() == [["v3", T3]]  # 21 h after posting


def test_sparkline_series_spreads_points_over_runs(cache):
    f = q.sparkline_series(cache, "a", ["v2", "v1"], since=T1, points=3)
    # Finished runs T1, T2, T3, T5; three spread points: T1, T3 (nearest the middle), T5.
    assert f[["video_id", "captured_at", "view_count"]].values.tolist() == [
        ["v1", T1, 100],
        ["v1", T3, 210],
        ["v1", T5, 300],
        ["v2", T1, 10],
        ["v2", T3, 25],
        ["v2", T5, 40],
    ]
    every = q.sparkline_series(cache, "a", None, since=T3, points=12)
    assert sorted(set(every["video_id"])) == ["v1", "v2", "v3", "v4"]
    assert sorted(set(every["captured_at"])) == [T3, T5]
    assert len(q.sparkline_series(cache, "a", [], since=T1)) == 0


def test_velocity_inputs_bracket_each_mark(cache):
    f = q.velocity_inputs(cache, ["a"], T2, T5)
    assert f["video_id"].unique().tolist() == ["v3"]
    day = f[f["mark_hours"] == 24].iloc[0]
    # v3 posted T2 + 3 h: the 24 h mark (T3 + 3 h) lies between T3 (500) and T4 (800).
    assert (day["before_at"], day["before_views"], day["after_at"], day["after_views"]) == (
        T3,
        500,
        T4,
        800,
    )
    week = f[f["mark_hours"] == 168].iloc[0]
    assert (week["before_at"], week["before_views"]) == (T5, 900)
    assert f["after_at"].isna().tolist() == [False, True, True]


def test_last_sync_and_span(cache):
    last = q.last_sync(cache, "a")
    assert (last.status, last.captured_at, last.finished_at) == ("running", T6, None)
    assert last.last_succeeded_at == T3
    assert q.last_sync(cache, "nobody") is None
    span = q.snapshot_span(cache, ["a", "b", "nobody"])
    assert span.astype(object).where(span.notna(), None).values.tolist() == [
        ["a", T1, T5, 4],
        ["b", T1 + 60, T2 + 60, 2],
        ["nobody", None, None, 0],
    ]


def test_data_version_changes_when_a_sync_writes(cache):
    before = q.data_version(cache)
    assert before == q.data_version(cache)
    with write_transaction(cache):
        cache.execute(
            "UPDATE sync_runs SET status = 'succeeded', finished_at = ? WHERE captured_at = ?",
            [T6 + 40, T6],
        )
    finished = q.data_version(cache)
    assert finished != before
    with write_transaction(cache):
        cache.execute(
            "INSERT INTO sync_runs (open_id, captured_at, started_at) VALUES ('b', ?, ?)", [T6, T6]
        )
    assert q.data_version(cache) not in (before, finished)


_SNAPSHOT_ALIASES = {"video_snapshots", "video_snapshot_rows", "s", "x", "e", "b", "a"}


def test_no_query_scans_video_snapshots(cache, monkeypatch):
    """Every query reaches video_snapshots through an index (a SEARCH), never a SCAN."""
    seen: list[tuple[str, list]] = []
    real = q._frame

    def spy(db, sql, params, columns):
        seen.append((sql, list(params)))
        return real(db, sql, params, columns)

    monkeypatch.setattr(q, "_frame", spy)
    q.account_series(cache, ["a"], T1, T5)
    q.video_totals_series(cache, ["a"], T1, T5)
    q.latest_video_stats(cache, ["a"])
    q.latest_video_stats(cache, ["a"], order_by="view_count", limit=1, search="x")
    q.posting_times(cache, ["a"])
    q.video_stats_at(cache, "a", T2)
    q.period_gains(cache, ["a"], T1, T5)
    q.video_history(cache, "v1")
    q.growth_curves(cache, ["v1"])
    q.sparkline_series(cache, "a", ["v1"], T1)
    q.sparkline_series(cache, "a", None, T1)
    q.velocity_inputs(cache, ["a"], T1, T5)
    assert len(seen) == 12
    for sql, params in seen:
        plan = [row[-1] for row in cache.execute("EXPLAIN QUERY PLAN " + sql, params)]
        scans = [
            line
            for line in plan
            if re.match(r"SCAN (\w+)", line)
            and re.match(r"SCAN (\w+)", line).group(1) in _SNAPSHOT_ALIASES
            and "json_each" not in line
        ]
        assert not scans, (sql, plan)
