"""Videos and Insights show numbers a marketer can trust (issue 10, items 5-8, 11), AppTest."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from services.access import LOCAL_ACTOR
from services.demo_history import load_demo_history
from tests.pages.conftest import connect_demo, current_runtime, open_page, texts

#: Room for the table at a 1400 px window: minus the sidebar (at most 336 px by default) and
#: the wide layout's side padding (2 x 80 px), rounded down.
TABLE_ROOM_AT_1400 = 900
#: A digit or comma in the grid's 14 px font is at most 8 px wide; cells pad 8 px each side.
CHAR_PX, CELL_PADDING = 8, 16


@pytest.fixture
def history_runtime():
    rt = current_runtime()
    account = connect_demo(rt, "trailrunnerjo")
    result = load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=10)
    assert not result.failures
    return rt, account


def _column_widths(at: AppTest) -> dict[str, int | str | None]:
    config = json.loads(at.dataframe[0].proto.columns)
    return {name: spec.get("width") for name, spec in config.items()}


def test_videos_columns_fit_their_widest_value_and_the_room_at_1400px(history_runtime):
    at = open_page("videos", state={"video_sort": "Views"})
    assert not at.exception
    frame = at.dataframe[0].value
    widths = _column_widths(at)
    shown = [c for c in frame.columns if widths.get(c) != "hidden"]
    assert all(isinstance(widths.get(c), int) for c in shown), widths
    assert sum(widths[c] for c in shown) <= TABLE_ROOM_AT_1400, widths
    # The link to TikTok is on screen without scrolling sideways: pinned to the left.
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["link"].get("pinned") is True
    for column in ("views", "likes"):
        widest = max(len(f"{v:,.0f}") for v in frame[column].dropna())
        widest = max(widest, len("10,000,000"))  # room for a viral video on any later sync
        assert widths[column] >= widest * CHAR_PX + CELL_PADDING, (column, widths[column])


def test_views_per_day_never_says_none_and_trends_are_real_daily_gains(history_runtime):
    at = open_page("videos")
    frame = at.dataframe[0].value
    per_day = frame["views_per_day"].tolist()
    assert all(v == "new" or re.fullmatch(r"[\d,]+", v) for v in per_day), per_day
    assert "new" in per_day or all(v != "None" for v in per_day)
    trends = [tuple(t) for t in frame["trend"] if len(t) >= 2]
    assert trends, "videos with several snapshots have a daily-gains sparkline"
    # Real per-day gains differ in shape from video to video (not one shared diagonal).
    shapes = {tuple(round(x / max(t), 2) if max(t) else 0 for x in t) for t in trends}
    assert len(shapes) > 1


def _insights(period: str, tab: str = "Top movers") -> AppTest:
    return open_page("insights", state={"period_preset": period}, query={"tab": tab})


def _chart(at: AppTest, key_part: str) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = str(spec.get("layout", {}).get("title", {}).get("text", ""))
        if key_part in title:
            return spec
    raise AssertionError(f"no chart titled {key_part!r}")


def test_insights_sections_follow_the_period_or_say_all_time(history_runtime):
    week, quarter = (_insights(p, "Outliers") for p in ("Last 7 days", "Last 90 days"))
    assert not week.exception and not quarter.exception
    points = [
        sum(len(t.get("x", [])) for t in _chart(a, "against the account").get("data", []))
        for a in (week, quarter)
    ]
    assert points[0] < points[1], points
    tags = [_chart(_insights(p, "Hashtags"), "Hashtags")["data"]
            for p in ("Last 7 days", "Last 90 days")]
    assert tags[0] != tags[1]
    timing = _insights("Last 7 days", "When to post")
    assert "all time" in json.dumps(_chart(timing, "When posts do best")).lower()


def test_posts_per_week_matches_overviews_videos_posted_for_seven_days(history_runtime):
    overview = open_page("overview", state={"period_preset": "Last 7 days"})
    posted = next(m for m in overview.metric if m.label == "Videos posted").value
    week = _insights("Last 7 days", "When to post")
    rate = next(m for m in week.metric if m.label == "Posts per week").value
    assert float(rate) == float(posted.replace(",", ""))


def test_velocity_and_movers_label_videos_without_raw_ids(history_runtime):
    velocity = next(d.value for d in _insights("Last 28 days", "Velocity").dataframe
                    if "Video" in d.value.columns)
    assert velocity["Video"].is_unique
    movers = _chart(_insights("Last 28 days"), "Top movers")
    labels = [y for t in movers["data"] for y in t.get("y", [])]
    assert labels
    assert not any(re.search(r"· \d{4}$", str(label)) for label in labels), labels


def test_a_skipped_sync_names_the_account_not_its_id(history_runtime):
    from services.db import open_db
    from services.sync import _already_running

    rt, account = history_runtime
    with open_db(rt.settings.database_path) as db:
        result = _already_running(account.open_id, db=db)
    assert "Jo on the Trails" in result.label
    assert account.open_id not in result.summary()


def _card_app():
    import streamlit as st

    from dashboard.components import kpi_card
    from services.analytics import metrics as m

    est = m.Metric(
        504, m.SNAPSHOT_DIFFERENCE, None, "spread", "followers_gained", estimated_share=0.3
    )
    prev = m.Metric(504, m.SNAPSHOT_DIFFERENCE, None, None, "followers_gained")
    kpi_card(m.Kpi("followers_gained", "Followers gained", est, prev), "UTC")
    gone = m.Metric(
        None,
        m.SNAPSHOT_DIFFERENCE,
        None,
        "Not enough snapshots: …",
        "views_gained",
        estimated_share=0.9,
    )
    kpi_card(m.Kpi("views_gained", "Views gained", gone, prev), "UTC")
    st.caption("cards drawn")


def test_an_estimated_kpi_card_says_so_on_the_card():
    at = AppTest.from_function(_card_app).run()
    assert not at.exception
    followers, views = at.metric
    assert "estimated" in f"{followers.value} {followers.delta}"
    assert "+0.0%" not in str(followers.delta)
    assert views.value == "—" and views.delta == "Not enough snapshots"  # no number at all
    assert "cards drawn" in texts(at)
