"""Chart queries: aggregate in SQLite, return small DataFrames.

Every function here answers one page question with parameterised SQL that walks an index
(``video_snapshot_rows`` primary key ``(video_key, captured_at)``, its covering
``(account_key, captured_at, video_key, view_count)`` index, ``videos(open_id, create_time)``)
and never reads the snapshots whole: on 50,000 videos x 365 daily snapshots each page's queries
take tens of milliseconds (``python -m bench.pages_bench``). Snapshots are read from the
compact table with integer keys (migration 0008: ``videos.video_key``,
``accounts.account_key``); the ``video_snapshots`` view with the old TEXT columns is for
other readers. Each video's latest counters are kept on ``videos`` by the sync
(``view_count`` … ``counted_at``).

Conventions (the architecture notes in README.md "Data"):

- Times in and out are integer Unix seconds (UTC); video ids are TEXT.
- A list of accounts is passed to SQLite as one JSON parameter (``json_each``), so the SQL text
  never changes with the number of accounts.
- Account-level series read only what finished sync runs wrote: rows of ``account_snapshots``
  and ``account_video_totals`` whose run (``sync_runs`` joined on ``open_id`` + ``captured_at``)
  ``succeeded`` or was ``partial``. A run is ``partial`` when a scope is missing or TikTok sent
  bad records; the sync writes the account snapshot only with the stats scope and the totals
  row only after a *complete* video listing (``services.sync._store_final``), so every such
  row is whole. (Accepting only ``succeeded`` would hide every total of an account that never
  granted ``user.info.stats``, whose runs are all partial.) A ``failed`` or ``running`` run
  never feeds an account-level chart.
- A "complete cut" (every video at one run, for top movers) is a run with an
  ``account_video_totals`` row, for the same reason.
- Per-video snapshots are used whatever their run's status: each row is a complete reading of
  that video's lifetime counters.
- Counter columns are nullable ``Int64`` (TikTok may omit a field); empty results keep their
  columns and dtypes, so callers never special-case "no rows".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import sqlite_utils

#: Run statuses whose account snapshot is complete (see module docstring).
ACCOUNT_RUN_STATUSES = ("succeeded", "partial")
#: Run statuses whose per-run video totals feed charts (the row exists only for complete runs).
TOTALS_RUN_STATUSES = ("succeeded", "partial")
#: Marks for velocity: hours after posting (24 h, 7 d, 28 d).
VELOCITY_MARKS_HOURS = (24, 168, 672)

_FAR_FUTURE = 2**62

_COUNTS = ("view_count", "like_count", "comment_count", "share_count")
_ACCOUNT_COUNTS = ("follower_count", "following_count", "likes_count", "video_count")

_ACCOUNT_SERIES_COLUMNS = {
    "open_id": "str",
    "captured_at": "int64",
    **dict.fromkeys(_ACCOUNT_COUNTS, "Int64"),
}
_TOTALS_COLUMNS = {
    "open_id": "str",
    "captured_at": "int64",
    "videos_counted": "Int64",
    **dict.fromkeys(_COUNTS, "Int64"),
}
_VIDEO_META = {
    "video_id": "str",
    "open_id": "str",
    "create_time": "int64",
    "title": "str",
    "description": "str",
    "duration": "Int64",
    "cover_image_url": "str",
    "share_url": "str",
    "embed_link": "str",
    "removed_at": "Int64",
}
_LATEST_COLUMNS = {**_VIDEO_META, "captured_at": "Int64", **dict.fromkeys(_COUNTS, "Int64")}
_POSTING_COLUMNS = {
    "video_id": "str",
    "open_id": "str",
    "create_time": "int64",
    "title": "str",
    "description": "str",
    "captured_at": "Int64",
    "view_count": "Int64",
}
_REACH_COLUMNS = {
    "video_key": "int64",
    "open_id": "str",
    "create_time": "int64",
    "captured_at": "float64",
    "view_count": "float64",
}
_CAPTION_COLUMNS = {
    "video_id": "str",
    "video_key": "int64",
    "open_id": "str",
    "create_time": "int64",
    "title": "str",
    "description": "str",
}
#: A video as a ranked row shows it (title, link, cover), first in both tables below.
_VIDEO_ROW = {
    "video_id": "str",
    "open_id": "str",
    "create_time": "int64",
    "title": "str",
    "share_url": "str",
    "cover_image_url": "str",
}
_STATS_AT_COLUMNS = {
    **_VIDEO_ROW,
    "captured_at": "int64",
    **dict.fromkeys(_COUNTS, "Int64"),
}
_GAINS_COLUMNS = {
    **_VIDEO_ROW,
    "from_at": "int64",
    "to_at": "int64",
    "views_start": "Int64",
    "views_end": "Int64",
    "views_gained": "Int64",
    "baseline": "str",
    "unmeasured": "int64",
}
_HISTORY_COLUMNS = {
    "video_id": "str",
    "open_id": "str",
    "create_time": "int64",
    "captured_at": "int64",
    **dict.fromkeys(_COUNTS, "Int64"),
}
_SPARK_COLUMNS = {"video_id": "str", "captured_at": "int64", "view_count": "Int64"}
_HASHTAG_COLUMNS = {"video_id": "str", "video_key": "int64", "open_id": "str", "tag": "str"}
_VELOCITY_COLUMNS = {
    "video_id": "str",
    "open_id": "str",
    "create_time": "int64",
    "mark_hours": "int64",
    "mark_at": "int64",
    "before_at": "Int64",
    "before_views": "Int64",
    "after_at": "Int64",
    "after_views": "Int64",
}
_SPAN_COLUMNS = {
    "open_id": "str",
    "first_captured_at": "Int64",
    "last_captured_at": "Int64",
    "runs": "int64",
}


# --------------------------------------------------------------------------------------------
# helpers


def _ids(open_ids: Sequence[str] | str) -> str:
    """One JSON parameter for ``json_each``; a bare string is one account, not its letters."""
    if isinstance(open_ids, str):
        open_ids = [open_ids]
    return json.dumps(list(dict.fromkeys(open_ids)))


def _placeholders(values: Sequence[str]) -> str:
    # Only ever our own constants (run statuses), never user input; still bound as parameters.
    return ", ".join("?" for _ in values)


def _frame(
    db: sqlite_utils.Database, sql: str, params: Sequence[object], columns: dict[str, str]
) -> pd.DataFrame:
    cursor = db.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    if sorted(names) != sorted(columns):  # a programming error: SQL and declaration disagree
        raise KeyError(f"query returned columns {names}, declared {list(columns)}")
    rows = cursor.fetchall()
    # Column-wise construction with the final dtypes: ~3x faster than from_records + astype.
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    data = dict(zip(names, values, strict=True))
    return pd.DataFrame({c: pd.array(list(data[c]), dtype=t) for c, t in columns.items()})


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


# --------------------------------------------------------------------------------------------
# account level (Overview)


def _account_level_series(
    db: sqlite_utils.Database,
    table: str,
    value_columns: Sequence[str],
    statuses: Sequence[str],
    open_ids: Sequence[str] | str,
    start: int,
    end: int,
    columns: dict[str, str],
) -> pd.DataFrame:
    values = ", ".join(f"t.{c}" for c in value_columns)
    # Rows of finished runs, then the window [start, end] widened to the nearest row on either
    # side so differences at the window's edges can be interpolated (metrics.gained_*).
    sql = f"""
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?)),
        ok_runs AS MATERIALIZED (
            SELECT DISTINCT r.open_id, r.captured_at
            FROM ids CROSS JOIN sync_runs r ON r.open_id = ids.open_id
            WHERE r.status IN ({_placeholders(statuses)})
        ),
        ok AS MATERIALIZED (
            SELECT t.open_id, t.captured_at, {values}
            -- CROSS JOIN fixes the order: each finished run, then its row by primary key.
            FROM ok_runs r
            CROSS JOIN {table} t ON t.open_id = r.open_id AND t.captured_at = r.captured_at
        ),
        edges AS MATERIALIZED (
            SELECT ids.open_id,
                coalesce((SELECT max(captured_at) FROM ok
                          WHERE ok.open_id = ids.open_id AND ok.captured_at <= ?), ?) AS lo,
                coalesce((SELECT min(captured_at) FROM ok
                          WHERE ok.open_id = ids.open_id AND ok.captured_at >= ?), ?) AS hi
            FROM ids
        )
        SELECT ok.* FROM ok JOIN edges ON edges.open_id = ok.open_id
        WHERE ok.captured_at BETWEEN edges.lo AND edges.hi
        ORDER BY ok.open_id, ok.captured_at
    """
    params = [_ids(open_ids), *statuses, start, start, end, end]
    return _frame(db, sql, params, columns)


def account_series(
    db: sqlite_utils.Database, open_ids: Sequence[str], start: int, end: int
) -> pd.DataFrame:
    """Followers, following, likes and video count per account snapshot in ``[start, end]``.

    TikTok lifetime counters (user/info), one row per finished sync run, plus the nearest
    snapshot before ``start`` and after ``end`` when they exist (for interpolating at the
    edges). Columns: open_id, captured_at, follower_count, following_count, likes_count,
    video_count.
    """
    return _account_level_series(
        db,
        "account_snapshots",
        _ACCOUNT_COUNTS,
        ACCOUNT_RUN_STATUSES,
        open_ids,
        start,
        end,
        _ACCOUNT_SERIES_COLUMNS,
    )


def video_totals_series(
    db: sqlite_utils.Database, open_ids: Sequence[str], start: int, end: int
) -> pd.DataFrame:
    """Per-run totals of views, likes, comments and shares over every video of the account.

    From ``account_video_totals`` of finished runs, with the same edge rows as
    :func:`account_series`. Columns: open_id, captured_at, videos_counted, view_count,
    like_count, comment_count, share_count.
    """
    return _account_level_series(
        db,
        "account_video_totals",
        ("videos_counted", *_COUNTS),
        TOTALS_RUN_STATUSES,
        open_ids,
        start,
        end,
        _TOTALS_COLUMNS,
    )


# --------------------------------------------------------------------------------------------
# per video (Videos, Insights)


#: Columns the Videos table may be sorted by (SQL identifiers are never taken from callers).
VIDEO_SORT_COLUMNS = (
    "create_time",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "engagement_rate",
    "title",
    "duration",
)


def latest_video_stats(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    *,
    as_of: int | None = None,
    posted_from: int | None = None,
    posted_to: int | None = None,
    search: str | None = None,
    order_by: str = "create_time",
    descending: bool = True,
    limit: int | None = None,
    offset: int = 0,
) -> pd.DataFrame:
    """Videos of the accounts with their latest snapshot at or before ``as_of`` (Videos table).

    Videos posted after ``as_of`` are left out; ``posted_from``/``posted_to`` (``[from, to)``)
    narrow by posting time; ``search`` keeps videos whose title or description contains it
    (case-insensitive for ASCII). Sorting (``order_by`` one of :data:`VIDEO_SORT_COLUMNS`) and
    paging (``limit``/``offset``) run in SQL, so a page of 50 rows out of 10,000 videos costs
    one primary-key seek per video and 50 rows of Python objects; all 10,000 rows with their
    text cost ~5x more. A video with no snapshot yet has null counters. ``total`` is the
    number of matching videos before paging. Columns: video_id, open_id, create_time, title,
    description, duration, cover_image_url, share_url, embed_link, removed_at, captured_at,
    view_count, like_count, comment_count, share_count, total.
    """
    if order_by not in VIDEO_SORT_COLUMNS:
        raise ValueError(f"order_by must be one of {VIDEO_SORT_COLUMNS}, not {order_by!r}")
    lo = -_FAR_FUTURE if posted_from is None else posted_from
    hi = _FAR_FUTURE if posted_to is None else posted_to
    # Without as_of, the latest counters kept on `videos` (no snapshot seek per video);
    # with it, each video's newest snapshot at or before as_of.
    c = "v" if as_of is None else "s"
    sort_key = {
        "engagement_rate": f"(coalesce({c}.like_count, 0) + coalesce({c}.comment_count, 0)"
        f" + coalesce({c}.share_count, 0)) * 1.0 / nullif({c}.view_count, 0)",
        "title": "lower(coalesce(v.title, ''))",
        "create_time": "v.create_time",
        "duration": "v.duration",
    }.get(order_by, f"{c}.{order_by}")
    if as_of is None:
        latest_join = ""
        captured = "v.counted_at"
        page_join = ""
    else:
        latest_join = """LEFT JOIN video_snapshot_rows s ON s.video_key = v.video_key
                AND s.captured_at = (SELECT max(x.captured_at) FROM video_snapshot_rows x
                                     WHERE x.video_key = v.video_key AND x.captured_at <= ?2)"""
        captured = "s.captured_at"
        page_join = """LEFT JOIN video_snapshot_rows s ON s.video_key = v.video_key
             AND s.captured_at = page.captured_at"""
    direction = "DESC" if descending else "ASC"
    order = f"sort_value {direction} NULLS LAST, create_time DESC, video_id"
    # The search clause is only added when there is a search: SQLite would otherwise still read
    # every title to evaluate it.
    where_search = (
        "AND instr(lower(coalesce(v.title, '') || ' ' || coalesce(v.description, '')),"
        " lower(?5)) > 0"
        if search
        else "AND ?5 IS NULL"
    )
    sql = f"""
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?1)),
        latest AS MATERIALIZED (
            SELECT v.id AS video_id, v.create_time, {sort_key} AS sort_value,
                   {captured} AS captured_at
            FROM ids JOIN videos v ON v.open_id = ids.open_id
            {latest_join}
            WHERE v.create_time >= ?3 AND v.create_time < ?4 AND v.create_time <= ?2
              {where_search}
        ),
        page AS MATERIALIZED (
            SELECT * FROM latest ORDER BY {order} LIMIT ?6 OFFSET ?7
        )
        SELECT page.video_id, v.open_id, page.create_time, v.title, v.description,
               v.duration, v.cover_image_url, v.share_url, v.embed_link, v.removed_at,
               page.captured_at, {c}.view_count, {c}.like_count, {c}.comment_count,
               {c}.share_count, (SELECT count(*) FROM latest) AS total
        FROM page JOIN videos v ON v.id = page.video_id
        {page_join}
        ORDER BY page.{order.replace(", ", ", page.")}
    """
    params = [
        _ids(open_ids),
        _FAR_FUTURE if as_of is None else as_of,
        lo,
        hi,
        search or None,
        -1 if limit is None else int(limit),
        int(offset),
    ]
    return _frame(db, sql, params, {**_LATEST_COLUMNS, "total": "int64"})


def posting_times(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    start: int | None = None,
    end: int | None = None,
) -> pd.DataFrame:
    """Videos posted in ``[start, end)``: when, what they said, how far they reached so far.

    The narrow per-video frame of the Insights page (posting heatmap, hashtags, outliers,
    cadence): latest views only, no URLs. Columns: video_id, open_id, create_time, title,
    description, captured_at, view_count; oldest first.
    """
    sql = """
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?))
        SELECT v.id AS video_id, v.open_id, v.create_time, v.title, v.description,
               v.counted_at AS captured_at, v.view_count
        FROM ids CROSS JOIN videos v ON v.open_id = ids.open_id
        WHERE v.create_time >= ? AND v.create_time < ?
    """
    lo = -_FAR_FUTURE if start is None else start
    hi = _FAR_FUTURE if end is None else end
    frame = _frame(db, sql, [_ids(open_ids), lo, hi], _POSTING_COLUMNS)
    # Sorted here, not in SQL: a temp B-tree over 10,000 rows with their text costs more.
    return frame.sort_values("create_time", kind="stable", ignore_index=True)


def video_reach(db: sqlite_utils.Database, open_ids: Sequence[str], start: int | None = None,
                end: int | None = None) -> pd.DataFrame:
    """Every video of the accounts with its latest lifetime views, as numbers only: the narrow
    frame for all-time medians (outliers, posting heatmap, hashtags). No text and no TikTok
    ids (``video_key`` names a video; :func:`video_captions` gives its words): at 50,000
    videos building the text columns cost more than the read. Columns: video_key, open_id,
    create_time (int64), captured_at and view_count (float64, NaN when unknown); oldest
    first. ``start``/``end``: only videos posted in ``[start, end)``."""
    lo = -_FAR_FUTURE if start is None else start
    hi = _FAR_FUTURE if end is None else end
    frames = []
    for open_id in dict.fromkeys(open_ids):
        rows = db.execute(
            # -1 for NULL: the rows become one integer array at C speed (NaN afterwards).
            "SELECT video_key, create_time, coalesce(counted_at, -1), coalesce(view_count, -1) "
            "FROM videos WHERE open_id = ? AND create_time >= ? AND create_time < ?",
            [open_id, lo, hi]).fetchall()
        # int64 throughout: video keys are 19-digit ids, past float64's 2^53.
        values = np.array(rows, dtype="int64").reshape(-1, 4)
        counts = values[:, 2:].astype("float64")
        counts[values[:, 2:] < 0] = np.nan
        frames.append(pd.DataFrame({
            "video_key": values[:, 0],
            "open_id": pd.Categorical([open_id] * len(values)),
            "create_time": values[:, 1],
            "captured_at": counts[:, 0],
            "view_count": counts[:, 1],
        }))
    if not frames:
        return _empty(_REACH_COLUMNS)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame["open_id"] = frame["open_id"].astype("str")
    return frame.sort_values("create_time", kind="stable", ignore_index=True)


def median_views(db: sqlite_utils.Database, open_ids: Sequence[str], *,
                 min_age_days: float) -> dict[str, tuple[float | None, int]]:
    """Per account: the median lifetime views of its videos at least ``min_age_days`` old at
    their latest snapshot, and how many there are (the outliers' "typical"). Sorted in SQL:
    at 50,000 videos reading every video's views into Python cost 4x more."""
    out: dict[str, tuple[float | None, int]] = {}
    eligible = ("FROM videos WHERE open_id = ? AND view_count IS NOT NULL "
                "AND counted_at - create_time >= ?")
    for open_id in dict.fromkeys(open_ids):
        args = [open_id, min_age_days * 86_400]
        n = db.execute(f"SELECT count(*) {eligible}", args).fetchone()[0]
        if not n:
            out[open_id] = (None, 0)
            continue
        middle = [r[0] for r in db.execute(
            f"SELECT view_count {eligible} ORDER BY view_count LIMIT ? OFFSET ?",
            [*args, 2 - n % 2, (n - 1) // 2])]
        out[open_id] = (float(sum(middle)) / len(middle), n)
    return out


def video_captions(
    db: sqlite_utils.Database, video_ids: Sequence[str] = (), *, video_keys: Sequence[int] = ()
) -> pd.DataFrame:
    """Title, description and posting time of a few videos (chart labels), by TikTok id or by
    ``video_key``. Columns: video_id, video_key, open_id, create_time, title, description;
    oldest first."""
    sql = """
        WITH ids(video_id) AS (SELECT DISTINCT value FROM json_each(?1)),
        keys(video_key) AS (SELECT DISTINCT value FROM json_each(?2))
        SELECT v.id AS video_id, v.video_key, v.open_id, v.create_time, v.title, v.description
        FROM ids JOIN videos v ON v.id = ids.video_id
        UNION
        SELECT v.id AS video_id, v.video_key, v.open_id, v.create_time, v.title, v.description
        FROM keys JOIN videos v ON v.video_key = keys.video_key
        ORDER BY 4, 1
    """
    params = [json.dumps([str(v) for v in video_ids]), json.dumps([int(k) for k in video_keys])]
    return _frame(db, sql, params, _CAPTION_COLUMNS)


def video_hashtags(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    start: int | None = None,
    end: int | None = None,
) -> pd.DataFrame:
    """Hashtags of the videos posted in ``[start, end)``, as the sync parsed them once
    (``video_hashtags``, services.analytics.hashtags): one row per video and tag, so the Insights
    hashtag chart need not parse captions. Columns: video_id, video_key, open_id, tag."""
    sql = """
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?))
        SELECT v.id AS video_id, v.video_key, v.open_id, h.tag
        FROM ids CROSS JOIN videos v ON v.open_id = ids.open_id
        JOIN video_hashtags h ON h.video_id = v.id
        WHERE v.create_time >= ? AND v.create_time < ?
        ORDER BY v.id, h.tag
    """
    lo = -_FAR_FUTURE if start is None else start
    hi = _FAR_FUTURE if end is None else end
    return _frame(db, sql, [_ids(open_ids), lo, hi], _HASHTAG_COLUMNS)


def run_time_near(
    db: sqlite_utils.Database,
    open_id: str,
    at: int,
    *,
    side: Literal["nearest", "before", "after"] = "nearest",
) -> int | None:
    """The ``captured_at`` of the account's complete run nearest ``at`` (or None).

    Complete = finished with a whole video listing (it has an ``account_video_totals`` row).
    """
    where = {"nearest": "", "before": "AND t.captured_at <= ?", "after": "AND t.captured_at >= ?"}
    params: list[object] = [open_id, *TOTALS_RUN_STATUSES]
    if side != "nearest":
        params.append(at)
    params.append(at)
    sql = f"""
        SELECT t.captured_at FROM sync_runs r
        CROSS JOIN account_video_totals t
            ON t.open_id = r.open_id AND t.captured_at = r.captured_at
        WHERE r.open_id = ? AND r.status IN ({_placeholders(TOTALS_RUN_STATUSES)}) {where[side]}
        ORDER BY abs(t.captured_at - ?), t.captured_at DESC
        LIMIT 1
    """
    row = db.execute(sql, params).fetchone()
    return None if row is None else int(row[0])


def video_stats_at(
    db: sqlite_utils.Database,
    open_id: str,
    at: int,
    *,
    side: Literal["nearest", "before", "after"] = "nearest",
    max_distance: int | None = None,
) -> pd.DataFrame:
    """Every video's counters as captured by the complete run nearest ``at``.

    One run, so all rows share one ``captured_at`` (a consistent cut for top movers). Picks the
    run from ``sync_runs``, then reads that run's rows through the ``(open_id, captured_at)``
    index. Empty when there is no such run, or it is more than ``max_distance`` seconds from
    ``at``. Columns: video_id, open_id, create_time, title, share_url, cover_image_url,
    captured_at, view_count, like_count, comment_count, share_count.
    """
    captured_at = run_time_near(db, open_id, at, side=side)
    if captured_at is None or (max_distance is not None and abs(captured_at - at) > max_distance):
        return _empty(_STATS_AT_COLUMNS)
    sql = """
        SELECT v.id AS video_id, acc.open_id, v.create_time, v.title, v.share_url,
               v.cover_image_url, s.captured_at, s.view_count, s.like_count, s.comment_count,
               s.share_count
        FROM accounts acc
        JOIN video_snapshot_rows s ON s.account_key = acc.account_key AND s.captured_at = ?2
        JOIN videos v ON v.video_key = s.video_key
        WHERE acc.open_id = ?1
        ORDER BY v.id
    """
    return _frame(db, sql, [open_id, captured_at], _STATS_AT_COLUMNS)


def period_gains(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    start: int,
    end: int,
    *,
    limit: int | None = 20,
) -> pd.DataFrame:
    """Views each video gained between two complete runs: the one nearest ``start`` and the
    last at or before ``end`` (per account). Top movers, ranked in SQL.

    A video missing from the first run but posted after it counts from 0 views at its
    ``create_time`` (``baseline = 'posted_in_period'``); one posted before it but missing from
    it (a partial history) cannot be measured: it is left out of the ranking and counted in
    ``unmeasured``. Returns the ``limit`` biggest gains (all with ``None``). Columns: video_id,
    open_id, create_time, title, share_url, cover_image_url, from_at, to_at, views_start,
    views_end, views_gained, baseline, unmeasured. Empty when the account has no complete run
    in the window.
    """
    sql = """
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?1)),
        complete AS MATERIALIZED (
            -- Finished runs with a totals row (= a whole listing); CROSS JOIN keeps the order.
            SELECT t.open_id, t.captured_at FROM ids
            CROSS JOIN sync_runs r ON r.open_id = ids.open_id
            CROSS JOIN account_video_totals t
                ON t.open_id = r.open_id AND t.captured_at = r.captured_at
            WHERE r.status IN ('succeeded', 'partial')
        ),
        cuts AS MATERIALIZED (
            SELECT open_id, from_at, to_at FROM (
                SELECT ids.open_id,
                    (SELECT captured_at FROM complete c WHERE c.open_id = ids.open_id
                     ORDER BY abs(c.captured_at - ?2), c.captured_at DESC LIMIT 1) AS from_at,
                    (SELECT max(captured_at) FROM complete c
                     WHERE c.open_id = ids.open_id AND c.captured_at <= ?3) AS to_at
                FROM ids)
            WHERE from_at < to_at
        ),
        pairs AS MATERIALIZED (
            SELECT e.video_key, c.open_id, c.from_at, c.to_at,
                   s.view_count AS views_start, e.view_count AS views_end,
                   -- The video's row is read only when the start snapshot is missing (a
                   -- seek per video saved: a third of this query at 50,000 videos).
                   CASE WHEN s.video_key IS NOT NULL THEN 'snapshot'
                        WHEN (SELECT create_time FROM videos WHERE video_key = e.video_key)
                             > c.from_at THEN 'posted_in_period' END AS baseline
            FROM cuts c
            JOIN accounts acc ON acc.open_id = c.open_id
            JOIN video_snapshot_rows e
                ON e.account_key = acc.account_key AND e.captured_at = c.to_at
            -- account_key too, so both cuts come from the covering index (migration 0011).
            LEFT JOIN video_snapshot_rows s
                ON s.account_key = acc.account_key AND s.captured_at = c.from_at
                AND s.video_key = e.video_key
        ),
        top AS MATERIALIZED (
            SELECT * FROM (
                SELECT pairs.*,
                       views_end - CASE baseline WHEN 'snapshot' THEN views_start ELSE 0 END
                           AS views_gained
                FROM pairs WHERE baseline IS NOT NULL)
            WHERE views_gained IS NOT NULL
            -- ORDER BY + LIMIT on its own: SQLite keeps a top-N heap instead of sorting all.
            ORDER BY views_gained DESC, video_key LIMIT ?4
        ),
        unmeasured AS MATERIALIZED (
            SELECT open_id, count(*) AS n FROM pairs WHERE baseline IS NULL GROUP BY open_id
        )
        SELECT v.id AS video_id, top.open_id, v.create_time, v.title, v.share_url,
               v.cover_image_url, top.from_at, top.to_at, top.views_start, top.views_end,
               top.views_gained, top.baseline, coalesce(u.n, 0) AS unmeasured
        FROM top JOIN videos v ON v.video_key = top.video_key
        LEFT JOIN unmeasured u ON u.open_id = top.open_id
        ORDER BY top.views_gained DESC, top.video_key
    """
    params = [_ids(open_ids), start, end, -1 if limit is None else int(limit)]
    return _frame(db, sql, params, _GAINS_COLUMNS)


def video_history(
    db: sqlite_utils.Database,
    video_id: str,
    start: int | None = None,
    end: int | None = None,
) -> pd.DataFrame:
    """Every snapshot of one video (its growth curve), oldest first.

    Columns: video_id, open_id, create_time, captured_at, view_count, like_count,
    comment_count, share_count.
    """
    sql = """
        SELECT v.id AS video_id, v.open_id, v.create_time, s.captured_at,
               s.view_count, s.like_count, s.comment_count, s.share_count
        FROM videos v JOIN video_snapshot_rows s ON s.video_key = v.video_key
        WHERE v.id = ? AND s.captured_at BETWEEN ? AND ?
        ORDER BY s.captured_at
    """
    lo = -_FAR_FUTURE if start is None else start
    hi = _FAR_FUTURE if end is None else end
    return _frame(db, sql, [str(video_id), lo, hi], _HISTORY_COLUMNS)


def growth_curves(
    db: sqlite_utils.Database, video_ids: Sequence[str], *, max_age_hours: int = 672
) -> pd.DataFrame:
    """Snapshots of a few videos from posting to ``max_age_hours`` after (velocity curves).

    Same columns as :func:`video_history`, ordered by video then time.
    """
    sql = """
        WITH ids(video_id) AS (SELECT DISTINCT value FROM json_each(?))
        SELECT v.id AS video_id, v.open_id, v.create_time, s.captured_at,
               s.view_count, s.like_count, s.comment_count, s.share_count
        FROM ids JOIN videos v ON v.id = ids.video_id
        JOIN video_snapshot_rows s ON s.video_key = v.video_key
             AND s.captured_at <= v.create_time + ? * 3600
        ORDER BY v.id, s.captured_at
    """
    return _frame(db, sql, [_ids(video_ids), max_age_hours], _HISTORY_COLUMNS)


def _spread(times: list[int], points: int) -> list[int]:
    """At most ``points`` of ``times`` (sorted), evenly spread in time, always the last one."""
    if len(times) <= points:
        return times
    first, last = times[0], times[-1]
    chosen: list[int] = []
    j = 0
    for k in range(points):
        target = first + (last - first) * k / (points - 1)
        while j + 1 < len(times) and abs(times[j + 1] - target) <= abs(times[j] - target):
            j += 1
        if not chosen or chosen[-1] != times[j]:
            chosen.append(times[j])
    return chosen


def sparkline_series(
    db: sqlite_utils.Database,
    open_id: str,
    video_ids: Sequence[str] | None,
    since: int,
    *,
    points: int = 12,
) -> pd.DataFrame:
    """A few views readings per video since ``since`` (the Videos table's sparklines).

    Picks at most ``points`` run times of the account since ``since``, evenly spread and always
    including the latest, then reads only those (video, run) rows by primary key. Pass the
    videos on screen; ``None`` means all of the account's videos (10,000 videos x 12 points is
    ~120 k seeks: prefer the visible rows). Columns: video_id, captured_at, view_count.
    """
    runs = [
        int(r[0])
        for r in db.execute(
            f"""SELECT DISTINCT captured_at FROM sync_runs
                WHERE open_id = ? AND status IN ({_placeholders(ACCOUNT_RUN_STATUSES)})
                AND captured_at >= ? ORDER BY captured_at""",
            [open_id, *ACCOUNT_RUN_STATUSES, since],
        ).fetchall()
    ]
    chosen = _spread(runs, max(points, 2))
    if video_ids is None:
        sql = """
            WITH t(captured_at) AS (SELECT value FROM json_each(?))
            SELECT v.id AS video_id, s.captured_at, s.view_count
            FROM t JOIN video_snapshot_rows s
                ON s.account_key = (SELECT account_key FROM accounts WHERE open_id = ?)
                AND s.captured_at = t.captured_at
            JOIN videos v ON v.video_key = s.video_key
            ORDER BY v.id, s.captured_at
        """
        params: list[object] = [json.dumps(chosen), open_id]
    else:
        sql = """
            WITH ids(video_id) AS (SELECT DISTINCT value FROM json_each(?)),
                 t(captured_at) AS (SELECT value FROM json_each(?))
            SELECT v.id AS video_id, s.captured_at, s.view_count
            FROM ids JOIN videos v ON v.id = ids.video_id CROSS JOIN t
            JOIN video_snapshot_rows s
                ON s.video_key = v.video_key AND s.captured_at = t.captured_at
            ORDER BY v.id, s.captured_at
        """
        params = [_ids(video_ids), json.dumps(chosen)]
    return _frame(db, sql, params, _SPARK_COLUMNS)


def velocity_inputs(
    db: sqlite_utils.Database,
    open_ids: Sequence[str],
    start: int,
    end: int,
    *,
    marks_hours: Sequence[int] = VELOCITY_MARKS_HOURS,
) -> pd.DataFrame:
    """For videos posted in ``[start, end)``: the snapshots either side of each mark.

    A mark is ``create_time + hours``. ``before_*`` is the video's last snapshot at or before
    the mark, ``after_*`` its first at or after (equal when one falls on the mark);
    :func:`analytics.metrics.velocity` picks the nearest within its tolerance. Four primary-key
    seeks per video and mark. Columns: video_id, open_id, create_time, mark_hours, mark_at,
    before_at, before_views, after_at, after_views.
    """
    sql = """
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?)),
        marks(hours) AS (SELECT value FROM json_each(?)),
        vm AS MATERIALIZED (
            SELECT v.id, v.video_key, v.open_id, v.create_time, marks.hours,
                   v.create_time + marks.hours * 3600 AS mark_at
            FROM ids JOIN videos v ON v.open_id = ids.open_id
            CROSS JOIN marks
            WHERE v.create_time >= ? AND v.create_time < ?
        ),
        near AS MATERIALIZED (
            SELECT vm.*,
                (SELECT max(captured_at) FROM video_snapshot_rows s
                 WHERE s.video_key = vm.video_key AND s.captured_at <= vm.mark_at) AS before_at,
                (SELECT min(captured_at) FROM video_snapshot_rows s
                 WHERE s.video_key = vm.video_key AND s.captured_at >= vm.mark_at) AS after_at
            FROM vm
        )
        SELECT near.id AS video_id, near.open_id, near.create_time, near.hours AS mark_hours,
               near.mark_at, near.before_at, b.view_count AS before_views,
               near.after_at, a.view_count AS after_views
        FROM near
        LEFT JOIN video_snapshot_rows b
            ON b.video_key = near.video_key AND b.captured_at = near.before_at
        LEFT JOIN video_snapshot_rows a
            ON a.video_key = near.video_key AND a.captured_at = near.after_at
        ORDER BY near.create_time, near.id, near.hours
    """
    params = [_ids(open_ids), json.dumps([int(h) for h in marks_hours]), start, end]
    return _frame(db, sql, params, _VELOCITY_COLUMNS)


# --------------------------------------------------------------------------------------------
# sync bookkeeping


@dataclass(frozen=True)
class LastSync:
    """The account's most recent sync run, and its last complete one."""

    run_id: int
    status: str
    captured_at: int
    started_at: int
    finished_at: int | None
    error: str | None
    #: captured_at of the latest succeeded run (None if none ever succeeded).
    last_succeeded_at: int | None


def last_sync(db: sqlite_utils.Database, open_id: str) -> LastSync | None:
    """The latest run of ``open_id`` (any status) or None if it was never synced."""
    row = db.execute(
        """
        SELECT id, status, captured_at, started_at, finished_at, error,
               (SELECT max(captured_at) FROM sync_runs
                WHERE open_id = ?1 AND status = 'succeeded') AS last_ok
        FROM sync_runs WHERE open_id = ?1
        ORDER BY started_at DESC, id DESC LIMIT 1
        """,
        [open_id],
    ).fetchone()
    if row is None:
        return None
    return LastSync(
        run_id=int(row[0]),
        status=row[1],
        captured_at=int(row[2]),
        started_at=int(row[3]),
        finished_at=None if row[4] is None else int(row[4]),
        error=row[5],
        last_succeeded_at=None if row[6] is None else int(row[6]),
    )


def snapshot_span(db: sqlite_utils.Database, open_ids: Sequence[str]) -> pd.DataFrame:
    """First and last finished-run capture time and run count per account (history length).

    One row per requested account, even one never synced (null times, 0 runs). Columns:
    open_id, first_captured_at, last_captured_at, runs.
    """
    sql = f"""
        WITH ids(open_id) AS (SELECT DISTINCT value FROM json_each(?))
        SELECT ids.open_id, min(r.captured_at) AS first_captured_at,
               max(r.captured_at) AS last_captured_at, count(r.captured_at) AS runs
        FROM ids LEFT JOIN sync_runs r
             ON r.open_id = ids.open_id AND r.status IN ({_placeholders(ACCOUNT_RUN_STATUSES)})
        GROUP BY ids.open_id ORDER BY ids.open_id
    """
    return _frame(db, sql, [_ids(open_ids), *ACCOUNT_RUN_STATUSES], _SPAN_COLUMNS)


def data_version(db: sqlite_utils.Database) -> int:
    """A cheap number that changes whenever a sync starts, finishes or an account goes.

    Pass it to every ``st.cache_data`` function that reads the cache, so cached frames expire
    exactly when the data does (the project's code habits "Caches are global across users").
    """
    row = db.execute(
        """
        SELECT coalesce(max(id), 0), coalesce(max(finished_at), 0), count(*),
               coalesce(sum(rows_written), 0), total(status = 'running'),
               total(status = 'succeeded'),
               (SELECT count(*) FROM accounts)
        FROM sync_runs
        """
    ).fetchone()
    digest = hashlib.blake2b(repr(tuple(row)).encode(), digest_size=7).digest()
    return int.from_bytes(digest, "big")
