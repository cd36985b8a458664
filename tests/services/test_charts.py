"""Figures built from metric results: traces, data, titles and empty states, no browser."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from services.analytics import charts as c
from services.analytics import metrics as m

LA = "America/Los_Angeles"
D = 86_400
H = 3600


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def _series(open_id: str, points: list[tuple[int, int]], column: str = "follower_count"):
    return pd.DataFrame(
        {
            "open_id": open_id,
            "captured_at": [t for t, _ in points],
            column: pd.array([v for _, v in points], dtype="Int64"),
        }
    )


def _subtitle(fig: go.Figure) -> str:
    return (fig.layout.title.subtitle.text or "").replace("<br>", " · ")


def _is_empty_state(fig: go.Figure, text: str) -> bool:
    return (
        len(fig.data) == 0
        and len(fig.layout.annotations) == 1
        and text in fig.layout.annotations[0].text
        and fig.layout.xaxis.visible is False
    )


def test_empty_figure_is_a_message_without_axes():
    fig = c.empty_figure("Needs at least 2 snapshots; you have 1.", title="Followers")
    assert _is_empty_state(fig, "you have 1")
    assert fig.layout.title.text == "Followers" and fig.layout.yaxis.visible is False


def test_follower_trend_one_line_per_account_in_local_time():
    both = pd.concat(
        [
            _series("a", [(ts(2024, 5, 1, 12), 100), (ts(2024, 5, 2, 12), 120)]),
            _series("b", [(ts(2024, 5, 1, 12), 7), (ts(2024, 5, 2, 12), 9)]),
        ]
    )
    fig = c.follower_trend(
        m.trend(both, ["follower_count"], tz=LA), tz=LA, names={"a": "Luna", "b": "Bo"}
    )
    assert [t.type for t in fig.data] == ["scatter", "scatter"]
    assert [t.name for t in fig.data] == ["Luna", "Bo"]
    assert list(fig.data[0].y) == [100.0, 120.0]
    # 12:00 UTC is 05:00 in Los Angeles (PDT): the axis shows the viewer's wall clock.
    assert pd.Timestamp(fig.data[0].x[0]) == pd.Timestamp("2024-05-01 05:00")
    assert fig.layout.title.text == "Followers" and fig.layout.yaxis.title.text == "Followers"
    assert _subtitle(fig) == "TikTok lifetime counter, as of 2 May 2024 05:00"
    assert ",.0f" in fig.data[0].hovertemplate and fig.layout.showlegend is True
    assert fig.data[0].line.color != fig.data[1].line.color


def test_trend_with_one_snapshot_is_an_empty_state_with_the_note():
    one = m.trend(_series("a", [(ts(2024, 5, 1), 100)]), ["follower_count"], tz="UTC")
    fig = c.follower_trend(one, tz="UTC")
    assert _is_empty_state(fig, "A trend needs at least 2 snapshots; you have 1.")


def test_gained_bars_skip_missing_and_mark_estimated_days():
    d0 = ts(2024, 5, 1)
    s = _series("a", [(d0, 0), (d0 + D, 100), (d0 + 4 * D, 400)], "view_count")
    gained = m.gained_per_period(s, freq="day", tz="UTC", start=d0, end=d0 + 6 * D)
    fig = c.gained_bars(gained, "views_gained", tz="UTC", freq="day")
    (bar,) = fig.data
    assert bar.type == "bar"
    assert list(bar.y) == [100.0, 100.0, 100.0, 100.0]  # 2 missing days: no bars, no zeros
    assert list(bar.marker.pattern.shape) == ["", "/", "/", "/"]
    assert bar.customdata[1] == c.STATUS_LABELS["estimated"]
    assert fig.layout.title.text == "Views gained per day"
    assert fig.layout.yaxis.title.text == "Views gained"
    assert _subtitle(fig).startswith("Difference between Reelboard snapshots, as of 5 May 2024")
    assert _subtitle(fig).endswith("2 days without snapshots not shown")


def test_gained_bars_group_accounts_and_weekly_ticks():
    d0 = ts(2024, 4, 29)  # a Monday
    both = pd.concat(
        [
            _series("a", [(d0, 0), (d0 + 7 * D, 70)], "view_count"),
            _series("b", [(d0, 5), (d0 + 7 * D, 12)], "view_count"),
        ]
    )
    gained = m.gained_per_period(both, freq="week", tz="UTC", start=d0, end=d0 + 7 * D)
    fig = c.gained_bars(gained, tz="UTC", freq="week", names={"a": "A", "b": "B"})
    assert [(t.name, list(t.y)) for t in fig.data] == [("A", [70.0]), ("B", [7.0])]
    assert fig.layout.barmode == "group" and fig.layout.title.text == "Views gained per week"


def test_gained_bars_not_enough_history():
    one = m.gained_per_period(
        _series("a", [(ts(2024, 5, 1), 3)], "view_count"),
        freq="day",
        tz="UTC",
        start=ts(2024, 5, 1),
        end=ts(2024, 5, 2),
    )
    assert _is_empty_state(c.gained_bars(one, tz="UTC"), "you have 1")


def test_video_growth_curve():
    hist = pd.DataFrame(
        {
            "video_id": "v",
            "open_id": "a",
            "create_time": ts(2024, 5, 1),
            "captured_at": [ts(2024, 5, 1, 6), ts(2024, 5, 2)],
            **{
                col: pd.array([10, 1000], dtype="Int64")
                for col in ("view_count", "like_count", "comment_count", "share_count")
            },
        }
    )
    fig = c.video_growth(m.growth_curves(hist), tz="UTC")
    assert list(fig.data[0].y) == [10.0, 1000.0]
    assert fig.data[0].customdata[1].tolist() == [1000.0, 1000.0, 1000.0, 24.0]
    assert "%{y:,.0f} views" in fig.data[0].hovertemplate
    assert _is_empty_state(c.video_growth(m.growth_curves(hist.head(1)), tz="UTC"), "you have 1")


def _old_videos(n: int, tz_hour: int = 2) -> pd.DataFrame:
    posted = [ts(2024, 1, 1, tz_hour) + i * 7 * D for i in range(n)]  # Mondays 02:00 UTC
    return pd.DataFrame(
        {
            "video_id": [f"v{i}" for i in range(n)],
            "open_id": "a",
            "create_time": posted,
            "title": [f"Video {i} #Tag{i % 2}" for i in range(n)],
            "description": "",
            "captured_at": pd.array([ts(2024, 6, 1)] * n, dtype="Int64"),
            "view_count": pd.array([100 * (i + 1) for i in range(n)], dtype="Int64"),
        }
    )


def test_posting_heatmap_grid_in_zone():
    heat = m.posting_heatmap(_old_videos(10), tz=LA)
    fig = c.posting_heatmap(heat, tz=LA)
    (hm,) = fig.data
    assert hm.type == "heatmap" and np.asarray(hm.z).shape == (7, 8)
    assert list(hm.y) == list(m.WEEKDAYS) and hm.x[6] == "18–21"
    # Monday 02:00 UTC is Sunday 18:00 in Los Angeles: all ten videos in one cell, half of
    # them above the account's median.
    z = np.asarray(hm.z, dtype=float)
    assert z[6, 6] == 0.5 and np.isnan(z).sum() == 55
    assert np.asarray(hm.customdata)[6, 6][0] == 10 and np.asarray(hm.text)[6, 6] == "10"
    assert fig.layout.xaxis.title.text == f"Hours posted ({LA})"
    assert "videos 7+ days old" in _subtitle(fig) and "all time" in _subtitle(fig)


def test_hashtag_bars_biggest_on_top_with_overall_median():
    tags = m.hashtag_performance(_old_videos(6))
    fig = c.hashtag_bars(tags)
    (bar,) = fig.data
    assert bar.orientation == "h"
    # tag1 (median 400) ranks first; plotly draws the last bar on top, so it comes last.
    assert list(bar.y) == ["#tag0", "#tag1"]
    assert list(bar.x) == [300.0, 400.0]
    assert list(bar.text) == ["3 videos", "3 videos"]
    assert fig.layout.shapes[0].x0 == 350.0  # the all-videos median line


def test_velocity_curves_with_marks():
    d0 = ts(2024, 5, 1)
    hist = pd.DataFrame(
        {
            "video_id": ["a", "a", "b", "b"],
            "open_id": "x",
            "create_time": [d0, d0, d0 + D, d0 + D],
            "captured_at": [d0 + 12 * H, d0 + 48 * H, d0 + D + 24 * H, d0 + D + 200 * H],
            "view_count": pd.array([10, 40, 5, 50], dtype="Int64"),
        }
    )
    fig = c.velocity_curves(m.growth_curves(hist), titles={"a": "First video", "b": "Second"})
    assert [t.name for t in fig.data] == ["First video", "Second"]
    assert list(fig.data[0].x) == [12.0, 48.0] and list(fig.data[1].x) == [24.0, 200.0]
    assert [s.x0 for s in fig.layout.shapes] == [24, 168, 672]
    assert fig.layout.xaxis.title.text == "Hours since posting"


def test_top_movers_bar_colours_new_videos():
    gains = pd.DataFrame(
        {
            "video_id": ["C", "A"],
            "open_id": "a",
            "create_time": [ts(2024, 5, 4), 0],
            "title": ["New one", "Old one"],
            "share_url": "",
            "cover_image_url": "",
            "from_at": ts(2024, 5, 1),
            "to_at": ts(2024, 5, 8),
            "views_start": pd.array([None, 100], dtype="Int64"),
            "views_end": pd.array([500, 300], dtype="Int64"),
            "views_gained": pd.array([500, 200], dtype="Int64"),
            "baseline": ["posted_in_period", "snapshot"],
            "unmeasured": 0,
        }
    )
    fig = c.top_movers_bar(m.top_movers(gains), tz="UTC")
    assert [(t.name, list(t.x)) for t in fig.data] == [
        ("Older videos", [200.0]),
        ("Posted in the period", [500.0]),
    ]
    assert fig.data[1].y[0].startswith("New one")
    assert list(fig.layout.yaxis.categoryarray)[-1].startswith("New one")  # biggest on top
    assert "Measured from 1 May 2024 00:00 to 8 May 2024 00:00." in _subtitle(fig)
    assert _is_empty_state(c.top_movers_bar(m.top_movers(gains.iloc[:0])), "two complete")


def test_outlier_scatter_colours_and_median_lines():
    videos = _old_videos(6)
    videos.loc[5, "view_count"] = 5000  # far above the median
    fig = c.outlier_scatter(m.outliers(videos))
    names = [t.name for t in fig.data]
    # Median of 100..500 and 5000 is 350: 100 is below a third of it.
    assert names == ["Above median", "Typical", "Below median"]
    assert list(fig.data[0].y) == [5000.0] and list(fig.data[2].y) == [100.0]
    assert fig.data[0].marker.color == c.ABOVE
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.dtick == "D2"  # 1-2-5 labels: all nine digits crowd a short range
    assert fig.layout.shapes[0].y0 == 350.0  # the account median
    assert fig.layout.yaxis.title.text == "Views (lifetime)"


def test_cadence_bars_show_real_zero_weeks():
    p = m.Period(ts(2024, 3, 4), ts(2024, 3, 18))
    cad = m.posting_cadence(pd.DataFrame({"create_time": [ts(2024, 3, 5)]}), p, tz="UTC")
    fig = c.cadence_bars(cad.weekly, tz="UTC")
    assert list(fig.data[0].y) == [1.0, 0.0]


@pytest.mark.parametrize(
    "builder",
    [
        lambda: c.posting_heatmap(m.posting_heatmap(_old_videos(2), tz="UTC"), tz="UTC"),
        lambda: c.hashtag_bars(m.hashtag_performance(_old_videos(0))),
        lambda: c.outlier_scatter(m.outliers(_old_videos(2))),
    ],
)
def test_insufficient_history_never_draws_zeros(builder):
    fig = builder()
    assert len(fig.data) == 0 and len(fig.layout.annotations) == 1


def test_every_chart_uses_the_template():
    fig = c.follower_trend(_series("a", [(ts(2024, 5, 1), 1), (ts(2024, 5, 2), 2)]), tz="UTC")
    assert fig.layout.template.layout.colorway == c.PALETTE
    assert fig.layout.template.layout.font.family == c.FONT
    assert fig.layout.template.layout.separators == ".,"
