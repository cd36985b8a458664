"""Insights on hand-built frames whose answers are worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from services.analytics import metrics as m

LA = "America/Los_Angeles"
H = 3600
D = 86_400


def ts(*args: int, tz=UTC) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp())


def series(
    points: list[tuple[int, float | None]], column: str = "view_count", open_id: str = "acct"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "open_id": [open_id] * len(points),
            "captured_at": pd.array([t for t, _ in points], dtype="int64"),
            column: pd.array([v for _, v in points], dtype="Int64"),
        }
    )


# --------------------------------------------------------------------------------------------
# calendar in the viewer's zone


def test_iso_week_edges_in_los_angeles_span_the_dst_change():
    # DST began Sun 10 Mar 2024 02:00 in Los Angeles: the week of Mon 4 Mar is 167 h long.
    edges = m.bucket_edges(ts(2024, 3, 6), ts(2024, 3, 12), "week", LA)
    assert edges == [ts(2024, 3, 4, 8), ts(2024, 3, 11, 7), ts(2024, 3, 18, 7)]
    assert edges[1] - edges[0] == 7 * D - H


def test_day_edges_are_calendar_days_23h_on_dst_day():
    edges = m.bucket_edges(ts(2024, 3, 9, 12), ts(2024, 3, 11, 12), "day", LA)
    assert np.diff(edges).tolist() == [24 * H, 23 * H, 24 * H]


def test_iso_week_period_and_previous_week_in_zone():
    now = datetime(2024, 3, 11, 6, 30, tzinfo=UTC)  # Sunday 23:30 PDT in Los Angeles
    week = m.Period.iso_week(now, LA)
    assert (week.start, week.end) == (ts(2024, 3, 4, 8), ts(2024, 3, 11, 7))
    assert m.Period.iso_week(now, "UTC").start == ts(2024, 3, 11)  # already Monday in UTC
    last = m.Period.iso_week(now, LA, weeks_back=1)
    assert (last.start, last.end) == (ts(2024, 2, 26, 8), ts(2024, 3, 4, 8))


def test_last_days_starts_at_local_midnight():
    now = datetime(2024, 6, 10, 3, 0, tzinfo=UTC)  # 9 Jun 20:00 in Los Angeles
    period = m.Period.last_days(7, now, LA)
    assert period.start == ts(2024, 6, 3, 7) and period.end == ts(2024, 6, 10, 3)
    assert period.previous() == m.Period(2 * period.start - period.end, period.start)


def test_unknown_time_zone_is_a_clear_error():
    with pytest.raises(ValueError, match="IANA"):
        m.bucket_edges(0, D, "day", "Mars/Olympus")


# --------------------------------------------------------------------------------------------
# gains per day / week


def test_weekly_gains_split_at_monday_midnight_los_angeles():
    s = series(
        [
            (ts(2024, 3, 4, 8), 0),  # Mon 4 Mar 00:00 PST
            (ts(2024, 3, 11, 6), 100),  # Sun 10 Mar 23:00 PDT
            (ts(2024, 3, 11, 8), 300),  # Mon 11 Mar 01:00 PDT
            (ts(2024, 3, 18, 7), 1000),  # Mon 18 Mar 00:00 PDT
        ]
    )
    result = m.gained_per_period(
        s, freq="week", tz=LA, start=ts(2024, 3, 4, 8), end=ts(2024, 3, 18, 7)
    )
    f = result.frame
    assert result.enough_history and result.provenance == "snapshot_difference"
    # Monday 00:00 PDT = 07:00 UTC is halfway between the 100 and 300 readings: 200.
    assert f["views_gained"].tolist() == [200.0, 800.0]
    assert f["status"].tolist() == ["observed", "observed"]
    assert [p.isoformat() for p in f["period_start"]] == [
        "2024-03-04T00:00:00-08:00",
        "2024-03-11T00:00:00-07:00",
    ]
    assert result.as_of == datetime(2024, 3, 18, 7, tzinfo=UTC)


def test_same_snapshots_bucket_differently_in_utc():
    s = series(
        [
            (ts(2024, 3, 4), 0),
            (ts(2024, 3, 10, 12), 130),
            (ts(2024, 3, 11, 12), 154),
            (ts(2024, 3, 18), 400),
        ]
    )
    f = m.gained_per_period(
        s, freq="week", tz="UTC", start=ts(2024, 3, 4), end=ts(2024, 3, 18)
    ).frame
    # Mon 11 Mar 00:00 UTC is halfway between 130 and 154: 142.
    assert f["views_gained"].tolist() == [142.0, 258.0]


def test_gap_is_spread_evenly_and_marked_estimated_missing_days_are_nan():
    d0 = ts(2024, 5, 1)
    s = series([(d0, 0), (d0 + D, 100), (d0 + 4 * D, 400), (d0 + 5 * D, 500)])
    f = m.gained_per_period(s, freq="day", tz="UTC", start=d0 - D, end=d0 + 6 * D).frame
    assert f["status"].tolist() == [
        "missing",
        "observed",
        "estimated",
        "estimated",
        "estimated",
        "observed",
        "missing",
    ]
    gained = f["views_gained"].tolist()
    assert np.isnan(gained[0]) and np.isnan(gained[-1])  # missing, not 0
    assert gained[1:-1] == [100.0, 100.0, 100.0, 100.0, 100.0]
    assert f["snapshots"].tolist() == [0, 1, 1, 0, 0, 1, 1]


def test_partial_days_at_the_edges_of_history():
    d0 = ts(2024, 5, 1)
    s = series([(d0 + 12 * H, 0), (d0 + D + 12 * H, 100), (d0 + 2 * D + 12 * H, 200)])
    f = m.gained_per_period(s, freq="day", tz="UTC", start=d0, end=d0 + 3 * D).frame
    assert f["status"].tolist() == ["partial", "observed", "partial"]
    assert f["coverage"].tolist() == [0.5, 1.0, 0.5]
    assert f["views_gained"].tolist() == [50.0, 100.0, 50.0]


def test_several_accounts_and_columns():
    d0 = ts(2024, 5, 1)
    a = series([(d0, 10), (d0 + D, 15)], "follower_count", "a")
    a["likes_count"] = pd.array([1, 4], dtype="Int64")
    b = series([(d0, 100), (d0 + D, 90)], "follower_count", "b")  # followers can drop
    b["likes_count"] = pd.array([7, None], dtype="Int64")
    f = m.gained_per_period(
        pd.concat([a, b], ignore_index=True), freq="day", tz="UTC", start=d0, end=d0 + D
    ).frame
    assert f["open_id"].tolist() == ["a", "b"]
    assert f["followers_gained"].tolist() == [5.0, -10.0]
    assert f["likes_gained"].iloc[0] == 3.0 and np.isnan(f["likes_gained"].iloc[1])


def test_one_snapshot_is_not_enough_and_says_so():
    result = m.gained_per_period(
        series([(ts(2024, 5, 1), 42)]),
        freq="day",
        tz="UTC",
        start=ts(2024, 5, 1),
        end=ts(2024, 5, 3),
    )
    assert not result.enough_history
    assert result.note.startswith("Gains per day need at least 2 snapshots; you have 1")
    assert result.frame["views_gained"].isna().all()
    assert (result.frame["status"] == "missing").all()


def test_empty_series_gives_empty_frame_with_note():
    empty = series([])
    result = m.gained_per_period(empty, freq="week", tz=LA, start=0, end=D)
    assert len(result.frame) == 0 and not result.enough_history
    assert "you have 0" in result.note


# --------------------------------------------------------------------------------------------
# gains over a window, levels, KPIs


def test_gained_between_interpolates_and_reports_as_of():
    d0 = ts(2024, 5, 1)
    s = series([(d0, 0), (d0 + D, 100), (d0 + 2 * D, 200), (d0 + 3 * D, 320)])
    g = m.gained_between(s, "view_count", d0 + 12 * H, d0 + 10 * D)
    # From the interpolated 50 at noon on day 0 to the last snapshot (day 3): the window runs on.
    assert g.value == 270 and g.provenance == "snapshot_difference"
    assert g.as_of == datetime(2024, 5, 4, tzinfo=UTC)
    assert g.note is None


@pytest.mark.parametrize(
    ("points", "start", "note"),
    [
        ([], 0, "No snapshots yet"),
        ([(ts(2024, 5, 1), 5)], ts(2024, 5, 1), "Needs at least 2 snapshots; you have 1"),
        (
            [(ts(2024, 5, 2), 5), (ts(2024, 5, 3), 9)],
            ts(2024, 5, 1),
            "Reelboard's history starts 2 May 2024 00:00, after this period began",
        ),
        ([(ts(2024, 5, 1), 5), (ts(2024, 5, 2), 9)], ts(2024, 5, 2), "No snapshot since"),
    ],
)
def test_gained_between_says_why_it_cannot_answer(points, start, note):
    g = m.gained_between(series(points), "view_count", start, start + 7 * D)
    assert g.value is None and not g.available
    assert note in g.note


def test_gained_between_flags_a_gap_at_the_edge():
    d0 = ts(2024, 5, 1)
    # A 4-day gap, then daily snapshots: the window's first day lies in the gap (1 of 4 days).
    points = [(d0, 0), (d0 + 4 * D, 400), (d0 + 5 * D, 500), (d0 + 6 * D, 600), (d0 + 7 * D, 700)]
    g = m.gained_between(series(points), "view_count", d0 + 3 * D, d0 + 7 * D)
    assert g.value == 400 and g.note.startswith("Partly estimated: 25%")
    assert g.estimated_share == pytest.approx(0.25)
    # Wholly inside the gap: not a number at all.
    inside = m.gained_between(series(points), "view_count", d0 + D, d0 + 4 * D)
    assert inside.value is None and inside.note.startswith("Not enough snapshots")


def test_level_at_is_the_last_lifetime_reading():
    d0 = ts(2024, 5, 1)
    s = series([(d0, 10), (d0 + D, 12)], "follower_count")
    lv = m.level_at(s, "follower_count", d0 + D + 5)
    assert (lv.value, lv.provenance, lv.as_of) == (
        12,
        "tiktok_lifetime",
        datetime(2024, 5, 2, tzinfo=UTC),
    )
    assert m.level_at(s, "follower_count", d0 - 1).value is None


def test_engagement_rate_definition():
    assert m.engagement_rate(10, 2, 3, 100) == pytest.approx(0.15)
    assert m.engagement_rate(10, None, 3, 100) == pytest.approx(0.13)
    assert m.engagement_rate(5, 0, 0, 0) is None
    frame = pd.DataFrame(
        {
            "like_count": pd.array([10, 1], dtype="Int64"),
            "comment_count": pd.array([2, None], dtype="Int64"),
            "share_count": pd.array([3, 0], dtype="Int64"),
            "view_count": pd.array([100, 0], dtype="Int64"),
        }
    )
    rates = m.engagement_rates(frame)
    assert rates.iloc[0] == pytest.approx(0.15) and np.isnan(rates.iloc[1])


def _kpi_inputs():
    d0 = ts(2024, 5, 1)
    days = range(15)  # one snapshot a day at midnight, 1-15 May
    acct = pd.DataFrame(
        {
            "open_id": "acct",
            "captured_at": [d0 + i * D for i in days],
            "follower_count": pd.array([1000 + 10 * i for i in days], dtype="Int64"),
            "following_count": pd.array([5] * 15, dtype="Int64"),
            "likes_count": pd.array([0] * 15, dtype="Int64"),
            "video_count": pd.array([3] * 15, dtype="Int64"),
        }
    )
    totals = pd.DataFrame(
        {
            "open_id": "acct",
            "captured_at": [d0 + i * D for i in days],
            "videos_counted": pd.array([3] * 15, dtype="Int64"),
            # Views grow 100/day in the first week, 300/day after.
            "view_count": pd.array(
                [100 * min(i, 7) + 300 * max(i - 7, 0) for i in days], dtype="Int64"
            ),
            "like_count": pd.array([10 * i for i in days], dtype="Int64"),
            "comment_count": pd.array([i for i in days], dtype="Int64"),
            "share_count": pd.array([2 * i for i in days], dtype="Int64"),
        }
    )
    posts = pd.DataFrame(
        {"video_id": ["a", "b", "c"], "create_time": [d0 + D, d0 + 8 * D, d0 + 9 * D]}
    )
    return d0, acct, totals, posts


def test_kpis_with_period_over_period_change():
    d0, acct, totals, posts = _kpi_inputs()
    period = m.Period(d0 + 7 * D, d0 + 14 * D)
    k = m.kpis(acct, totals, posts, period, period.previous(), tz="UTC")
    assert k["followers"].current.value == 1140 and k["followers"].previous.value == 1070
    assert k["followers"].current.provenance == "tiktok_lifetime"
    assert k["followers_gained"].current.value == 70
    assert k["views_gained"].current.value == 2100 and k["views_gained"].previous.value == 700
    assert k["views_gained"].change == 1400 and k["views_gained"].change_pct == 2.0
    # (70 likes + 7 comments + 14 shares) / 2100 views vs 91 / 700.
    assert k["engagement_rate"].current.value == pytest.approx(91 / 2100)
    assert k["engagement_rate"].previous.value == pytest.approx(91 / 700)
    assert k["engagement_rate"].current.provenance == "derived"
    assert (k["videos_posted"].current.value, k["videos_posted"].previous.value) == (2, 1)
    assert k["views_gained"].current.as_of == datetime(2024, 5, 15, tzinfo=UTC)


def test_kpis_compare_a_running_period_with_the_same_elapsed_time():
    d0, acct, totals, posts = _kpi_inputs()
    # The period runs to 19 May but the last snapshot is 15 May: 4 of its 8 days so far.
    period = m.Period(d0 + 10 * D, d0 + 18 * D)
    k = m.kpis(acct, totals, posts, period, period.previous(), tz="UTC")
    assert k["views_gained"].current.value == 1200  # days 10-14, 300/day
    # Previous period 3 May..7 May only (same 4 days), not the whole 3 May..11 May.
    assert k["views_gained"].previous.value == 400
    assert k["views_gained"].previous.as_of == datetime(2024, 5, 7, tzinfo=UTC)


def test_kpis_previous_period_before_history_is_explained_not_zero():
    d0, acct, totals, posts = _kpi_inputs()
    period = m.Period(d0 + 3 * D, d0 + 10 * D)
    k = m.kpis(acct, totals, posts, period, period.previous(), tz="UTC")
    assert k["views_gained"].current.value == 1300  # 4 days at 100, 3 at 300
    prev = k["views_gained"].previous
    assert prev.value is None and "history starts 1 May 2024" in prev.note
    assert k["views_gained"].change is None and k["views_gained"].change_pct is None
    assert k["engagement_rate"].previous.value is None


def test_kpis_refuse_several_accounts():
    d0, acct, totals, posts = _kpi_inputs()
    two = pd.concat([acct, acct.assign(open_id="other")])
    with pytest.raises(ValueError, match="one account"):
        m.kpis(two, totals, posts, m.Period(d0, d0 + D), m.Period(d0 - D, d0))


# --------------------------------------------------------------------------------------------
# trends, Videos page helpers


def test_trend_needs_two_snapshots():
    one = m.trend(series([(ts(2024, 5, 1), 9)], "follower_count"), ["follower_count"], tz=LA)
    assert not one.enough_history and one.note == (
        "A trend needs at least 2 snapshots; you have 1."
    )
    two = m.trend(
        series([(ts(2024, 5, 1), 9), (ts(2024, 5, 2), 11)], "follower_count"),
        ["follower_count"],
        tz=LA,
    )
    assert two.enough_history and two.provenance == "tiktok_lifetime"
    assert str(two.frame["time"].dt.tz) == LA
    assert two.frame["time"].iloc[0].hour == 17  # 1 May 00:00 UTC = 30 Apr 17:00 PDT


def test_video_table_adds_derived_columns():
    latest = pd.DataFrame(
        {
            "video_id": ["v1", "v2"],
            "open_id": "a",
            "create_time": [ts(2024, 5, 1), ts(2024, 5, 10, 12)],
            "captured_at": pd.array([ts(2024, 5, 11), ts(2024, 5, 11)], dtype="Int64"),
            "view_count": pd.array([1000, 50], dtype="Int64"),
            "like_count": pd.array([100, 5], dtype="Int64"),
            "comment_count": pd.array([10, 0], dtype="Int64"),
            "share_count": pd.array([0, 0], dtype="Int64"),
        }
    )
    t = m.video_table(latest, tz="UTC")
    assert t["age_days"].tolist() == [10.0, 0.5]
    assert t["views_per_day"].iloc[0] == 100.0 and np.isnan(t["views_per_day"].iloc[1])
    assert t["engagement_rate"].tolist() == pytest.approx([0.11, 0.1])


def test_sparkline_lists_in_time_order():
    sparks = pd.DataFrame(
        {
            "video_id": ["b", "a", "a", "a"],
            "captured_at": [1, 3, 1, 2],
            "view_count": pd.array([7, 30, 10, None], dtype="Int64"),
        }
    )
    assert m.sparkline_lists(sparks) == {"a": [10, 30], "b": [7]}


def test_growth_curve_hours_since_posting():
    hist = pd.DataFrame(
        {
            "video_id": "v",
            "open_id": "a",
            "create_time": 1000,
            "captured_at": [1000 + 6 * H, 1000 + 30 * H],
            "view_count": pd.array([10, 90], dtype="Int64"),
        }
    )
    g = m.growth_curves(hist)
    assert g.frame["hours_since_posting"].tolist() == [6.0, 30.0]
    assert not m.growth_curves(hist.head(1)).enough_history


# --------------------------------------------------------------------------------------------
# velocity


def _vel_row(video, posted, hours, before=(None, None), after=(None, None)):
    return {
        "video_id": video,
        "open_id": "a",
        "create_time": posted,
        "mark_hours": hours,
        "mark_at": posted + hours * H,
        "before_at": before[0],
        "before_views": before[1],
        "after_at": after[0],
        "after_views": after[1],
    }


def _vel_frame(rows):
    f = pd.DataFrame(rows)
    for c in ("before_at", "before_views", "after_at", "after_views"):
        f[c] = pd.array(f[c], dtype="Int64")
    return f


def test_velocity_uses_the_nearest_snapshot_within_tolerance():
    p = ts(2024, 5, 1, 9)
    inputs = _vel_frame(
        [
            # 24 h: snapshots at 20 h (900) and 26 h (1100): 26 h is nearer.
            _vel_row("v1", p, 24, (p + 20 * H, 900), (p + 26 * H, 1100)),
            # 7 d: 6 d 20 h before, 8 d 2 h after: before is nearer (4 h vs 26 h).
            _vel_row("v1", p, 168, (p + 164 * H, 5000), (p + 194 * H, 5600)),
            # 28 d: not reached yet (no snapshot after the mark).
            _vel_row("v1", p, 672, (p + 300 * H, 6000)),
            # v2's first snapshot is 40 h after posting: 16 h off the 24 h mark (> 6 h).
            _vel_row("v2", p, 24, after=(p + 40 * H, 70)),
            _vel_row("v2", p, 168, (p + 160 * H, 300), (p + 184 * H, 320)),  # 8 h off: ok (<42 h)
            _vel_row("v2", p, 672, (p + 600 * H, 900)),
        ]
    )
    r = m.velocity(inputs)
    f = r.frame.set_index("video_id")
    assert f.loc["v1", "views_24h"] == 1100 and f.loc["v1", "observed_hours_24h"] == 26
    assert f.loc["v1", "views_7d"] == 5000 and f.loc["v1", "observed_hours_7d"] == 164
    assert f.loc["v1", "status_28d"] == "not_yet" and np.isnan(f.loc["v1", "views_28d"])
    assert f.loc["v2", "status_24h"] == "no_snapshot_near_mark"
    assert np.isnan(f.loc["v2", "views_24h"])
    assert f.loc["v2", "views_7d"] == 300
    assert r.enough_history and r.as_of == datetime.fromtimestamp(p + 164 * H, UTC)


def test_velocity_without_any_usable_mark_says_not_enough_history():
    p = ts(2024, 5, 1)
    r = m.velocity(
        _vel_frame(
            [
                _vel_row("v", p, 24, after=(p + 50 * H, 10)),
                _vel_row("v", p, 168, before=(p + 50 * H, 10)),
            ]
        )
    )
    assert not r.enough_history
    assert r.note.startswith("Not enough history") and "±6 h of 24h" in r.note
    assert "±42 h of 7d" in r.note


# --------------------------------------------------------------------------------------------
# top movers


def _cut(at, rows):
    return pd.DataFrame(
        {
            "video_id": [r[0] for r in rows],
            "open_id": "a",
            "create_time": [r[1] for r in rows],
            "title": [f"Video {r[0]}" for r in rows],
            "share_url": "",
            "cover_image_url": "",
            "captured_at": at,
            "view_count": pd.array([r[2] for r in rows], dtype="Int64"),
            "like_count": pd.array([0] * len(rows), dtype="Int64"),
            "comment_count": pd.array([0] * len(rows), dtype="Int64"),
            "share_count": pd.array([0] * len(rows), dtype="Int64"),
        }
    )


def test_top_movers_count_a_video_posted_mid_period_from_zero():
    s, e = ts(2024, 5, 1), ts(2024, 5, 8)
    start = _cut(s, [("A", s - 30 * D, 100), ("B", s - 30 * D, 50)])
    end = _cut(
        e,
        [
            ("A", s - 30 * D, 300),
            ("B", s - 30 * D, 60),
            ("C", s + 3 * D, 500),  # posted mid-period: 500 gained from 0
            ("D", s - 9 * D, 80),
        ],
    )  # older but missing at the start: unmeasured
    gains = m.period_gains_from_cuts(start, end)
    assert gains["video_id"].tolist() == ["C", "A", "B"]
    assert gains["views_gained"].tolist() == [500, 200, 10]
    assert gains["baseline"].tolist() == ["posted_in_period", "snapshot", "snapshot"]
    movers = m.top_movers(gains, n=2, tz="UTC")
    assert movers.frame["video_id"].tolist() == ["C", "A"]
    # C was live for 4 of the 7 days: 125 a day.
    assert movers.frame["views_per_day"].tolist() == pytest.approx([125.0, 200 / 7])
    assert "1 video had no snapshot at the start" in movers.note
    assert movers.note.startswith("Measured from 1 May 2024 00:00 to 8 May 2024 00:00.")
    assert movers.provenance == "snapshot_difference"


def test_top_movers_without_two_cuts_say_so():
    empty = m.period_gains_from_cuts(_cut(0, []), _cut(5, [("A", 0, 1)]))
    r = m.top_movers(empty)
    assert not r.enough_history and "two complete syncs" in r.note


# --------------------------------------------------------------------------------------------
# outliers, heatmap, hashtags, cadence


def _videos(rows, open_id="a", now=None):
    now = now or ts(2024, 6, 1)
    return pd.DataFrame(
        {
            "video_id": [r[0] for r in rows],
            "open_id": open_id,
            "create_time": [now - int(r[1] * D) for r in rows],
            "title": [r[3] if len(r) > 3 else "" for r in rows],
            "description": [r[4] if len(r) > 4 else "" for r in rows],
            "captured_at": pd.array([now] * len(rows), dtype="Int64"),
            "view_count": pd.array([r[2] for r in rows], dtype="Int64"),
        }
    )


def test_outliers_both_ways_with_minimum_age():
    a = _videos(
        [
            ("v1", 30, 100),
            ("v2", 20, 100),
            ("v3", 15, 100),
            ("v4", 10, 100),
            ("hit", 40, 400),
            ("flop", 8, 20),
            ("new", 2, 1000),
            ("nodata", 9, None),
        ]
    )
    b = _videos([("w1", 30, 10), ("w2", 30, 10)], open_id="b")
    r = m.outliers(pd.concat([a, b], ignore_index=True))
    flags = dict(zip(r.frame["video_id"], r.frame["flag"], strict=True))
    assert flags == {
        "v1": "typical",
        "v2": "typical",
        "v3": "typical",
        "v4": "typical",
        "hit": "above",
        "flop": "below",
        "new": "too_new",
        "nodata": "no_data",
        "w1": "not_compared",
        "w2": "not_compared",
    }
    row = r.frame.set_index("video_id").loc["hit"]
    assert row["account_median"] == 100 and row["ratio"] == 4.0
    assert r.enough_history and r.note == (
        "Needs at least 5 videos 7+ days old to compare; b has 2."
    )


def test_outliers_with_only_new_videos_are_not_enough_history():
    r = m.outliers(_videos([("n1", 1, 10), ("n2", 3, 99)]))
    assert not r.enough_history and "a has 0" in r.note


def test_heatmap_uses_the_viewer_time_zone():
    # Mon 1 Jan 2024 02:00 UTC = Sun 31 Dec 18:00 in Los Angeles.
    posted = ts(2024, 1, 1, 2)
    videos = pd.DataFrame(
        {
            "video_id": ["a", "b", "young"],
            "open_id": "x",
            "create_time": [posted, posted + 20 * 60, ts(2024, 1, 9)],
            "captured_at": pd.array([ts(2024, 1, 10)] * 3, dtype="Int64"),
            "view_count": pd.array([100, 300, 5000], dtype="Int64"),  # "young" is < 7 days old
        }
    )
    la = m.posting_heatmap(videos, tz=LA, min_videos=2)
    cell = la.frame[(la.frame["weekday"] == 6) & (la.frame["hour"] == 18)].iloc[0]
    assert (cell["weekday_name"], cell["videos"], cell["median_views"]) == ("Sun", 2, 200.0)
    assert len(la.frame) == 7 * 8 and la.frame["videos"].sum() == 2  # 3-hour blocks
    assert la.frame.drop(cell.name)["median_views"].isna().all()  # empty cells: NaN, not 0
    utc = m.posting_heatmap(videos, tz="UTC", min_videos=2).frame
    assert utc.loc[(utc["weekday"] == 0) & (utc["hour"] == 0), "videos"].item() == 2


def test_heatmap_with_too_few_old_videos_says_so():
    r = m.posting_heatmap(_videos([("a", 10, 5), ("b", 2, 9)]), tz="UTC")
    assert not r.enough_history
    assert r.note == ("The posting-time heatmap needs at least 10 videos 7+ days old; you have 1.")


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("Morning #Café routine #FYP", ["café", "fyp"]),
        ("#CAFÉ and #café again", ["café"]),
        ("#cafe is not #café", ["cafe", "café"]),
        ("#fyp#ForYou!", ["fyp", "foryou"]),
        ("東京 #日本 #東京タワー", ["日本", "東京タワー"]),
        ("नमस्ते #हिंदी", ["हिंदी"]),  # combining vowel signs stay in the tag
        ("full-width ＃Tokyo", ["tokyo"]),
        ("we're #1 and C# fans, #2024goals", ["2024goals"]),
        ("#snake_case-rest", ["snake_case"]),
        ("", []),
        (None, []),
    ],
)
def test_parse_hashtags(text, tags):
    assert m.parse_hashtags(text) == tags


def test_hashtag_performance_from_title_and_description():
    videos = _videos(
        [
            ("v1", 10, 100, "Latte art #Café", "#coffee"),
            ("v2", 10, 300, "#CAFÉ tour", ""),
            ("v3", 10, 1000, "Dance", "#dance #Coffee"),
            ("v4", 10, 50, "no tags", ""),
            ("v5", 2, 9999, "#café too new", ""),
        ]
    )
    r = m.hashtag_performance(videos)
    f = r.frame.set_index("tag")
    assert f.loc["café", "videos"] == 2 and f.loc["café", "median_views"] == 200
    assert f.loc["coffee", "median_views"] == 550
    assert f.loc["café", "share_of_videos"] == 0.5  # 2 of the 4 videos 7+ days old
    assert f.loc["dance", "lift"] == pytest.approx(1000 / 200)  # all-videos median 200
    assert r.frame["tag"].tolist() == ["coffee", "café", "dance"]
    assert r.provenance == "derived"


def test_cadence_posts_per_week_and_gaps_in_zone():
    p = m.Period(ts(2024, 3, 4, 8), ts(2024, 3, 18, 7))  # two ISO weeks in Los Angeles
    posts = pd.DataFrame(
        {
            "create_time": [
                ts(2024, 3, 4, 20),
                ts(2024, 3, 5, 20),
                ts(2024, 3, 11, 6, 30),  # Sunday 23:30 PDT
                ts(2024, 3, 1),
            ]
        }
    )  # before the period
    c = m.posting_cadence(posts, p, tz=LA)
    assert c.posts.value == 3
    assert c.posts_per_week.value == pytest.approx(3 / ((p.end - p.start) / (7 * D)))
    assert c.median_gap_hours.value == pytest.approx((24 + 130.5) / 2)
    assert c.longest_gap_hours.value == pytest.approx(130.5)
    assert c.longest_gap_from == datetime(2024, 3, 5, 20, tzinfo=UTC)
    assert c.weekly["posts"].tolist() == [3, 0]  # the Sunday-night post is in week 1
    assert [w.isoformat() for w in c.weekly["week_start"]] == [
        "2024-03-04T00:00:00-08:00",
        "2024-03-11T00:00:00-07:00",
    ]


def test_cadence_with_one_post_explains_the_missing_gaps():
    p = m.Period(ts(2024, 3, 4), ts(2024, 3, 11))
    c = m.posting_cadence(
        pd.DataFrame({"create_time": [ts(2024, 3, 5)]}), p, tz="UTC", as_of_time=ts(2024, 3, 7, 12)
    )
    assert c.posts_per_week.value == pytest.approx(1.0)  # per week of the whole period
    assert c.median_gap_hours.value is None
    assert c.median_gap_hours.note == "Gaps need at least 2 posts in the period; there is 1."


def test_metric_source_line():
    metric = m.Metric(5, "tiktok_lifetime", datetime(2024, 6, 3, 12, tzinfo=UTC))
    assert metric.source(LA) == "TikTok lifetime counter, as of 3 Jun 2024 05:00"
    assert m.format_time(ts(2024, 6, 3, 12) + 0, "UTC", with_time=False) == "3 Jun 2024"
    assert m.as_of(None) is None and m.as_of(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert m.mark_label(24) == "24h" and m.mark_label(168) == "7d" and m.mark_label(36) == "36h"
    assert timedelta(hours=m.MAX_GAP_HOURS) == timedelta(days=1.5)


def test_kpis_with_no_snapshot_in_the_current_period_yet():
    d0, acct, totals, posts = _kpi_inputs()
    period = m.Period(d0 + 20 * D, d0 + 27 * D)  # after the last snapshot (15 May)
    k = m.kpis(acct, totals, posts, period, period.previous(), tz="UTC")
    assert k["views_gained"].current.value is None
    assert k["views_gained"].current.note.startswith("No snapshot since 21 May 2024")
    # The previous period (14-21 May) is measured whole, up to the last snapshot: 1 day.
    assert k["views_gained"].previous.value == 300
    assert k["followers"].current.value == 1140  # the latest lifetime reading still shows


def test_kpi_current_period_measured_from_late_history_start_with_note():
    d0, acct, totals, posts = _kpi_inputs()
    # The period began two days before the first snapshot: measure from it, and say so.
    period = m.Period(d0 - 2 * D, d0 + 10 * D)
    k = m.kpis(acct, totals, posts, period, period.previous(), tz="UTC")
    views = k["views_gained"].current
    assert views.value is not None and views.value > 0
    assert "when Reelboard's history starts" in views.note
    # The comparison period is never measured from a shorter window.
    assert k["views_gained"].previous.value is None and k["views_gained"].change is None
