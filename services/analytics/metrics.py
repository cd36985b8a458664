"""Insights: pure functions over the small frames of :mod:`services.analytics.queries`.

Nothing here touches the database, the clock or Streamlit: every input is a frame or a number,
so each answer can be checked by hand (tests/services/test_metrics.py).

Where a number comes from (the architecture notes in README.md "Insights"), carried by every result
as ``provenance``:

- ``tiktok_lifetime``: a counter exactly as TikTok returned it at one snapshot (followers, a
  video's views). The Display API has no history
  (https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info): history exists only
  because Reelboard snapshots these counters at every sync.
- ``snapshot_difference``: the change of a lifetime counter between two of our snapshots
  (followers gained, views gained per day, top movers).
- ``derived``: computed from the above (engagement rate, medians, heatmap, hashtags, cadence).

Every result also carries ``as_of`` (aware UTC datetime of the newest snapshot it used) and,
when the history cannot answer, ``value=None`` / an empty frame with a ``note`` saying what is
missing and when it will be there. Never a zero in place of "we don't know".

Design choices, stated once:

- **Gains between snapshots** are computed by linear interpolation of the lifetime counter
  between consecutive snapshots, i.e. a difference across a gap is *spread evenly over time*.
  A day (or ISO week) gets ``counter(end of day) - counter(start of day)``. Days the
  snapshots do not reach at all are ``missing`` (NaN, not 0); days only partly covered
  (before the first or after the last snapshot) are ``partial``; days whose edge falls inside
  a gap longer than ``max_gap_hours`` (36 h) are ``estimated``. Days and ISO weeks (Monday
  00:00) are calendar days in the viewer's IANA time zone, so they are 23 or 25 h long
  across daylight-saving changes.
- **Engagement rate** = (likes + comments + shares) / views, interactions per view. For a
  period it uses the gains of the period; for a video its lifetime counters. Undefined
  (None) with no views. Per view rather than per follower, so accounts of any size compare;
  saves and watch time are not in the Display API.
- **Velocity** at 24 h / 7 d / 28 d is the views counter of the snapshot nearest
  ``create_time + mark``, if within ±25 % of the mark (±6 h, ±42 h, ±7 d); a snapshot
  before the mark is used only when a later one exists too (otherwise the video has not
  reached the mark in our data yet). The age actually observed is returned with the value.
- **Period-over-period** KPIs compare like with like: when the current period is still
  running (its last snapshot is before its end), the previous period is cut to the same
  elapsed time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from services.analytics.hashtags import parse_hashtags

Provenance = Literal["tiktok_lifetime", "snapshot_difference", "derived"]
TIKTOK_LIFETIME: Provenance = "tiktok_lifetime"
SNAPSHOT_DIFFERENCE: Provenance = "snapshot_difference"
DERIVED: Provenance = "derived"

PROVENANCE_LABELS: dict[str, str] = {
    TIKTOK_LIFETIME: "TikTok lifetime counter",
    SNAPSHOT_DIFFERENCE: "difference between Reelboard snapshots",
    DERIVED: "derived from Reelboard snapshots",
}

Freq = Literal["day", "week"]
BucketStatus = Literal["observed", "estimated", "partial", "missing"]

HOUR = 3600
DAY = 86_400
#: A snapshot interval longer than this makes the days whose edge it spans "estimated".
MAX_GAP_HOURS = 36
#: A gain estimated over more than this share of its period is not shown as a number: three
#: months between two snapshots say nothing about last week.
ESTIMATED_SHARE_LIMIT = 0.5
NOT_ENOUGH_SNAPSHOTS = "Not enough snapshots"
VELOCITY_MARKS_HOURS = (24, 168, 672)
VELOCITY_TOLERANCE = 0.25
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: Human names of counters and of the gains computed from them.
GAINED_NAMES: dict[str, str] = {
    "follower_count": "followers_gained",
    "following_count": "following_gained",
    "likes_count": "likes_gained",
    "video_count": "videos_gained",
    "view_count": "views_gained",
    "like_count": "likes_gained",
    "comment_count": "comments_gained",
    "share_count": "shares_gained",
}
_NOT_COUNTERS = {"open_id", "captured_at", "videos_counted"}


# --------------------------------------------------------------------------------------------
# value types


@dataclass(frozen=True)
class Metric:
    """One number with where it comes from and as of when; ``value`` None = not available."""

    value: float | int | None
    provenance: Provenance
    as_of: datetime | None
    note: str | None = None
    label: str = ""
    #: "count", "ratio" (0.042 = 4.2 %), "per_week", "hours" or "days".
    unit: str = "count"
    #: Share of the measured window (0..1) lying between snapshots more than MAX_GAP_HOURS
    #: apart, where the change is spread evenly rather than observed. Above
    #: ESTIMATED_SHARE_LIMIT the value is withheld (None).
    estimated_share: float = 0.0

    @property
    def available(self) -> bool:
        return self.value is not None

    @property
    def estimated(self) -> bool:
        """Whether part of the number is a linear estimate across a gap in snapshots."""
        return self.estimated_share > 0

    def source(self, tz: str = "UTC") -> str:
        """E.g. "TikTok lifetime counter, as of 3 Jun 2026 05:00"."""
        text = PROVENANCE_LABELS[self.provenance]
        return text if self.as_of is None else f"{text}, as of {format_time(self.as_of, tz)}"


@dataclass(frozen=True, eq=False)
class Insight:
    """A frame answer with its provenance; an empty frame and a ``note`` when history is short.

    ``note`` may also be a caveat on a usable answer ("2 videos could not be measured");
    ``enough_history`` tells the two apart.
    """

    frame: pd.DataFrame
    provenance: Provenance
    as_of: datetime | None
    note: str | None = None
    enough_history: bool = True

    def source(self, tz: str = "UTC") -> str:
        text = PROVENANCE_LABELS[self.provenance]
        return text if self.as_of is None else f"{text}, as of {format_time(self.as_of, tz)}"


@dataclass(frozen=True)
class Kpi:
    """A KPI card: this period, the previous one, and the change."""

    key: str
    label: str
    current: Metric
    previous: Metric

    @property
    def change(self) -> float | None:
        """Absolute change (for ratios: in ratio points, 0.01 = 1 percentage point)."""
        if self.current.value is None or self.previous.value is None:
            return None
        return self.current.value - self.previous.value

    @property
    def change_pct(self) -> float | None:
        """Relative change (0.25 = +25 %); None when the previous value is 0 or missing."""
        change = self.change
        if change is None or not self.previous.value:
            return None
        return change / abs(self.previous.value)


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in Unix seconds."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"a period must end after it starts ({self.start} >= {self.end})")

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - self.seconds, self.start)

    @classmethod
    def last_days(cls, days: int, now: datetime, tz: str) -> Period:
        """Today (so far) and the ``days - 1`` calendar days before it, in ``tz``."""
        local_today = now.astimezone(zone(tz)).date()
        start = _local_midnight(local_today - timedelta(days=days - 1), tz)
        return cls(start, int(now.timestamp()))

    @classmethod
    def iso_week(cls, now: datetime, tz: str, weeks_back: int = 0) -> Period:
        """The ISO week (Monday 00:00 to Monday 00:00 in ``tz``) containing ``now``, or one
        ``weeks_back`` before it."""
        local_day = now.astimezone(zone(tz)).date()
        monday = local_day - timedelta(days=local_day.weekday(), weeks=weeks_back)
        return cls(_local_midnight(monday, tz), _local_midnight(monday + timedelta(7), tz))


# --------------------------------------------------------------------------------------------
# time helpers


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz``; ValueError with a usable message if unknown."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"Unknown time zone {tz!r}: use an IANA name such as 'Europe/Berlin'."
        ) from exc


def _local_midnight(day: date, tz: str) -> int:
    return int(datetime.combine(day, time(0), tzinfo=zone(tz)).timestamp())


def as_of(epoch: float | None) -> datetime | None:
    """Unix seconds to an aware UTC datetime (None stays None)."""
    if epoch is None or (isinstance(epoch, float) and math.isnan(epoch)) or epoch is pd.NA:
        return None
    return datetime.fromtimestamp(int(epoch), UTC)


def format_time(moment: datetime | int, tz: str = "UTC", *, with_time: bool = True) -> str:
    """Format as "3 Jun 2026 05:00" in ``tz`` (no leading zero on the day)."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(int(moment), UTC)
    local = moment.astimezone(zone(tz))
    text = f"{local.day} {local:%b %Y}"
    return f"{text} {local:%H:%M}" if with_time else text


def to_local(epochs: pd.Series, tz: str) -> pd.Series:
    """Unix seconds to tz-aware timestamps in ``tz`` (NA stays NaT)."""
    zone(tz)
    return pd.to_datetime(epochs.astype("Float64"), unit="s", utc=True).dt.tz_convert(tz)


def bucket_edges(start: int, end: int, freq: Freq, tz: str) -> list[int]:
    """Local midnights (every day, or every Monday for ISO weeks) from the one at or before
    ``start`` to the first at or after ``end``."""
    if freq not in ("day", "week"):
        raise ValueError(f"freq must be 'day' or 'week', not {freq!r}")
    if end <= start:
        raise ValueError("end must be after start")
    first = datetime.fromtimestamp(start, zone(tz)).date()
    step = 1
    if freq == "week":
        first -= timedelta(days=first.weekday())
        step = 7
    edges: list[int] = []
    day = first
    while not edges or edges[-1] < end:
        edges.append(_local_midnight(day, tz))
        day += timedelta(days=step)
    if len(edges) == 1:
        edges.append(_local_midnight(day, tz))
    return edges


# --------------------------------------------------------------------------------------------
# counters between snapshots


def _points(series: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (time, value) of non-missing readings of ``column`` (the last of equal times).

    NumPy rather than pandas' dropna/sort/drop_duplicates: the Overview calls this a dozen
    times per account on frames of a few dozen rows, where pandas' per-call cost dominated.
    """
    times = series["captured_at"].to_numpy(dtype="float64", na_value=np.nan)
    values = series[column].to_numpy(dtype="float64", na_value=np.nan)
    keep = ~(np.isnan(times) | np.isnan(values))
    times, values = times[keep], values[keep]
    order = np.argsort(times, kind="stable")
    times, values = times[order], values[order]
    last = np.append(times[1:] != times[:-1], True) if len(times) else np.array([], dtype=bool)
    return times[last].astype("int64"), values[last]


def _in_long_gap(times: np.ndarray, moment: float, max_gap: float) -> bool:
    """Whether ``moment`` falls strictly inside an interval between snapshots > max_gap."""
    i = int(np.searchsorted(times, moment, side="right"))
    if i == 0 or i >= len(times) or times[i - 1] == moment:
        return False
    return bool(times[i] - times[i - 1] > max_gap)


def estimated_share(times: np.ndarray, start: float, end: float, max_gap: float) -> float:
    """Share of ``[start, end]`` whose growth is interpolated: the parts of the snapshot
    intervals longer than ``max_gap`` seconds that contain the window's edges.

    A gain is the difference of the counter at the two edges, so only an edge that falls inside
    a long interval is a guess (how much of that interval's growth happened before the edge).
    Long intervals strictly inside the window do not count: both of their ends are measured, so
    the growth across them is exact (a compacted, weekly history still gives exact weekly
    gains).
    """
    if end <= start or len(times) < 2:
        return 0.0
    long_edges: set[tuple[float, float]] = set()
    for edge in (start, end):
        i = int(np.searchsorted(times, edge, side="right"))
        if 0 < i < len(times) and times[i - 1] != edge:
            lo, hi = float(times[i - 1]), float(times[i])
            if hi - lo > max_gap:
                long_edges.add((lo, hi))
    covered = sum(max(0.0, min(hi, end) - max(lo, start)) for lo, hi in long_edges)
    return float(min(covered / (end - start), 1.0))


def _one_account(series: pd.DataFrame, what: str) -> pd.DataFrame:
    if "open_id" in series.columns and series["open_id"].nunique() > 1:
        raise ValueError(f"{what} takes one account's rows; filter the frame by open_id first")
    return series


def _history_note(times: np.ndarray, start: int, tz: str) -> str | None:
    """Why a window starting at ``start`` cannot be measured, or None if it can."""
    if len(times) == 0:
        return "No snapshots yet: run a sync to start Reelboard's history."
    if len(times) == 1:
        return (
            f"Needs at least 2 snapshots; you have 1 (from {format_time(int(times[0]), tz)}). "
            "Gains appear after the next sync."
        )
    if times[0] > start:
        return (
            f"Reelboard's history starts {format_time(int(times[0]), tz)}, after this period "
            f"began ({format_time(start, tz)}); gains need a snapshot at or before its start."
        )
    if times[-1] <= start:
        return f"No snapshot since {format_time(start, tz)}: run a sync."
    return None


def gained_between(
    series: pd.DataFrame,
    column: str,
    start: int,
    end: int,
    *,
    tz: str = "UTC",
    max_gap_hours: float = MAX_GAP_HOURS,
    label: str = "",
    allow_late_start: bool = False,
) -> Metric:
    """How much the counter ``column`` grew from ``start`` to ``end`` (one account).

    ``allow_late_start``: when history begins inside the window, measure from its first
    snapshot and say so in the note (for the current period of a KPI; never for the period it
    is compared with, where a shorter window would fake a change).

    Interpolated between the snapshots either side of each edge; if the last snapshot is
    before ``end``, measured up to it (``as_of`` says so). None with a note when no snapshot
    is at or before ``start``.
    """
    times, values = _points(_one_account(series, "gained_between"), column)
    note = _history_note(times, start, tz)
    late_start = None
    if (allow_late_start and note is not None and len(times) >= 2
            and start < times[0] < min(end, times[-1])):
        # History began inside the period: measure what we have, and say so, rather than
        # show nothing for the whole period (the usual case in an account's first weeks).
        late_start, note = int(times[0]), None
        start = late_start
    if note is not None:
        return Metric(
            None,
            SNAPSHOT_DIFFERENCE,
            as_of(times[-1]) if len(times) else None,
            note,
            label or GAINED_NAMES.get(column, column),
        )
    upto = min(end, int(times[-1]))
    gained = float(np.interp(upto, times, values) - np.interp(start, times, values))
    name = label or GAINED_NAMES.get(column, column)
    share = estimated_share(times, start, upto, max_gap_hours * HOUR)
    if share > ESTIMATED_SHARE_LIMIT:
        return Metric(
            None, SNAPSHOT_DIFFERENCE, as_of(upto),
            f"{NOT_ENOUGH_SNAPSHOTS}: {share:.0%} of this period lies between snapshots more "
            f"than {max_gap_hours:g} h apart, so the figure would be a guess. Sync at least "
            "daily to measure it.",
            name, estimated_share=share,
        )
    caveats = []
    if share > 0:
        caveats.append(f"Partly estimated: {share:.0%} of this period lies between snapshots "
                       f"more than {max_gap_hours:g} h apart; the change there is spread evenly.")
    if late_start is not None:
        caveats.append(f"Since {format_time(late_start, tz)} only, when Reelboard's history "
                       "starts.")
    return Metric(
        round(gained), SNAPSHOT_DIFFERENCE, as_of(upto), " ".join(caveats) or None, name,
        estimated_share=share,
    )


def level_at(
    series: pd.DataFrame, column: str, at: int, *, tz: str = "UTC", label: str = ""
) -> Metric:
    """The lifetime counter as of the last snapshot at or before ``at`` (one account)."""
    times, values = _points(_one_account(series, "level_at"), column)
    upto = times[times <= at]
    if len(upto) == 0:
        note = (
            "No snapshots of this counter yet: run a sync (or grant the permission it needs)."
            if len(times) == 0
            else f"Reelboard's history starts {format_time(int(times[0]), tz)}."
        )
        return Metric(None, TIKTOK_LIFETIME, None, note, label or column)
    i = len(upto) - 1
    return Metric(int(values[i]), TIKTOK_LIFETIME, as_of(times[i]), None, label or column)


def engagement_rate(likes: float, comments: float, shares: float, views: float) -> float | None:
    """(likes + comments + shares) / views; None without views (see module docstring)."""
    if views is None or pd.isna(views) or views <= 0:
        return None
    parts = [0 if pd.isna(x) else x for x in (likes, comments, shares)]
    return float(sum(parts)) / float(views)


def engagement_rates(frame: pd.DataFrame) -> pd.Series:
    """Vectorised :func:`engagement_rate` over like/comment/share/view_count columns."""
    interactions = sum(
        frame[c].astype("Float64").fillna(0) for c in ("like_count", "comment_count", "share_count")
    )
    views = frame["view_count"].astype("Float64")
    rate = interactions / views.where(views > 0)
    return rate.astype("float64")


# --------------------------------------------------------------------------------------------
# Overview: trends, gains per day/week, KPIs


def trend(series: pd.DataFrame, columns: Sequence[str], *, tz: str) -> Insight:
    """Lifetime counters over time per account (followers, likes ...), with local times.

    Frame: open_id, captured_at, time (tz-aware, ``tz``), then ``columns``.
    """
    frame = series[["open_id", "captured_at", *columns]].copy()
    frame = frame.sort_values(["open_id", "captured_at"], kind="stable").reset_index(drop=True)
    frame.insert(2, "time", to_local(frame["captured_at"], tz))
    newest = as_of(frame["captured_at"].max()) if len(frame) else None
    counts = frame.groupby("open_id").size()
    if len(frame) == 0 or counts.max() < 2:
        have = 0 if len(frame) == 0 else int(counts.max())
        return Insight(
            frame,
            TIKTOK_LIFETIME,
            newest,
            f"A trend needs at least 2 snapshots; you have {have}.",
            enough_history=False,
        )
    return Insight(frame, TIKTOK_LIFETIME, newest)


def gained_per_period(
    series: pd.DataFrame,
    *,
    freq: Freq,
    tz: str,
    start: int,
    end: int,
    columns: Sequence[str] | None = None,
    max_gap_hours: float = MAX_GAP_HOURS,
) -> Insight:
    """Counter gains per local day or ISO week, per account (see module docstring).

    ``series`` is :func:`services.analytics.queries.account_series` or ``video_totals_series`` (it
    carries a snapshot either side of the window, so the edges interpolate). Frame: open_id,
    period_start, period_end (tz-aware), status (observed / estimated / partial / missing),
    coverage (share of the bucket between the first and last snapshot), snapshots (taken in
    the bucket), then ``<name>_gained`` per column (NaN when missing).
    """
    if columns is None:
        columns = [c for c in series.columns if c not in _NOT_COUNTERS]
    edges = np.array(bucket_edges(start, end, freq, tz), dtype="int64")
    lo_edges, hi_edges = edges[:-1], edges[1:]
    gap = max_gap_hours * HOUR
    names = [GAINED_NAMES.get(c, f"{c}_gained") for c in columns]
    frames = []
    open_ids = list(dict.fromkeys(series["open_id"])) if len(series) else []
    best = 0
    for open_id in open_ids:
        rows = series[series["open_id"] == open_id]
        times = np.unique(rows["captured_at"].to_numpy(dtype="int64"))
        best = max(best, len(times))
        out = pd.DataFrame({"open_id": open_id, "lo": lo_edges, "hi": hi_edges})
        if len(times) >= 2:
            lo = np.maximum(lo_edges, times[0])
            hi = np.minimum(hi_edges, times[-1])
        else:
            lo, hi = lo_edges, lo_edges
        covered = hi > lo
        out["coverage"] = np.where(covered, (hi - lo) / (hi_edges - lo_edges), 0.0)
        status = np.full(len(out), "missing", dtype=object)
        for i in np.flatnonzero(covered):
            if out["coverage"].iat[i] < 1.0:
                status[i] = "partial"
            elif _in_long_gap(times, lo[i], gap) or _in_long_gap(times, hi[i], gap):
                status[i] = "estimated"
            else:
                status[i] = "observed"
        out["status"] = status
        out["snapshots"] = [
            int(np.count_nonzero((times >= a) & (times < b)))
            for a, b in zip(lo_edges, hi_edges, strict=True)
        ]
        for column, name in zip(columns, names, strict=True):
            t, v = _points(rows, column)
            if len(t) < 2:
                out[name] = np.nan
                continue
            a = np.clip(lo, t[0], t[-1])
            b = np.clip(hi, t[0], t[-1])
            gained = np.interp(b, t, v) - np.interp(a, t, v)
            out[name] = np.where(covered & (b > a), gained, np.nan)
        frames.append(out)
    if frames:
        frame = pd.concat(frames, ignore_index=True)
    else:
        frame = pd.DataFrame(
            {
                "open_id": pd.Series(dtype="str"),
                "lo": pd.Series(dtype="int64"),
                "hi": pd.Series(dtype="int64"),
                "coverage": pd.Series(dtype="float64"),
                "status": pd.Series(dtype="str"),
                "snapshots": pd.Series(dtype="int64"),
                **{n: pd.Series(dtype="float64") for n in names},
            }
        )
    frame.insert(1, "period_start", to_local(frame["lo"], tz))
    frame.insert(2, "period_end", to_local(frame["hi"], tz))
    frame = frame.drop(columns=["lo", "hi"])
    frame = frame[
        ["open_id", "period_start", "period_end", "status", "coverage", "snapshots", *names]
    ]
    newest = as_of(series["captured_at"].max()) if len(series) else None
    if best < 2:
        return Insight(
            frame,
            SNAPSHOT_DIFFERENCE,
            newest,
            f"Gains per {freq} need at least 2 snapshots; you have {best}. "
            "They appear after the next sync.",
            enough_history=False,
        )
    if not (frame["status"] != "missing").any():
        return Insight(
            frame,
            SNAPSHOT_DIFFERENCE,
            newest,
            "No snapshots reach this period.",
            enough_history=False,
        )
    return Insight(frame, SNAPSHOT_DIFFERENCE, newest)


KPI_LABELS: dict[str, str] = {
    "followers": "Followers",
    "followers_gained": "Followers gained",
    "views_gained": "Views gained",
    "likes_gained": "Likes gained",
    "comments_gained": "Comments gained",
    "shares_gained": "Shares gained",
    "engagement_rate": "Engagement rate",
    "videos_posted": "Videos posted",
}


def _elapsed_end(series: pd.DataFrame, period: Period) -> int:
    """Where the current period's data stops: its end, or the last snapshot if earlier."""
    if len(series) == 0:
        return period.end
    last = int(series["captured_at"].max())
    return max(period.start, min(period.end, last))


def kpis(
    account_series: pd.DataFrame,
    video_totals: pd.DataFrame,
    posts: pd.DataFrame,
    period: Period,
    previous: Period,
    *,
    tz: str = "UTC",
) -> dict[str, Kpi]:
    """The Overview's KPI cards for one account, with period-over-period change.

    ``account_series`` / ``video_totals`` from the queries of the same name over
    ``[previous.start, period.end]``; ``posts`` from ``posting_times`` over the same span.
    Keys: followers (lifetime level), followers_gained, views_gained, likes_gained,
    comments_gained, shares_gained (snapshot differences), engagement_rate, videos_posted
    (derived). If the current period is still running, the previous one is cut to the same
    elapsed time.
    """
    _one_account(account_series, "kpis")
    _one_account(video_totals, "kpis")
    out: dict[str, Kpi] = {}

    def window_pair(frame: pd.DataFrame) -> tuple[Period, Period]:
        cur_end = _elapsed_end(frame, period)
        # Like for like while the period runs; with no data in it yet, the whole previous one.
        elapsed = cur_end - period.start
        prev_end = min(previous.end, previous.start + elapsed) if elapsed > 0 else previous.end
        cur = Period(period.start, max(cur_end, period.start + 1))
        prev = Period(previous.start, max(prev_end, previous.start + 1))
        return cur, prev

    cur, prev = window_pair(account_series)
    out["followers"] = Kpi(
        "followers",
        KPI_LABELS["followers"],
        level_at(account_series, "follower_count", cur.end, tz=tz, label="Followers"),
        level_at(account_series, "follower_count", prev.end, tz=tz, label="Followers"),
    )
    out["followers_gained"] = Kpi(
        "followers_gained",
        KPI_LABELS["followers_gained"],
        gained_between(account_series, "follower_count", cur.start, cur.end, tz=tz,
                       allow_late_start=True),
        gained_between(account_series, "follower_count", prev.start, prev.end, tz=tz),
    )

    cur, prev = window_pair(video_totals)
    gains: dict[str, tuple[Metric, Metric]] = {}
    for column in ("view_count", "like_count", "comment_count", "share_count"):
        key = GAINED_NAMES[column]
        pair = (
            gained_between(video_totals, column, cur.start, cur.end, tz=tz,
                           allow_late_start=True),
            gained_between(video_totals, column, prev.start, prev.end, tz=tz),
        )
        gains[key] = pair
        out[key] = Kpi(key, KPI_LABELS[key], *pair)

    def rate(which: int) -> Metric:
        views, likes, comments, shares = (
            gains[k][which]
            for k in ("views_gained", "likes_gained", "comments_gained", "shares_gained")
        )
        share = max(x.estimated_share for x in (views, likes, comments, shares))
        if not views.available:
            return Metric(None, DERIVED, views.as_of, views.note, "Engagement rate", "ratio",
                          estimated_share=share)
        value = engagement_rate(likes.value, comments.value, shares.value, views.value)
        note = views.note if value is not None else "No views gained in this period."
        return Metric(value, DERIVED, views.as_of, note, "Engagement rate", "ratio",
                      estimated_share=share)

    out["engagement_rate"] = Kpi("engagement_rate", KPI_LABELS["engagement_rate"], rate(0), rate(1))

    created = posts["create_time"].to_numpy(dtype="int64") if len(posts) else np.array([])
    synced = as_of(video_totals["captured_at"].max()) if len(video_totals) else None

    def posted(window: Period) -> Metric:
        count = int(np.count_nonzero((created >= window.start) & (created < window.end)))
        return Metric(count, DERIVED, synced, None, "Videos posted")

    out["videos_posted"] = Kpi(
        "videos_posted", KPI_LABELS["videos_posted"], posted(cur), posted(prev)
    )
    return out


# --------------------------------------------------------------------------------------------
# Videos page


def video_table(latest: pd.DataFrame, *, tz: str) -> pd.DataFrame:
    """The Videos table: :func:`services.analytics.queries.latest_video_stats` plus derived columns.

    Adds posted (tz-aware, ``tz``), age_days (at the snapshot), engagement_rate and
    views_per_day (lifetime views / age, for videos at least a day old).
    """
    table = latest.copy()
    table["posted"] = to_local(table["create_time"], tz)
    age = (table["captured_at"].astype("Float64") - table["create_time"]) / DAY
    table["age_days"] = age.astype("float64")
    table["engagement_rate"] = engagement_rates(table)
    views = table["view_count"].astype("Float64")
    table["views_per_day"] = (views / age.where(age >= 1)).astype("float64")
    return table


def sparkline_lists(sparks: pd.DataFrame) -> dict[str, list[int]]:
    """video_id -> views readings oldest first (for ``st.column_config.LineChartColumn``)."""
    clean = sparks.dropna(subset=["view_count"]).sort_values(["video_id", "captured_at"])
    return {
        str(vid): [int(x) for x in group["view_count"]]
        for vid, group in clean.groupby("video_id", sort=False)
    }


#: Views/day needs at least a day of history (a reading at posting counts); younger videos
#: are "new" rather than a pace extrapolated from a few hours.
MIN_RATE_HOURS = 24


def daily_gain_lists(sparks: pd.DataFrame) -> dict[str, list[int]]:
    """video_id -> views gained per day between consecutive readings, oldest first.

    The Videos table's sparkline: the real daily pace from our snapshots (a lifetime counter
    only ever rises, so its own line says little). One reading gives an empty list.
    """
    clean = sparks.dropna(subset=["view_count"]).sort_values(["video_id", "captured_at"])
    out: dict[str, list[int]] = {}
    for vid, group in clean.groupby("video_id", sort=False):
        t = group["captured_at"].to_numpy(dtype="float64")
        v = group["view_count"].to_numpy(dtype="float64")
        dt = np.diff(t) / DAY
        ok = dt > 0
        out[str(vid)] = np.rint(np.diff(v)[ok] / dt[ok]).astype("int64").tolist()
    return out


#: A video first snapshotted within this long of posting gets a 0-views reading at its
#: create_time (a video starts at 0 views), so its early pace is measured from posting.
POSTING_READING_HOURS = 48


def with_posting_reading(
    sparks: pd.DataFrame, created: pd.Series, *, within_hours: float = POSTING_READING_HOURS
) -> pd.DataFrame:
    """``sparks`` plus a (create_time, 0 views) reading for each video whose first snapshot
    was taken within ``within_hours`` of posting. ``created``: create_time by video_id."""
    if len(sparks) == 0:
        return sparks
    first = sparks.groupby("video_id")["captured_at"].min()
    posted = created.reindex(first.index)
    young = first[(first - posted <= within_hours * HOUR) & (first > posted)].index
    if len(young) == 0:
        return sparks
    zeros = pd.DataFrame(
        {
            "video_id": young.astype("str"),
            "captured_at": posted[young].to_numpy(dtype="int64"),
            "view_count": pd.array([0] * len(young), dtype="Int64"),
        }
    )
    return pd.concat([zeros, sparks[zeros.columns]], ignore_index=True)


def recent_views_per_day(
    sparks: pd.DataFrame, *, min_hours: float = MIN_RATE_HOURS
) -> dict[str, float | None]:
    """video_id -> views gained per day over the last day of snapshots (None: too new).

    From the latest reading back to the last one at least a day before it; None when the
    readings span less than ``min_hours``.
    """
    clean = sparks.dropna(subset=["view_count"]).sort_values(["video_id", "captured_at"])
    out: dict[str, float | None] = {}
    for vid, group in clean.groupby("video_id", sort=False):
        t = group["captured_at"].to_numpy(dtype="float64")
        v = group["view_count"].to_numpy(dtype="float64")
        earlier = np.flatnonzero(t <= t[-1] - DAY)
        i = int(earlier[-1]) if len(earlier) else 0
        span = t[-1] - t[i]
        out[str(vid)] = (
            float((v[-1] - v[i]) / (span / DAY)) if span >= min_hours * HOUR else None
        )
    return out


def growth_curves(history: pd.DataFrame) -> Insight:
    """Snapshots of one or more videos against time since posting (growth/velocity curves).

    ``history`` from ``video_history`` or ``growth_curves``. Adds hours_since_posting and
    days_since_posting; readings taken before ``create_time`` (clock skew) are dropped.
    """
    frame = history.copy()
    frame["hours_since_posting"] = (frame["captured_at"] - frame["create_time"]) / HOUR
    frame = frame[frame["hours_since_posting"] >= 0].reset_index(drop=True)
    frame["days_since_posting"] = frame["hours_since_posting"] / 24
    newest = as_of(frame["captured_at"].max()) if len(frame) else None
    if len(frame) == 0:
        return Insight(
            frame,
            TIKTOK_LIFETIME,
            None,
            "No snapshots of this video yet: it appears after the next sync.",
            enough_history=False,
        )
    per_video = frame.groupby("video_id").size()
    if per_video.max() < 2:
        return Insight(
            frame,
            TIKTOK_LIFETIME,
            newest,
            "A growth curve needs at least 2 snapshots; you have 1.",
            enough_history=False,
        )
    return Insight(frame, TIKTOK_LIFETIME, newest)


# --------------------------------------------------------------------------------------------
# Insights page


def mark_label(hours: int) -> str:
    """24 -> "24h", 168 -> "7d", 672 -> "28d"."""
    return f"{hours // 24}d" if hours % 24 == 0 and hours > 24 else f"{hours}h"


def _floats(series: pd.Series) -> np.ndarray:
    return series.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)


def velocity(inputs: pd.DataFrame, *, tolerance: float = VELOCITY_TOLERANCE) -> Insight:
    """Views reached 24 h / 7 d / 28 d after posting, per video (see module docstring).

    ``inputs`` from :func:`analytics.queries.velocity_inputs`. Frame: one row per video with
    video_id, open_id, create_time and, per mark (e.g. ``24h``): ``views_24h``,
    ``observed_hours_24h`` (age of the snapshot used), ``status_24h``: ok / not_yet (the
    video has not reached the mark in our snapshots) / no_snapshot_near_mark (no snapshot
    within the tolerance, e.g. history started later or a sync gap).
    """
    frame = inputs[["video_id", "open_id", "create_time"]].drop_duplicates("video_id")
    frame = frame.reset_index(drop=True)
    marks = sorted({int(h) for h in inputs["mark_hours"]}) if len(inputs) else []
    newest = -1.0
    for hours in marks:
        rows = inputs[inputs["mark_hours"] == hours].drop_duplicates("video_id")
        rows = rows.set_index("video_id").reindex(frame["video_id"])
        mark = _floats(rows["mark_at"])
        before_at, before_views = _floats(rows["before_at"]), _floats(rows["before_views"])
        after_at, after_views = _floats(rows["after_at"]), _floats(rows["after_views"])
        after_ok = ~np.isnan(after_at) & ~np.isnan(after_views)
        before_ok = ~np.isnan(before_at) & ~np.isnan(before_views)
        # Ties go to the later snapshot; a lone earlier one means the mark isn't reached yet.
        use_before = before_ok & after_ok & ((mark - before_at) < (after_at - mark))
        at = np.where(use_before, before_at, after_at)
        views = np.where(use_before, before_views, after_views)
        ok = after_ok & (np.abs(at - mark) <= tolerance * hours * HOUR)
        label = mark_label(hours)
        frame[f"views_{label}"] = np.where(ok, views, np.nan)
        frame[f"observed_hours_{label}"] = np.where(
            ok, (at - frame["create_time"].to_numpy(dtype="float64")) / HOUR, np.nan
        )
        status = np.where(~after_ok, "not_yet", np.where(ok, "ok", "no_snapshot_near_mark"))
        frame[f"status_{label}"] = pd.array(status, dtype="str")
        if ok.any():
            newest = max(newest, float(at[ok].max()))
    if newest < 0:
        spans = (
            " / ".join(f"±{_duration(tolerance * h * HOUR)} of {mark_label(h)}" for h in marks)
            or "each mark"
        )
        return Insight(
            frame,
            TIKTOK_LIFETIME,
            None,
            "Not enough history: velocity needs a snapshot near a video's mark after posting "
            f"({spans}). Videos posted since Reelboard started syncing get one as they age.",
            enough_history=False,
        )
    return Insight(frame, TIKTOK_LIFETIME, as_of(newest))


def _duration(seconds: float) -> str:
    hours = seconds / HOUR
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} d"


def period_gains_from_cuts(at_start: pd.DataFrame, at_end: pd.DataFrame) -> pd.DataFrame:
    """Per-video gains between two :func:`services.analytics.queries.video_stats_at` cuts.

    The pandas twin of :func:`services.analytics.queries.period_gains` (same columns, all videos,
    ranked), for callers that already hold the two cuts. A video absent from ``at_start``
    counts from 0 if posted after that cut, else it is unmeasured.
    """
    columns = [
        "video_id",
        "open_id",
        "create_time",
        "title",
        "share_url",
        "cover_image_url",
        "from_at",
        "to_at",
        "views_start",
        "views_end",
        "views_gained",
        "baseline",
        "unmeasured",
    ]
    if len(at_end) == 0 or len(at_start) == 0:
        return pd.DataFrame({c: [] for c in columns})
    from_at = int(at_start["captured_at"].max())
    to_at = int(at_end["captured_at"].max())
    if to_at <= from_at:
        return pd.DataFrame({c: [] for c in columns})
    merged = at_end.merge(
        at_start[["video_id", "view_count"]].rename(columns={"view_count": "views_start"}),
        on="video_id",
        how="left",
    ).rename(columns={"view_count": "views_end"})
    merged["from_at"], merged["to_at"] = from_at, to_at
    has_start = merged["views_start"].notna()
    posted_after = merged["create_time"] > from_at
    merged["baseline"] = np.where(
        has_start, "snapshot", np.where(posted_after, "posted_in_period", None)
    )
    baseline = (
        merged["views_start"].astype("Float64").where(has_start, 0).where(has_start | posted_after)
    )
    merged["views_gained"] = (merged["views_end"].astype("Float64") - baseline).astype("Int64")
    unmeasured = int((~has_start & ~posted_after).sum())
    merged["unmeasured"] = unmeasured
    merged = merged[merged["views_gained"].notna()]
    merged = merged.sort_values(["views_gained", "video_id"], ascending=[False, True])
    return merged[columns].reset_index(drop=True)


def top_movers(gains: pd.DataFrame, *, n: int = 10, tz: str = "UTC") -> Insight:
    """The videos that gained the most views in the period.

    ``gains`` from :func:`analytics.queries.period_gains` (or :func:`period_gains_from_cuts`).
    A video posted mid-period counts from 0 at its ``create_time``. Adds views_per_day over
    the measured window (since posting for new videos).
    """
    if len(gains) == 0:
        return Insight(
            gains.copy(),
            SNAPSHOT_DIFFERENCE,
            None,
            "Not enough history: top movers need two complete syncs in this period.",
            enough_history=False,
        )
    frame = gains.sort_values(["views_gained", "video_id"], ascending=[False, True]).head(n)
    frame = frame.reset_index(drop=True)
    start = np.maximum(
        frame["from_at"].to_numpy(dtype="float64"), frame["create_time"].to_numpy(dtype="float64")
    )
    days = (frame["to_at"].to_numpy(dtype="float64") - start) / DAY
    frame["views_per_day"] = frame["views_gained"].astype("float64") / np.maximum(days, 1 / 24)
    notes = [
        f"Measured from {format_time(int(frame['from_at'].iat[0]), tz)} "
        f"to {format_time(int(frame['to_at'].iat[0]), tz)}."
    ]
    unmeasured = int(gains["unmeasured"].max()) if "unmeasured" in gains else 0
    if unmeasured:
        notes.append(
            f"{unmeasured} video{'s' if unmeasured != 1 else ''} had no snapshot at the start "
            "and could not be ranked."
        )
    return Insight(frame, SNAPSHOT_DIFFERENCE, as_of(frame["to_at"].max()), " ".join(notes))


#: Outliers compare videos at least this old (younger ones have not had their run yet).
OUTLIER_MIN_AGE_DAYS = 7


def outliers(
    videos: pd.DataFrame,
    *,
    min_age_days: float = OUTLIER_MIN_AGE_DAYS,
    ratio: float = 3.0,
    min_videos: int = 5,
    posted_from: int | None = None,
    posted_to: int | None = None,
    medians: Mapping[str, tuple[float | None, int]] | None = None,
) -> Insight:
    """Each video's lifetime views against its account's median, both ways.

    ``medians``: each account's (median, count) over its compared videos when ``videos``
    holds only some of them (``queries.median_views`` sorts them in SQL); otherwise both are
    computed from ``videos``.

    ``posted_from`` / ``posted_to``: keep only videos posted in ``[posted_from, posted_to)``
    in the answer (the period's videos); the median stays the account's over all ``videos``,
    so "typical" means typical for the account, not for a handful of recent posts.

    ``videos`` from ``posting_times`` or ``latest_video_stats``. Only videos at least
    ``min_age_days`` old at their snapshot are compared (new ones haven't had their run yet),
    and only in accounts with ``min_videos`` such videos. Frame adds age_days,
    account_median (over the compared videos), ratio (views / median) and flag: ``above``
    (ratio >= ``ratio``), ``below`` (<= 1 / ``ratio``), ``typical``, ``too_new``,
    ``not_compared`` (too few videos in the account) or ``no_data`` (no snapshot yet).
    """
    frame = videos.copy().reset_index(drop=True)
    views = _floats(frame["view_count"])
    age = (_floats(frame["captured_at"]) - frame["create_time"].to_numpy(dtype="float64")) / DAY
    eligible = ~np.isnan(views) & (np.nan_to_num(age, nan=-1.0) >= min_age_days)
    if medians is not None:
        given = frame["open_id"].astype("str")
        counts = given.map(lambda o: medians.get(o, (None, 0))[1]).to_numpy(dtype="int64")
        medians = given.map(lambda o: medians.get(o, (None, 0))[0]).to_numpy(dtype="float64")
    else:
        compared = pd.Series(np.where(eligible, views, np.nan), index=frame.index)
        by_account = compared.groupby(frame["open_id"])
        counts = by_account.transform("count").to_numpy()
        medians = by_account.transform("median").to_numpy(dtype="float64")
    in_scope = eligible & (counts >= min_videos)
    frame["age_days"] = age
    frame["account_median"] = np.where(counts >= min_videos, medians, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(in_scope & (medians > 0), views / medians, np.nan)
    frame["ratio"] = r
    flag = np.select(
        [np.isnan(views), ~eligible, ~in_scope, r >= ratio, r <= 1 / ratio],
        ["no_data", "too_new", "not_compared", "above", "below"],
        default="typical",
    )
    frame["flag"] = pd.array(flag, dtype="str")
    notes = [
        f"Needs at least {min_videos} videos {min_age_days:g}+ days old to compare; "
        f"{open_id} has {int(n)}."
        for open_id, n in pd.Series(counts).groupby(frame["open_id"]).max().items()
        if n < min_videos
    ]
    if posted_from is not None or posted_to is not None:
        created = frame["create_time"].to_numpy(dtype="int64")
        keep = np.ones(len(frame), dtype=bool)
        if posted_from is not None:
            keep &= created >= posted_from
        if posted_to is not None:
            keep &= created < posted_to
        frame, in_scope = frame[keep].reset_index(drop=True), in_scope[keep]
        if not keep.any():
            notes = ["No videos were posted in this period."]
        elif not in_scope.any() and not notes:
            notes = [f"None of this period's videos is {min_age_days:g}+ days old yet: pick "
                     "a longer period to compare them."]
    newest = as_of(frame["captured_at"].max()) if frame["captured_at"].notna().any() else None
    enough = bool(in_scope.any())
    note = " ".join(notes) or (None if enough else "No videos to compare yet: run a sync.")
    return Insight(frame, DERIVED, newest, note, enough_history=enough)


#: The heatmap's time slots: 3-hour blocks, so a cell holds several posts rather than one.
HEATMAP_BLOCK_HOURS = 3
#: A cell with fewer posts than this is not scored (one video says little about a time slot).
MIN_CELL_POSTS = 2


def heatmap_block(hour: int) -> int:
    """The first hour of the heatmap block holding ``hour`` (0-23)."""
    return hour // HEATMAP_BLOCK_HOURS * HEATMAP_BLOCK_HOURS


def posting_heatmap(
    videos: pd.DataFrame, *, tz: str, min_age_days: float = 7, min_videos: int = 10
) -> Insight:
    """When posts do best, by posting weekday x 3-hour block in ``tz`` (videos >= 7 days old).

    Robust to one viral video: a cell's ``score`` is the share of its posts above their
    account's median lifetime views (so accounts of any size mix), and only cells with at
    least MIN_CELL_POSTS posts are scored. Frame: all 56 cells, weekday (0 = Monday),
    weekday_name, hour (first hour of the block), videos (count), median_views,
    share_above_median (NaN for empty cells), score (NaN for cells with too few posts).
    """
    age = (videos["captured_at"].astype("Float64") - videos["create_time"]) / DAY
    keep = (age >= min_age_days).fillna(False).astype(bool) & videos["view_count"].notna()
    used = videos[keep.to_numpy()]
    local = to_local(used["create_time"], tz)
    views = used["view_count"].to_numpy(dtype="float64")
    account_median = (
        pd.Series(views, index=used.index).groupby(used["open_id"]).transform("median")
        if len(used)
        else pd.Series([], dtype="float64")
    )
    cells = pd.DataFrame(
        {
            "weekday": local.dt.day_of_week.to_numpy(),
            "hour": (local.dt.hour.to_numpy() // HEATMAP_BLOCK_HOURS) * HEATMAP_BLOCK_HOURS,
            "views": views,
            "above": (views > account_median.to_numpy(dtype="float64")).astype("float64"),
        }
    )
    blocks = range(0, 24, HEATMAP_BLOCK_HOURS)
    grid = pd.MultiIndex.from_product([range(7), blocks], names=["weekday", "hour"])
    stats = cells.groupby(["weekday", "hour"]).agg(
        size=("views", "size"), median=("views", "median"), above=("above", "mean")
    )
    stats = stats.reindex(grid)
    counts = stats["size"].fillna(0).astype("int64").to_numpy()
    share = stats["above"].to_numpy(dtype="float64")
    frame = pd.DataFrame(
        {
            "weekday": grid.get_level_values(0),
            "weekday_name": [WEEKDAYS[d] for d in grid.get_level_values(0)],
            "hour": grid.get_level_values(1),
            "videos": counts,
            "median_views": stats["median"].to_numpy(dtype="float64"),
            "share_above_median": share,
            "score": np.where(counts >= MIN_CELL_POSTS, share, np.nan),
        }
    )
    newest = as_of(used["captured_at"].max()) if len(used) else None
    if len(used) < min_videos:
        return Insight(
            frame,
            DERIVED,
            newest,
            f"The posting-time heatmap needs at least {min_videos} videos {min_age_days:g}+ "
            f"days old; you have {len(used)}.",
            enough_history=False,
        )
    return Insight(frame, DERIVED, newest)


def hashtag_performance(
    videos: pd.DataFrame,
    *,
    min_age_days: float = 7,
    min_videos: int = 1,
    top: int | None = None,
    tags: pd.DataFrame | None = None,
) -> Insight:
    """How videos using each hashtag perform (title + description, case-insensitive).

    Videos at least ``min_age_days`` old, as for the heatmap. ``tags``: the hashtags the sync
    parsed once (``queries.video_hashtags``: video_id, tag); without it they are parsed from
    ``videos``' title and description here. Frame: tag, videos (count), share_of_videos (of
    the compared videos), median_views, lift (median_views / the median of all compared
    videos); most used first.
    """
    age = (videos["captured_at"].astype("Float64") - videos["create_time"]) / DAY
    keep = (age >= min_age_days).fillna(False).astype(bool) & videos["view_count"].notna()
    used = videos[keep.to_numpy()]
    columns = ["tag", "videos", "share_of_videos", "median_views", "lift"]
    newest = as_of(used["captured_at"].max()) if len(used) else None
    if len(used) == 0:
        return Insight(
            pd.DataFrame({c: [] for c in columns}),
            DERIVED,
            newest,
            f"No videos {min_age_days:g}+ days old with views yet.",
            enough_history=False,
        )
    if tags is not None:
        # Joined on the integer video_key when both sides have it (queries.video_reach).
        on = "video_key" if "video_key" in used and "video_key" in tags else "video_id"
        views = dict(zip(used[on].tolist(),
                         used["view_count"].to_numpy(dtype="float64").tolist(), strict=True))
        pairs = [(str(tag), views[key])
                 for key, tag in zip(tags[on].tolist(), tags["tag"].tolist(), strict=True)
                 if key in views]
    else:
        texts = _texts(used)
        pairs = [
            (tag, float(v))
            for text, v in zip(texts, used["view_count"].to_numpy(dtype="float64"), strict=True)
            for tag in parse_hashtags(text)
        ]
    overall = float(np.median(used["view_count"].to_numpy(dtype="float64")))
    if not pairs:
        return Insight(
            pd.DataFrame({c: [] for c in columns}),
            DERIVED,
            newest,
            "None of these videos uses a hashtag.",
        )
    tags = pd.DataFrame(pairs, columns=["tag", "views"])
    stats = tags.groupby("tag")["views"].agg(videos="size", median_views="median").reset_index()
    stats = stats[stats["videos"] >= min_videos]
    stats["share_of_videos"] = stats["videos"] / len(used)
    stats["lift"] = stats["median_views"] / overall if overall > 0 else np.nan
    stats = stats.sort_values(["videos", "median_views", "tag"], ascending=[False, False, True])
    if top is not None:
        stats = stats.head(top)
    return Insight(stats[columns].reset_index(drop=True), DERIVED, newest)


def _texts(videos: pd.DataFrame) -> list[str]:
    """Title and description of each video, one string each (vectorised: ~10x a Python loop)."""
    empty = pd.Series([""] * len(videos), index=videos.index, dtype="str")
    title = videos["title"].astype("str").fillna("") if "title" in videos else empty
    description = (
        videos["description"].astype("str").fillna("") if "description" in videos else empty
    )
    return (title + "\n" + description).tolist()


@dataclass(frozen=True, eq=False)
class Cadence:
    """How regularly the account posts in a period."""

    posts: Metric
    posts_per_week: Metric
    median_gap_hours: Metric
    longest_gap_hours: Metric
    longest_gap_from: datetime | None
    longest_gap_to: datetime | None
    #: ISO weeks of the period in the viewer's zone: week_start (tz-aware), posts.
    weekly: pd.DataFrame = field(repr=False)


def posting_cadence(
    posts: pd.DataFrame, period: Period, *, tz: str, as_of_time: int | None = None
) -> Cadence:
    """Posts per week, median and longest gap between posts, posts per ISO week.

    ``posts`` from ``posting_times`` (the video list is complete as of the last sync, so a
    week with no posts really is 0). The rate is per week of the whole period, as Overview
    counts "Videos posted"; ``as_of_time`` (the last sync) dates the answer.
    """
    created = (
        np.sort(posts["create_time"].to_numpy(dtype="int64"))
        if len(posts)
        else np.array([], dtype="int64")
    )
    created = created[(created >= period.start) & (created < period.end)]
    upto = period.end if as_of_time is None else max(period.start + 1, min(period.end, as_of_time))
    synced = as_of(upto)
    # Per week of the whole period, like Overview's "Videos posted": a 7-day period with 6
    # posts is 6 a week even if the last sync was a day before its end.
    weeks = max(period.seconds / (7 * DAY), 1 / 7)
    count = Metric(len(created), DERIVED, synced, None, "Videos posted")
    rate = Metric(len(created) / weeks, DERIVED, synced, None, "Posts per week", "per_week")
    if len(created) >= 2:
        gaps = np.diff(created) / HOUR
        i = int(np.argmax(gaps))
        median_gap = Metric(
            float(np.median(gaps)), DERIVED, synced, None, "Median gap between posts", "hours"
        )
        longest = Metric(
            float(gaps[i]), DERIVED, synced, None, "Longest gap between posts", "hours"
        )
        gap_from, gap_to = as_of(created[i]), as_of(created[i + 1])
    else:
        verb = "is" if len(created) == 1 else "are"
        note = f"Gaps need at least 2 posts in the period; there {verb} {len(created)}."
        median_gap = Metric(None, DERIVED, synced, note, "Median gap between posts", "hours")
        longest = Metric(None, DERIVED, synced, note, "Longest gap between posts", "hours")
        gap_from = gap_to = None
    edges = bucket_edges(period.start, period.end, "week", tz)
    counts = [
        int(np.count_nonzero((created >= a) & (created < b))) for a, b in itertools.pairwise(edges)
    ]
    weekly = pd.DataFrame(
        {
            "week_start": to_local(pd.Series(edges[:-1], dtype="int64"), tz),
            "posts": pd.array(counts, dtype="int64"),
        }
    )
    return Cadence(count, rate, median_gap, longest, gap_from, gap_to, weekly)
