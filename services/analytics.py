"""What each analytics page shows, assembled from queries (SQL) and metrics (pure functions).

Pages call one function per screen and get plain, picklable data back (so the dashboard can
keep it in ``st.cache_data`` keyed by accounts, period and the cache's data version); figures
are then drawn by ``services.charts``. Nothing here touches Streamlit or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
import sqlite_utils

from services import metrics, queries
from services.metrics import Insight, Kpi, Period

#: Periods longer than this chart gains per ISO week instead of per day.
WEEKLY_AFTER_DAYS = 62


@dataclass(frozen=True)
class AccountRef:
    open_id: str
    label: str


@dataclass
class History:
    """How much history the cache holds for the chosen accounts."""

    runs: int
    first_at: int | None
    last_at: int | None

    @property
    def enough(self) -> bool:
        return self.runs >= 2 and self.first_at is not None and self.last_at != self.first_at


@dataclass
class OverviewData:
    accounts: list[AccountRef]
    period: Period
    previous: Period
    freq: str
    history: History
    kpis: dict[str, dict[str, Kpi]]
    followers: Insight
    gained: Insight
    last_syncs: dict[str, queries.LastSync | None]


@dataclass
class VideosData:
    table: pd.DataFrame
    #: video_id -> views gained per day between snapshots, oldest first (the sparkline).
    sparklines: dict[str, list[int]]
    as_of: int | None
    total: int


@dataclass
class VideoDetail:
    video_id: str
    curve: Insight
    history: pd.DataFrame
    row: dict = field(default_factory=dict)


@dataclass
class InsightsData:
    heatmap: Insight
    hashtags: Insight
    velocity: Insight
    velocity_curves: Insight
    #: video_id -> title for every video of the accounts (velocity chart and table labels).
    velocity_titles: dict[str, str]
    movers: Insight
    outliers: Insight
    cadence: metrics.Cadence


def _history(db: sqlite_utils.Database, open_ids: Sequence[str]) -> History:
    span = queries.snapshot_span(db, open_ids)
    runs = int(span["runs"].max()) if len(span) else 0
    first = span["first_captured_at"].dropna()
    last = span["last_captured_at"].dropna()
    return History(
        runs=runs,
        first_at=int(first.min()) if len(first) else None,
        last_at=int(last.max()) if len(last) else None,
    )


def overview(
    db: sqlite_utils.Database, accounts: Sequence[AccountRef], start: int, end: int, tz: str
) -> OverviewData:
    """KPI cards per account with period-over-period change, follower trend, gains chart."""
    period = Period(start, end)
    previous = period.previous()
    open_ids = [a.open_id for a in accounts]
    series = queries.account_series(db, open_ids, previous.start, end)
    totals = queries.video_totals_series(db, open_ids, previous.start, end)
    posts = queries.posting_times(db, open_ids, previous.start, end)
    kpis = {
        oid: metrics.kpis(
            series[series["open_id"] == oid], totals[totals["open_id"] == oid],
            posts[posts["open_id"] == oid], period, previous, tz=tz,
        )
        for oid in open_ids
    }
    in_period = series[series["captured_at"] >= start]
    freq = "week" if (end - start) / metrics.DAY > WEEKLY_AFTER_DAYS else "day"
    gained = metrics.gained_per_period(
        totals, freq=freq, tz=tz, start=start, end=end, columns=["view_count"]
    )
    return OverviewData(
        accounts=list(accounts),
        period=period,
        previous=previous,
        freq=freq,
        history=_history(db, open_ids),
        kpis=kpis,
        followers=metrics.trend(in_period, ["follower_count"], tz=tz),
        gained=gained,
        last_syncs={oid: queries.last_sync(db, oid) for oid in open_ids},
    )


#: Rows per page of the Videos table: sorting and paging run in SQL (bench/README.md).
VIDEO_PAGE_SIZE = 50


def videos(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    *,
    tz: str,
    search: str | None = None,
    posted_from: int | None = None,
    posted_to: int | None = None,
    order_by: str = "create_time",
    descending: bool = True,
    page: int = 0,
    page_size: int = VIDEO_PAGE_SIZE,
    spark_since: int | None = None,
) -> VideosData:
    """One page of the Videos table (latest counters per video), sorted and paged in SQL, with
    a views sparkline for each video on the page."""
    latest = queries.latest_video_stats(
        db, open_ids, search=search or None, posted_from=posted_from, posted_to=posted_to,
        order_by=order_by, descending=descending, limit=page_size,
        offset=max(page, 0) * page_size,
    )
    table = metrics.video_table(latest, tz=tz)
    sparks: dict[str, list[int]] = {}
    recent: dict[str, float | None] = {}
    if len(table):
        since = spark_since if spark_since is not None else int(table["create_time"].min())
        created = table.set_index(table["video_id"].astype("str"))["create_time"]
        for oid in open_ids:
            ids = table.loc[table["open_id"] == oid, "video_id"].tolist()
            if ids:
                readings = metrics.with_posting_reading(
                    queries.sparkline_series(db, oid, ids, since), created)
                sparks.update(metrics.daily_gain_lists(readings))
                recent.update(metrics.recent_views_per_day(readings))
    # A video too new for Views/day gets no sparkline either (one bar would fill the cell).
    sparks = {vid: gains for vid, gains in sparks.items() if recent.get(vid) is not None}
    # Views/day from the snapshots (None: too little history yet, shown as "new").
    table["recent_views_per_day"] = table["video_id"].map(
        lambda vid: recent.get(str(vid))).astype("float64")
    as_of = table["captured_at"].dropna()
    total = int(table["total"].iat[0]) if len(table) else 0
    return VideosData(table=table, sparklines=sparks,
                      as_of=int(as_of.max()) if len(as_of) else None, total=total)


def video_detail(db: sqlite_utils.Database, video_id: str) -> VideoDetail:
    history = queries.video_history(db, video_id)
    return VideoDetail(video_id=video_id, curve=metrics.growth_curves(history), history=history)


def video_labels(posts: pd.DataFrame, tz: str) -> dict[str, str]:
    """video_id -> "title · 3 Jun" (the posting day in ``tz``), unique across ``posts``.

    People tell videos apart by title and day, never by TikTok's id; two videos with the same
    title on the same day get " (2)", " (3)" … in posting order.
    """
    labels: dict[str, str] = {}
    seen: dict[str, int] = {}
    for r in posts[["video_id", "title", "description", "create_time"]].itertuples():
        lines = str(r.title or r.description or "").strip().splitlines() or ["Untitled video"]
        day = metrics.format_time(int(r.create_time), tz, with_time=False)
        text = lines[0] if len(lines[0]) <= 34 else lines[0][:33].rstrip() + "…"
        label = f"{text} · {day}"
        seen[label] = seen.get(label, 0) + 1
        labels[str(r.video_id)] = label if seen[label] == 1 else f"{label} ({seen[label]})"
    return labels


def insights(
    db: sqlite_utils.Database, open_ids: Sequence[str], start: int, end: int, tz: str
) -> InsightsData:
    """Heatmap, hashtags, velocity, top movers, outliers and cadence for the chosen accounts."""
    period = Period(start, end)
    posts = queries.posting_times(db, open_ids)
    velocity_inputs = queries.velocity_inputs(db, open_ids, start, end)
    velocity = metrics.velocity(velocity_inputs)
    gains = queries.period_gains(db, open_ids, start, end, limit=10)
    movers = metrics.top_movers(gains, n=10, tz=tz)
    # Growth curves of the period's best-moving videos, for the velocity chart.
    top_ids = [str(v) for v in movers.frame["video_id"].head(6)]
    curves = metrics.growth_curves(queries.growth_curves(db, top_ids))
    titles = video_labels(posts, tz)
    in_period = posts[(posts["create_time"] >= start) & (posts["create_time"] < end)]
    last = posts["captured_at"].dropna()
    hashtags = metrics.hashtag_performance(in_period, top=20)
    if not hashtags.enough_history:
        hashtags = replace(hashtags, note=(
            "No video posted in this period is 7+ days old yet (hashtags compare lifetime "
            "views of videos old enough to have had their run): pick a longer period."))
    return InsightsData(
        # All time, and the page says so: a weekday x time slot needs many posts.
        heatmap=metrics.posting_heatmap(posts, tz=tz),
        hashtags=hashtags,
        velocity=velocity,
        velocity_curves=curves,
        velocity_titles=titles,
        movers=movers,
        outliers=metrics.outliers(posts, posted_from=start, posted_to=end),
        cadence=metrics.posting_cadence(in_period, period, tz=tz,
                                        as_of_time=int(last.max()) if len(last) else None),
    )
