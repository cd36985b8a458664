"""Numbers a marketer can trust (issue 10, items 6, 7, 8, 11), on hand-built frames."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from services.analytics import charts as c
from services.analytics import metrics as m

H = 3600
D = 86_400
NOW = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())


def _series(points, column="follower_count", open_id="acct"):
    return pd.DataFrame(
        {
            "open_id": [open_id] * len(points),
            "captured_at": pd.array([t for t, _ in points], dtype="int64"),
            column: pd.array([v for _, v in points], dtype="Int64"),
        }
    )


# --------------------------------------------------------------------------------------------
# item 6: estimated KPIs


def test_a_period_inside_a_three_month_gap_is_not_a_number():
    # One snapshot three months ago, one now: the last 7 days lie wholly inside the gap.
    s = _series([(NOW - 91 * D, 10_000), (NOW, 10_504)])
    got = m.gained_between(s, "follower_count", NOW - 7 * D, NOW, allow_late_start=True)
    assert got.value is None
    assert got.note.startswith("Not enough snapshots")
    assert got.estimated_share == pytest.approx(1.0)


def test_a_partly_estimated_gain_is_marked_with_its_share():
    # Daily snapshots for the last 20 days, then a 10-day gap before: a 28-day window has
    # its first 8 days inside the gap (8 / 28 of the period is spread evenly).
    points = [(NOW - 30 * D, 0)] + [(NOW - d * D, 1000 - d * 10) for d in range(20, -1, -1)]
    got = m.gained_between(_series(points), "follower_count", NOW - 28 * D, NOW)
    assert got.value is not None
    assert got.estimated
    assert got.estimated_share == pytest.approx(8 / 28)
    # And with daily snapshots all the way, nothing is estimated.
    daily = [(NOW - d * D, 1000 - d * 10) for d in range(40, -1, -1)]
    exact = m.gained_between(_series(daily), "follower_count", NOW - 28 * D, NOW)
    assert exact.value == 280 and not exact.estimated


def test_kpis_carry_the_estimate_into_engagement_and_hide_mostly_estimated_ones():
    accounts = _series([(NOW - 91 * D, 10_000), (NOW, 10_504)])
    totals = pd.DataFrame(
        {
            "open_id": "acct",
            "captured_at": pd.array([NOW - 91 * D, NOW], dtype="int64"),
            "view_count": pd.array([1000, 9000], dtype="Int64"),
            "like_count": pd.array([10, 90], dtype="Int64"),
            "comment_count": pd.array([1, 9], dtype="Int64"),
            "share_count": pd.array([0, 5], dtype="Int64"),
        }
    )
    period = m.Period(NOW - 7 * D, NOW)
    posts = pd.DataFrame({"open_id": [], "create_time": pd.array([], dtype="int64")})
    k = m.kpis(accounts, totals, posts, period, period.previous())
    for key in ("followers_gained", "views_gained", "engagement_rate"):
        assert k[key].current.value is None, key
        assert k[key].current.note.startswith("Not enough snapshots"), key
    assert k["followers"].current.value == 10_504  # a level is a fact, not an estimate


# --------------------------------------------------------------------------------------------
# item 7: cadence over the whole period


def test_posts_per_week_over_a_seven_day_period_is_the_number_of_posts():
    period = m.Period(NOW - 7 * D, NOW)
    posts = pd.DataFrame({"create_time": [NOW - d * D - 5 * H for d in range(6)]})
    # The last sync was a day before the period's end: the rate still counts the whole week
    # (as Overview's "Videos posted" does), not 6 posts in 6 days = 7 a week.
    cad = m.posting_cadence(posts, period, tz="UTC", as_of_time=NOW - D)
    assert cad.posts.value == 6
    assert cad.posts_per_week.value == pytest.approx(6.0)


# --------------------------------------------------------------------------------------------
# item 8: real per-day gains


def test_views_per_day_are_recent_gains_and_new_videos_say_new():
    sparks = pd.DataFrame(
        {
            "video_id": ["old"] * 4 + ["young"] * 2 + ["fresh"],
            "captured_at": [NOW - 3 * D, NOW - 2 * D, NOW - D, NOW, NOW - 12 * H, NOW, NOW],
            "view_count": [100, 1100, 1600, 1700, 10, 70, 5],
        }
    )
    gains = m.daily_gain_lists(sparks)
    assert gains["old"] == [1000, 500, 100]  # per day between snapshots, not the lifetime line
    assert gains["young"] == [120]  # 60 views in 12 h = 120 a day
    assert gains["fresh"] == []
    # Views/day: the gain over the last day of snapshots (a day of history at least), else new.
    assert m.recent_views_per_day(sparks) == {"old": 100.0, "young": None, "fresh": None}


# --------------------------------------------------------------------------------------------
# item 11: heatmap robust to one viral video


def _posts(rows):
    """rows: (weekday offset days from Monday 2026-03-02, hour, views)."""
    monday = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())
    return pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(len(rows))],
            "open_id": "acct",
            "create_time": [monday + d * D + h * H for d, h, _ in rows],
            "title": "",
            "description": "",
            "captured_at": pd.array([monday + 60 * D] * len(rows), dtype="Int64"),
            "view_count": pd.array([v for _, _, v in rows], dtype="Int64"),
        }
    )


def test_heatmap_is_not_dominated_by_one_viral_video_and_counts_posts():
    rows = [(0, 9, 5_000_000)]  # Monday 09:00: one viral video
    rows += [(2, 18, 800), (2, 18, 900), (2, 19, 700)]  # Wednesday evening: steady
    rows += [(4, 12, 100), (4, 12, 120), (4, 13, 90), (5, 10, 110), (6, 11, 100), (6, 11, 95)]
    heat = m.posting_heatmap(_posts(rows), tz="UTC", min_videos=10)
    frame = heat.frame.set_index(["weekday", "hour"])
    wed = frame.loc[(2, m.heatmap_block(18))]
    mon = frame.loc[(0, m.heatmap_block(9))]
    assert wed["videos"] == 3 and mon["videos"] == 1
    assert wed["share_above_median"] == pytest.approx(1.0)
    # A cell with a single post is not scored: one video says little about the time slot.
    assert np.isnan(mon["score"]) and wed["score"] == pytest.approx(1.0)
    fig = c.posting_heatmap(heat, tz="UTC")
    hm = fig.data[0]
    texts = np.asarray(hm.text).ravel().tolist()
    assert "3" in texts and "1" in texts  # the number of posts is written in the cells
    assert np.nanmax(np.asarray(hm.z, dtype="float64")) <= 1.0  # a share, not raw views


def test_a_video_snapshotted_young_is_measured_from_posting():
    # Posted 30 h before its only snapshot (2,000 views): 2,000 in 30 h = 1,600 a day. A
    # video 3 h old is still "new"; one first seen 30 days after posting gets no 0 reading.
    sparks = pd.DataFrame(
        {
            "video_id": ["young", "baby", "old"],
            "captured_at": [NOW, NOW, NOW],
            "view_count": pd.array([2000, 300, 9000], dtype="Int64"),
        }
    )
    created = pd.Series({"young": NOW - 30 * H, "baby": NOW - 3 * H, "old": NOW - 30 * D})
    readings = m.with_posting_reading(sparks, created)
    assert m.recent_views_per_day(readings) == {"young": 1600.0, "baby": None, "old": None}
    assert m.daily_gain_lists(readings)["young"] == [1600]


def test_video_labels_tell_reposted_titles_apart_without_ids():
    from services.analytics import video_labels

    posts = pd.DataFrame(
        {
            "video_id": ["7301234567890127714", "7301234567890128888", "7301234567890129999"],
            "title": ["Chickpea curry but make it easy"] * 2 + [""],
            "description": ["", "", "A very long description that goes on and on\nline two"],
            "create_time": [NOW - 20 * D, NOW - 5 * D, NOW - 5 * D],
        }
    )
    labels = video_labels(posts, "UTC")
    assert labels["7301234567890127714"] == "Chickpea curry but make it easy · 12 May 2026"
    assert labels["7301234567890128888"] == "Chickpea curry but make it easy · 27 May 2026"
    assert labels["7301234567890129999"].startswith("A very long description that goes…")
    assert not any("7714" in label or "7301" in label for label in labels.values())
