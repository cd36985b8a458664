"""Overview, Videos and Insights with AppTest, on history produced by the real sync."""

from __future__ import annotations

import pytest

from services.access import LOCAL_ACTOR
from services.demo_history import load_demo_history
from services.sync import sync_accounts
from tests.pages.conftest import connect_demo, current_runtime, open_page, texts

ANALYTICS_PAGES = ["overview", "videos", "insights"]


@pytest.mark.parametrize("name", ANALYTICS_PAGES)
def test_empty_state_without_accounts(name):
    at = open_page(name)
    assert not at.exception
    assert "No account selected" in texts(at)


def test_one_sync_shows_numbers_and_says_history_is_short():
    rt = current_runtime()
    account = connect_demo(rt, "trailrunnerjo")
    (result,) = sync_accounts(rt.settings, [account.open_id], actor=LOCAL_ACTOR)
    assert result.ok
    at = open_page("overview")
    assert not at.exception
    page = texts(at)
    assert "Not enough history yet" in page
    followers = next(m for m in at.metric if m.label == "Followers")
    assert followers.value.replace(",", "").isdigit()
    gained = next(m for m in at.metric if m.label == "Views gained")
    assert gained.value == "—"  # one snapshot cannot give a difference, and we don't fake a 0


@pytest.fixture
def history_runtime():
    rt = current_runtime()
    account = connect_demo(rt, "trailrunnerjo")
    result = load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=10)
    assert not result.failures
    return rt, account


def test_overview_with_history_has_kpis_and_charts(history_runtime):
    at = open_page("overview", state={"period_preset": "Last 7 days"})
    assert not at.exception
    assert "Not enough history yet" not in texts(at)
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Followers", "Followers gained", "Views gained", "Likes gained"]
    views = next(m for m in at.metric if m.label == "Views gained")
    assert int(views.value.replace(",", "")) > 0
    charts = at.get("plotly_chart")
    assert len(charts) == 2


def test_sync_now_button_runs_a_sync_and_reports(history_runtime):
    at = open_page("overview")
    at.button(key="sync_now").click().run()
    assert not at.exception
    assert any("Jo on the Trails" in s.value for s in at.success)


def test_videos_table_filters_and_detail(history_runtime):
    at = open_page("videos")
    assert not at.exception
    assert "videos · as of" in texts(at)
    table = at.dataframe[0].value
    assert {"title", "views", "trend", "link"} <= set(table.columns)
    assert (table["views"] >= 0).all()
    # A sparkline of per-day gains from snapshots, or "new" (and none) for a video posted less
    # than a day ago -- which the demo creators' newest video may be, depending on the hour.
    head = table.head(5)
    assert all(
        (per_day == "new" and len(trend) == 0) or len(trend) >= 2
        for per_day, trend in zip(head["views_per_day"], head["trend"], strict=True)
    )
    assert sum(len(t) >= 2 for t in head["trend"]) >= 3
    at.text_input(key="video_search").input("zzzz-no-such-video").run()
    assert "No videos match these filters." in texts(at)


#: Insights tab -> the charts it draws (lazy tabs: only the open one runs).
INSIGHT_CHARTS = {"Top movers": ["movers"], "Velocity": ["velocity"], "Outliers": ["outliers"],
                  "When to post": ["heatmap", "cadence"], "Hashtags": ["hashtags"]}


def test_insights_tabs_render_with_provenance(history_runtime):
    at = open_page("insights")
    assert not at.exception
    assert [t.label for t in at.tabs] == list(INSIGHT_CHARTS)
    assert [c.key for c in at.get("plotly_chart")] == ["movers"]  # the first tab only
    assert "difference between Reelboard snapshots" in texts(at)
    for label, keys in INSIGHT_CHARTS.items():  # each tab, opened from the URL (?tab=…)
        tab = open_page("insights", query={"tab": label})
        assert not tab.exception, label
        assert [c.key for c in tab.get("plotly_chart")] == keys, label


def test_insight_figures_are_the_charts_each_tab_draws():
    # bench/pages_bench.py times charts.insight_figures: it must be what the page draws.
    from services.analytics import INSIGHT_SECTIONS, InsightsSection, charts

    drawn = [charts.insight_figures(InsightsSection(s), tz="UTC") for s in INSIGHT_SECTIONS]
    assert [list(d) for d in drawn] == list(INSIGHT_CHARTS.values())


@pytest.mark.parametrize("page", ["overview", "insights"])
def test_a_page_reads_the_data_version_once_for_data_and_figures(history_runtime, monkeypatch,
                                                                 page):
    # A sync finishing between the data read and a figure must not file the old data's figure
    # under the new version: data and figures share one read.
    import dashboard.data

    versions = iter(range(1000, 2000))
    reads = []
    monkeypatch.setattr(dashboard.data, "data_version",
                        lambda: reads.append(1) or next(versions))
    filed = []
    real = dashboard.data.figure
    monkeypatch.setattr(dashboard.data, "figure",
                        lambda name, key, build, *, version: filed.append(version)
                        or real(name, key, build, version=version))
    at = open_page(page, state={"period_preset": "Last 7 days"})
    assert not at.exception
    assert len(reads) == 1 and filed and set(filed) == {1000}


def test_videos_page_renews_expired_cover_links(history_runtime, monkeypatch):
    import functools
    from datetime import UTC, datetime, timedelta

    import requests

    import dashboard.data
    from services.covers import cover_expires_at, refresh_stale_covers

    rt, _account = history_runtime
    before = open_page("videos").dataframe[0].value["cover"].tolist()
    # Seven hours pass, for TikTok (the sandbox's clock) and for Reelboard alike.
    requests.post(f"{rt.settings.api_base_url}/_sandbox/clock", json={"advance": 7 * 3600},
                  timeout=10)
    later = functools.partial(refresh_stale_covers,
                              clock=lambda: datetime.now(UTC) + timedelta(hours=7))
    monkeypatch.setattr(dashboard.data, "refresh_stale_covers", later)
    stale = before[0]
    assert requests.get(stale, timeout=10).status_code == 403  # TikTok's CDN: link expired
    after = open_page("videos").dataframe[0].value["cover"].tolist()
    assert after[0] != stale
    assert cover_expires_at(after[0]) > cover_expires_at(stale)
    fresh = requests.get(after[0], timeout=10)
    assert fresh.status_code == 200 and fresh.headers["content-type"].startswith("image/")


@pytest.mark.parametrize("query", ["'; DROP TABLE videos; --", "%_%", "<script>x</script>",
                                   "\u202eevil", "#"])
def test_videos_search_with_hostile_input_changes_nothing(history_runtime, query):
    at = open_page("videos")
    total_before = len(at.dataframe[0].value)
    at.text_input(key="video_search").input(query).run()
    assert not at.exception
    at.text_input(key="video_search").input("").run()
    assert len(at.dataframe[0].value) == total_before


def test_videos_are_sorted_and_paged_in_sql(history_runtime):
    at = open_page("videos")
    first_page = at.dataframe[0].value
    # Sorted by date: the order reads "Newest first", not "Highest first".
    assert at.selectbox(key="video_order").options == ["Newest first", "Oldest first"]
    assert len(first_page) == 50  # trailrunnerjo has ~140 public videos: three pages
    assert "showing 1–50" in texts(at)
    at.selectbox(key="video_sort").select("Views").run()
    views = at.dataframe[0].value["views"].tolist()
    assert views == sorted(views, reverse=True)
    assert at.selectbox(key="video_order").options == ["Highest first", "Lowest first"]
    at.selectbox(key="video_order").select(False).run()
    lowest = at.dataframe[0].value["views"].tolist()
    assert lowest == sorted(lowest) and lowest[0] <= views[-1]
    at.number_input(key="video_page").set_value(2).run()
    assert not at.exception
    second = at.dataframe[0].value["views"].tolist()
    assert "showing 51–100" in texts(at)
    assert second[0] >= lowest[-1] and second == sorted(second)
    # Changing a filter starts again at page 1.
    at.selectbox(key="video_sort").select("Likes").run()
    assert "showing 1–50" in texts(at)


def test_figures_are_built_once_per_data_version(history_runtime, monkeypatch):
    from services.analytics import charts

    built = []
    real = charts.follower_trend
    monkeypatch.setattr(charts, "follower_trend",
                        lambda *a, **k: built.append(1) or real(*a, **k))
    for _ in range(2):  # a rerun (or another person) with the same data: the cached figure
        at = open_page("overview", state={"period_preset": "Last 7 days"})
        assert not at.exception and len(at.get("plotly_chart")) == 2
    assert len(built) == 1
    rt, account = history_runtime
    (result,) = sync_accounts(rt.settings, [account.open_id], actor=LOCAL_ACTOR)
    assert result.ok
    open_page("overview", state={"period_preset": "Last 7 days"})
    assert len(built) == 2  # new data: drawn again

