"""What each analytics page shows, assembled from queries (SQL) and metrics (pure functions).

Pages call one function per screen and get plain, picklable data back (so the dashboard can
keep it in ``st.cache_data`` keyed by accounts, period and the cache's data version); figures
are then drawn by ``services.analytics.charts``. Nothing here touches Streamlit or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import sqlite_utils

from services.analytics import metrics, queries
from services.analytics.metrics import Insight, Kpi, Period

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


#: The Insights page's sections, in tab order (set from ``_SECTIONS`` below). Each is computed
#: only when shown (lazy tabs): an Insights view costs one section's queries and figures, not
#: five (bench/README.md).
INSIGHT_SECTIONS: tuple[str, ...]
#: At most this many videos are drawn in the outlier scatter: every outlier up to
#: OUTLIER_EXTREMES a side, the rest an even sample (a year of a 50,000-video account has
#: thousands of videos; each point is ~100 bytes sent to the browser).
OUTLIER_POINTS = 1000
OUTLIER_EXTREMES = 250
#: Rows of the velocity table.
VELOCITY_ROWS = 15


@dataclass
class InsightsSection:
    """One Insights section's data; the fields of the other sections stay None."""

    section: str
    #: video_id -> "title · day" for the videos this section names (never TikTok's id).
    labels: dict[str, str] = field(default_factory=dict)
    movers: Insight | None = None
    velocity: Insight | None = None  # its frame: the table's rows only
    velocity_curves: Insight | None = None
    outliers: Insight | None = None
    heatmap: Insight | None = None
    cadence: metrics.Cadence | None = None
    hashtags: Insight | None = None


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


def insights_section(
    db: sqlite_utils.Database, open_ids: Sequence[str], start: int, end: int, tz: str,
    section: str,
) -> InsightsSection:
    """One section of the Insights page for the chosen accounts and period (see
    INSIGHT_SECTIONS): top movers, velocity, outliers, when to post (heatmap and cadence), or
    hashtags. Only that section's queries run."""
    if section not in INSIGHT_SECTIONS:
        raise ValueError(f"unknown Insights section {section!r}; one of {INSIGHT_SECTIONS}")
    return _SECTIONS[section](db, list(open_ids), start, end, tz)


def _labels(db: sqlite_utils.Database, video_ids, tz: str) -> dict[str, str]:
    ids = list(dict.fromkeys(str(v) for v in video_ids))
    return video_labels(queries.video_captions(db, ids), tz) if ids else {}


def _movers(db, open_ids, start, end, tz) -> InsightsSection:
    movers = metrics.top_movers(queries.period_gains(db, open_ids, start, end, limit=10),
                                n=10, tz=tz)
    return InsightsSection("movers", labels=_labels(db, movers.frame["video_id"], tz),
                           movers=movers)


def _velocity(db, open_ids, start, end, tz) -> InsightsSection:
    velocity = metrics.velocity(queries.velocity_inputs(db, open_ids, start, end))
    rows = velocity.frame.drop_duplicates("video_id")
    marks = [c for c in rows.columns if c.startswith("views_")]
    if marks:  # the table's rows: fastest first at the first mark
        rows = rows.sort_values(marks[0], ascending=False, na_position="last")
    rows = rows.head(VELOCITY_ROWS).reset_index(drop=True)
    # Early growth curves of the table's fastest starters (videos posted in the period).
    top_ids = [str(v) for v in rows["video_id"].head(6)]
    curves = metrics.growth_curves(queries.growth_curves(db, top_ids))
    return InsightsSection(
        "velocity", labels=_labels(db, [*rows["video_id"], *top_ids], tz),
        velocity=replace(velocity, frame=rows), velocity_curves=curves)


def _outliers(db, open_ids, start, end, tz) -> InsightsSection:
    # The median is the account's over all its videos; the answer is the period's videos.
    found = metrics.outliers(
        queries.video_reach(db, open_ids, start, end), posted_from=start, posted_to=end,
        medians=queries.median_views(db, open_ids, min_age_days=metrics.OUTLIER_MIN_AGE_DAYS))
    frame, drawn = _outlier_points(found.frame)
    # Ids and hover text for the drawn videos only.
    captions = queries.video_captions(db, video_keys=frame["video_key"].tolist())
    captions = captions.set_index("video_key")
    frame["video_id"] = frame["video_key"].map(captions["video_id"])
    frame["title"] = frame["video_key"].map(captions["title"])
    note = " ".join(n for n in (found.note, drawn) if n) or None
    return InsightsSection("outliers", outliers=replace(found, frame=frame, note=note))


def _outlier_points(frame: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """At most OUTLIER_POINTS rows for the scatter: the most extreme outliers each way, then an
    even sample of the rest (by views, so the cloud keeps its shape), and a sentence saying so."""
    if len(frame) <= OUTLIER_POINTS:
        return frame.reset_index(drop=True), None
    ratio = frame["ratio"].astype("float64")
    above = ratio[frame["flag"] == "above"].nlargest(OUTLIER_EXTREMES).index
    below = ratio[frame["flag"] == "below"].nsmallest(OUTLIER_EXTREMES).index
    rest = frame.drop(index=above.union(below))
    room = OUTLIER_POINTS - len(above) - len(below)
    ordered = rest.sort_values("view_count", kind="stable")
    picks = np.unique(np.linspace(0, len(ordered) - 1, num=room).round().astype(int))
    shown = pd.concat([frame.loc[above], frame.loc[below], ordered.iloc[picks]])
    note = (f"Drawn: {len(shown):,} of {len(frame):,} videos ("
            + ("every outlier" if len(above) + len(below) == int(frame["flag"].isin(
                ["above", "below"]).sum()) else f"the {OUTLIER_EXTREMES} furthest each way")
            + " and an even sample of the rest).")
    return shown.sort_values("create_time", kind="stable").reset_index(drop=True), note


def _timing(db, open_ids, start, end, tz) -> InsightsSection:
    reach = queries.video_reach(db, open_ids)
    created = reach["create_time"]
    in_period = reach[(created >= start) & (created < end)]
    last = reach["captured_at"].dropna()
    return InsightsSection(
        "timing",
        # All time, and the page says so: a weekday x time slot needs many posts.
        heatmap=metrics.posting_heatmap(reach, tz=tz),
        cadence=metrics.posting_cadence(in_period, Period(start, end), tz=tz,
                                        as_of_time=int(last.max()) if len(last) else None),
    )


def _hashtags(db, open_ids, start, end, tz) -> InsightsSection:
    in_period = queries.video_reach(db, open_ids, start, end)
    tags = queries.video_hashtags(db, open_ids, start, end)  # parsed once, at sync
    hashtags = metrics.hashtag_performance(in_period, top=20, tags=tags)
    if not hashtags.enough_history:
        hashtags = replace(hashtags, note=(
            "No video posted in this period is 7+ days old yet (hashtags compare lifetime "
            "views of videos old enough to have had their run): pick a longer period."))
    return InsightsSection("hashtags", hashtags=hashtags)


_SECTIONS = {"movers": _movers, "velocity": _velocity, "outliers": _outliers,
             "timing": _timing, "hashtags": _hashtags}
INSIGHT_SECTIONS = tuple(_SECTIONS)
