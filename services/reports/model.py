"""The weekly report: per account KPIs of one ISO week against the week before, top videos,
and a few sentences on what changed.

Built from the same queries (:mod:`analytics.queries`, aggregated in SQLite) and the same pure
functions (:func:`analytics.metrics.kpis`, :func:`analytics.metrics.top_movers`) as the
Overview and Insights pages, so the report and the Overview agree for the same period (a test
holds them equal). Every figure is a :class:`analytics.metrics.Metric` with its provenance and
as-of time; when the snapshots cannot answer, the figure is ``None`` with a note — never 0.

The tables (:meth:`WeeklyReport.summary`, :meth:`WeeklyReport.top_videos`,
:meth:`WeeklyReport.changes`, :meth:`WeeklyReport.sources`) are plain DataFrames described by
:data:`COLUMNS`, which the CSV/XLSX writers and the Sheets export read for headers and formats.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import sqlite_utils

from services.analytics import AccountRef, metrics, queries
from services.analytics.metrics import DAY, PROVENANCE_LABELS, Insight, Kpi, Metric, Period
from services.reports.weeks import IsoWeek

#: KPIs of the report, in table order (keys of :func:`services.analytics.metrics.kpis`).
KPI_KEYS = (
    "followers_gained",
    "views_gained",
    "likes_gained",
    "comments_gained",
    "shares_gained",
    "engagement_rate",
    "videos_posted",
)
TOP_VIDEOS = 5
#: Weeks before the report week that define an account's usual posting cadence.
USUAL_WEEKS = 8

Kind = Literal["text", "int", "percent", "date", "datetime", "link"]


@dataclass(frozen=True)
class Column:
    """How a report column is shown in every format: header text and number format."""

    name: str
    header: str
    kind: Kind = "text"
    width: int = 12


def _kpi_columns() -> list[Column]:
    out = []
    for key in KPI_KEYS:
        label = metrics.KPI_LABELS[key]
        kind: Kind = "percent" if key == "engagement_rate" else "int"
        out.append(Column(key, label, kind, 14))
        out.append(Column(f"{key}_prev", f"{label} (prev. week)", kind, 14))
        if key == "engagement_rate":
            out.append(Column(f"{key}_change", f"{label} change (points)", "percent", 14))
        else:
            out.append(Column(f"{key}_change", f"{label} change", "percent", 12))
    return out


#: Columns of each table, by table name (also the XLSX sheet / CSV file names).
COLUMNS: dict[str, list[Column]] = {
    "summary": [
        Column("week", "Week", "text", 10),
        Column("account", "Account", "text", 28),
        Column("open_id", "Open ID", "text", 18),
        Column("followers_start", "Followers at start", "int", 14),
        Column("followers_end", "Followers at end", "int", 14),
        *_kpi_columns(),
        Column("as_of", "Data as of (UTC)", "datetime", 18),
        Column("note", "Note", "text", 60),
    ],
    "top_videos": [
        Column("week", "Week", "text", 10),
        Column("account", "Account", "text", 28),
        Column("rank", "Rank", "int", 6),
        Column("title", "Video", "text", 48),
        Column("views_gained", "Views gained", "int", 14),
        Column("views_end", "Views at end", "int", 14),
        Column("posted", "Posted (UTC)", "datetime", 18),
        Column("link", "Link", "link", 40),
        Column("video_id", "Video ID", "text", 22),
    ],
    "changes": [
        Column("week", "Week", "text", 10),
        Column("account", "Account", "text", 28),
        Column("what_changed", "What changed", "text", 100),
    ],
    "sources": [
        Column("week", "Week", "text", 10),
        Column("account", "Account", "text", 28),
        Column("figure", "Figure", "text", 24),
        Column("value", "Value", "text", 14),
        Column("source", "Where it comes from", "text", 40),
        Column("as_of", "As of (UTC)", "datetime", 18),
        Column("note", "Note", "text", 60),
    ],
}
TABLE_TITLES = {
    "summary": "Summary",
    "top_videos": "Top videos",
    "changes": "What changed",
    "sources": "Sources",
}


def safe_tiktok_link(url: object) -> str | None:
    """``url`` if it is an https link on tiktok.com (or a subdomain), else None.

    Stored share URLs come from TikTok's API; anything else (another scheme, another host, a
    ``javascript:`` link) is never offered as a link.
    """
    if not isinstance(url, str) or not url or len(url) > 2048:
        return None
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username or parts.password:
        return None
    if host != "tiktok.com" and not host.endswith(".tiktok.com"):
        return None
    return url.strip()


@dataclass(frozen=True, eq=False)
class AccountWeek:
    """One account's week: KPIs against the previous week, top videos, what changed."""

    account: AccountRef
    followers_start: Metric
    followers_end: Metric
    kpis: dict[str, Kpi]
    top_videos: Insight
    changes: list[str]
    #: Weekly posts over the :data:`USUAL_WEEKS` weeks before (median: the account's "usual").
    usual_posts_per_week: float | None
    enough_history: bool
    note: str | None = None

    @property
    def as_of(self) -> datetime | None:
        moments = [k.current.as_of for k in self.kpis.values() if k.current.as_of]
        return max(moments) if moments else self.followers_end.as_of


@dataclass(frozen=True, eq=False)
class WeeklyReport:
    week: IsoWeek
    period: Period
    previous: Period
    tz: str
    accounts: list[AccountWeek]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def enough_history(self) -> bool:
        return any(a.enough_history for a in self.accounts)

    @property
    def title(self) -> str:
        return f"Weekly report {self.week.key} ({self.week.label()})"

    # -- tables --------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """One row per account; ``None`` (not 0) where history cannot answer."""
        rows = []
        for a in self.accounts:
            row: dict[str, object] = {
                "week": self.week.key,
                "account": a.account.label,
                "open_id": a.account.open_id,
                "followers_start": a.followers_start.value,
                "followers_end": a.followers_end.value,
            }
            for key in KPI_KEYS:
                kpi = a.kpis[key]
                row[key] = kpi.current.value
                row[f"{key}_prev"] = kpi.previous.value
                row[f"{key}_change"] = kpi.change if key == "engagement_rate" else kpi.change_pct
            row["as_of"] = _naive_utc(a.as_of)
            row["note"] = a.note or ""
            rows.append(row)
        return _table(rows, "summary")

    def top_videos(self) -> pd.DataFrame:
        rows = []
        for a in self.accounts:
            for rank, video in enumerate(a.top_videos.frame.itertuples(index=False), start=1):
                rows.append(
                    {
                        "week": self.week.key,
                        "account": a.account.label,
                        "rank": rank,
                        "title": _video_title(video.title, video.video_id),
                        "views_gained": _int(video.views_gained),
                        "views_end": _int(video.views_end),
                        "posted": _naive_utc(metrics.as_of(video.create_time)),
                        "link": safe_tiktok_link(video.share_url),
                        "video_id": str(video.video_id),
                    }
                )
        return _table(rows, "top_videos")

    def changes(self) -> pd.DataFrame:
        rows = [
            {"week": self.week.key, "account": a.account.label, "what_changed": line}
            for a in self.accounts
            for line in a.changes
        ]
        return _table(rows, "changes")

    def sources(self) -> pd.DataFrame:
        """Every figure of the summary with where it comes from and as of when."""
        rows = []
        for a in self.accounts:
            figures: list[tuple[str, Metric]] = [
                ("Followers at start", a.followers_start),
                ("Followers at end", a.followers_end),
            ]
            for key in KPI_KEYS:
                label = metrics.KPI_LABELS[key]
                figures.append((label, a.kpis[key].current))
                figures.append((f"{label} (prev. week)", a.kpis[key].previous))
            for name, metric in figures:
                rows.append(
                    {
                        "week": self.week.key,
                        "account": a.account.label,
                        "figure": name,
                        "value": format_metric(metric),
                        "source": PROVENANCE_LABELS[metric.provenance],
                        "as_of": _naive_utc(metric.as_of),
                        "note": metric.note or "",
                    }
                )
        return _table(rows, "sources")

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of the report by name (the order of sheets and files)."""
        return {
            "summary": self.summary(),
            "top_videos": self.top_videos(),
            "changes": self.changes(),
            "sources": self.sources(),
        }


def format_metric(metric: Metric) -> str:
    if metric.value is None:
        return "—"
    if metric.unit == "ratio":
        return f"{metric.value:.2%}"
    return f"{metric.value:,.0f}"


def _int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _video_title(title: object, video_id: object) -> str:
    text = title if isinstance(title, str) and title.strip() else ""
    return text.strip() or f"Video {video_id}"


def _naive_utc(moment: datetime | None) -> datetime | None:
    # Spreadsheet cells have no zone: write UTC wall-clock times and say so in the header.
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _table(rows: list[dict[str, object]], name: str) -> pd.DataFrame:
    names = [c.name for c in COLUMNS[name]]
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype="object") for n in names})
    return pd.DataFrame(rows, columns=names)


# --------------------------------------------------------------------------------------------
# building


def build_report(
    db: sqlite_utils.Database,
    accounts: Sequence[AccountRef],
    week: IsoWeek,
    tz: str,
    *,
    top_n: int = TOP_VIDEOS,
    usual_weeks: int = USUAL_WEEKS,
    now: datetime | None = None,
) -> WeeklyReport:
    """The report of ``week`` (local weeks in ``tz``) for ``accounts``.

    Queries: account series, video totals and posting times once for all accounts (over the
    previous week through this one, posts from ``usual_weeks`` earlier), then the week's top
    videos per account — the Overview's queries plus one ranked query per account.
    """
    period = week.bounds(tz)
    previous = week.previous().bounds(tz)
    usual_start = week.previous().bounds(tz).start - (usual_weeks - 1) * 7 * DAY
    open_ids = [a.open_id for a in accounts]
    series = queries.account_series(db, open_ids, previous.start, period.end)
    totals = queries.video_totals_series(db, open_ids, previous.start, period.end)
    posts = queries.posting_times(db, open_ids, usual_start, period.end)
    weeks = []
    for ref in accounts:
        mine = series[series["open_id"] == ref.open_id]
        my_totals = totals[totals["open_id"] == ref.open_id]
        my_posts = posts[posts["open_id"] == ref.open_id]
        gains = queries.period_gains(db, [ref.open_id], period.start, period.end, limit=top_n)
        weeks.append(
            _account_week(
                ref,
                mine,
                my_totals,
                my_posts,
                gains,
                period,
                previous,
                tz,
                top_n=top_n,
                usual_weeks=usual_weeks,
            )
        )
    return WeeklyReport(week, period, previous, tz, weeks, now or datetime.now(UTC))


def _account_week(
    ref: AccountRef,
    series: pd.DataFrame,
    totals: pd.DataFrame,
    posts: pd.DataFrame,
    gains: pd.DataFrame,
    period: Period,
    previous: Period,
    tz: str,
    *,
    top_n: int,
    usual_weeks: int,
) -> AccountWeek:
    kpis = metrics.kpis(series, totals, posts, period, previous, tz=tz)
    if len(totals) == 0:
        # Never synced (or no complete listing): the video list is unknown, so "0 videos
        # posted" would be a made-up number.
        note = "No complete sync yet: run a sync to list this account's videos."
        for key in ("videos_posted",):
            kpi = kpis[key]
            kpis[key] = Kpi(
                kpi.key,
                kpi.label,
                Metric(None, metrics.DERIVED, None, note, kpi.current.label),
                Metric(None, metrics.DERIVED, None, note, kpi.previous.label),
            )
    followers_start = metrics.level_at(
        series, "follower_count", period.start, tz=tz, label="Followers at start"
    )
    followers_end = kpis["followers"].current
    top = metrics.top_movers(gains, n=top_n, tz=tz)
    enough = any(kpis[k].current.available for k in ("followers_gained", "views_gained"))
    note = None
    if not enough:
        reason = kpis["views_gained"].current.note or kpis["followers_gained"].current.note
        note = f"Not enough snapshots for {_week_name(period, tz)}: {reason}"
    else:
        caveats = dict.fromkeys(
            k.current.note for k in kpis.values() if k.current.note and k.current.available
        )
        note = " ".join(caveats) or None
    usual = _usual_posts(posts, period, tz, usual_weeks)
    changes = _what_changed(kpis, top, usual, enough, note, usual_weeks)
    return AccountWeek(ref, followers_start, followers_end, kpis, top, changes, usual, enough, note)


def _week_name(period: Period, tz: str) -> str:
    return IsoWeek.at(datetime.fromtimestamp(period.start, UTC), tz).key


def _usual_posts(posts: pd.DataFrame, period: Period, tz: str, usual_weeks: int) -> float | None:
    """Median posts per ISO week over the ``usual_weeks`` weeks before ``period``."""
    if usual_weeks < 1:
        return None
    edges = [period.start]
    week = IsoWeek.at(datetime.fromtimestamp(period.start, UTC), tz)
    for _ in range(usual_weeks):
        week = week.previous()
        edges.insert(0, week.bounds(tz).start)
    created = posts["create_time"].to_numpy(dtype="int64") if len(posts) else np.array([])
    counts = [
        int(np.count_nonzero((created >= lo) & (created < hi)))
        for lo, hi in itertools.pairwise(edges)
    ]
    return float(np.median(counts))


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def _what_changed(
    kpis: dict[str, Kpi],
    top: Insight,
    usual: float | None,
    enough: bool,
    note: str | None,
    usual_weeks: int,
) -> list[str]:
    """A few plain sentences: best video, biggest mover, posting cadence against usual."""
    lines: list[str] = []
    if not enough:
        lines.append(note or "Not enough snapshots for this week.")
    if top.enough_history and len(top.frame):
        best = top.frame.iloc[0]
        title = _video_title(best["title"], best["video_id"])
        new = " (posted this week)" if best["baseline"] == "posted_in_period" else ""
        lines.append(
            f"Best video: “{_clip(title)}”{new}, {int(best['views_gained']):,} views gained."
        )
    mover = _biggest_mover(kpis)
    if mover:
        lines.append(mover)
    posted = kpis["videos_posted"].current.value
    if posted is not None and usual is not None:
        n = int(posted)
        if usual == 0 and n == 0:
            lines.append(f"No videos posted, as in the {usual_weeks} weeks before.")
        else:
            if n > usual * 1.25 or (usual == 0 and n > 0):
                verdict = "more than usual"
            elif n < usual * 0.75:
                verdict = "fewer than usual"
            else:
                verdict = "about the usual"
            lines.append(
                f"Posted {_plural(n, 'video')}, {verdict} (median {usual:g} a week over the "
                f"{usual_weeks} weeks before)."
            )
    return lines


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _biggest_mover(kpis: dict[str, Kpi]) -> str | None:
    best: tuple[float, str] | None = None
    for key in (
        "followers_gained",
        "views_gained",
        "likes_gained",
        "comments_gained",
        "shares_gained",
        "engagement_rate",
    ):
        kpi = kpis[key]
        cur, prev = kpi.current.value, kpi.previous.value
        if cur is None or prev is None or not prev:
            continue
        rel = (cur - prev) / abs(prev)
        if best is None or abs(rel) > best[0]:
            if key == "engagement_rate":
                text = (
                    f"Biggest mover: engagement rate {'rose' if rel > 0 else 'fell'} "
                    f"from {prev:.2%} to {cur:.2%}."
                )
            else:
                text = (
                    f"Biggest mover: {kpi.label.lower()} {'up' if rel > 0 else 'down'} "
                    f"{abs(rel):.0%} on the previous week ({cur:,.0f} against {prev:,.0f})."
                )
            best = (abs(rel), text)
    return None if best is None or best[0] == 0 else best[1]
