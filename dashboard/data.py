"""Cached page data: ``st.cache_data`` keyed by accounts, period and the cache's data version.

Caches are global across users (the project's code habits), so every key includes the account ids
and a data
version that each sync bumps; the database *path* is cached, never a connection.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from dashboard import runtime
from services import analytics
from services.analytics import queries
from services.covers import refresh_stale_covers
from services.db import open_db

# Cache bounds. Every key holds the data version, which every sync moves, so after a sync the
# entries of the previous version are dead weight until evicted: a server grows by one entry
# per function per sync and page view until max_entries (bench/memory_bench.py: 289 -> 375 MiB
# over 100 syncs at 64 entries a function, 267 -> 286 MiB with the bounds below; an Insights
# entry was 1.5 MiB pickled for a 20,000-video account before tabs became lazy, one section
# each, at most 1,000 outlier points). max_entries is the
# memory bound (least recently used goes first), sized for a team of a few people with a few
# views each (accounts x period) open at once, so their live entries survive while yesterday's
# are evicted. PAGE_TTL only lets a quiet server forget views nobody reopened: Streamlit drops
# expired entries at the next write, and each expiry costs the next viewer a cold page (seconds
# for Insights at 50,000 videos), so it is half a working day, not an hour: a view drawn after
# the morning's sync stays warm for the team's next looks.
PAGE_TTL = "6h"
#: One entry per Insights tab viewed (lazy tabs: five per view at most); each holds one section's
#: answer (at most 1,000 outlier points), not every video.
INSIGHTS_ENTRIES = 40
OVERVIEW_ENTRIES = 16
#: One entry per sort / filter / page of the table; each is small (one page of 50 rows).
VIDEOS_ENTRIES = 32
#: One video's growth curve each; a person opens a handful of videos per visit.
VIDEO_DETAIL_ENTRIES = 64
#: Built plotly figures (two per Overview, one or two per Insights tab, one per video opened).
FIGURE_ENTRIES = 64


def data_version() -> int:
    with runtime.database() as db:
        return queries.data_version(db)


@st.cache_data(show_spinner=False, max_entries=OVERVIEW_ENTRIES, ttl=PAGE_TTL)
def _overview(db_path: str, accounts: tuple[tuple[str, str], ...], start: int, end: int,
              tz: str, version: int) -> analytics.OverviewData:
    refs = [analytics.AccountRef(oid, label) for oid, label in accounts]
    with open_db(db_path) as db:
        return analytics.overview(db, refs, start, end, tz)


@st.cache_data(show_spinner=False, max_entries=VIDEOS_ENTRIES, ttl=PAGE_TTL)
def _videos(db_path: str, open_ids: tuple[str, ...], tz: str, search: str,
            posted_from: int | None, posted_to: int | None, order_by: str, descending: bool,
            page: int, version: int) -> analytics.VideosData:
    with open_db(db_path) as db:
        return analytics.videos(db, open_ids, tz=tz, search=search, posted_from=posted_from,
                                posted_to=posted_to, order_by=order_by, descending=descending,
                                page=page)


@st.cache_data(show_spinner=False, max_entries=VIDEO_DETAIL_ENTRIES, ttl=PAGE_TTL)
def _video_detail(db_path: str, video_id: str, version: int) -> analytics.VideoDetail:
    with open_db(db_path) as db:
        return analytics.video_detail(db, video_id)


@st.cache_data(show_spinner=False, max_entries=INSIGHTS_ENTRIES, ttl=PAGE_TTL)
def _insights_section(db_path: str, open_ids: tuple[str, ...], start: int, end: int, tz: str,
                      section: str, version: int) -> analytics.InsightsSection:
    with open_db(db_path) as db:
        return analytics.insights_section(db, open_ids, start, end, tz, section)


@st.cache_resource(show_spinner=False, max_entries=FIGURE_ENTRIES, ttl=PAGE_TTL)
def _figure(name: str, key: tuple, version: int, _build: Callable[[], go.Figure]) -> go.Figure:
    # cache_resource: the figure object itself, not a pickle (unpickling a plotly figure
    # re-validates every property, which costs about as much as building it). Streamlit copies
    # a figure before sending it (plotly's to_dict), so sharing one between sessions is safe.
    return _build()


def figure(name: str, key: tuple, build: Callable[[], go.Figure], *, version: int) -> go.Figure:
    """The figure ``build`` draws, built once per data version: ``name`` and ``key`` (hashable:
    accounts, period, time zone, view options) must say everything ``build`` depends on, and
    ``version`` must be the one the page read its data at (a page reads :func:`data_version`
    once and passes it to its data and its figures: a sync finishing between the two would
    otherwise file a figure of the old data under the new version)."""
    return _figure(name, key, version, build)


def overview(accounts, start: int, end: int, tz: str, *,
             version: int | None = None) -> analytics.OverviewData:
    return _overview(str(runtime.settings().database_path),
                     tuple((a.open_id, a.label) for a in accounts), start, end, tz,
                     data_version() if version is None else version)


def videos(open_ids, tz: str, *, search: str = "", posted_from: int | None = None,
           posted_to: int | None = None, order_by: str = "create_time",
           descending: bool = True, page: int = 0) -> analytics.VideosData:
    args = (str(runtime.settings().database_path), tuple(open_ids), tz, search, posted_from,
            posted_to, order_by, descending, page)
    result = _videos(*args, data_version())
    if _renew_covers(result):
        _videos.clear()  # cover links are not part of the data version
        result = _videos(*args, data_version())
    return result


def _renew_covers(videos: analytics.VideosData) -> int:
    """TikTok's cover links expire after 6 h
    (https://developers.tiktok.com/doc/tiktok-api-v2-video-object): renew the stale ones shown.
    """
    if not videos.total:
        return 0
    renewed = 0
    client = runtime.client()
    with runtime.database() as db:
        for open_id, group in videos.table.groupby("open_id", sort=False):
            ids = [str(v) for v in group["video_id"]]  # one page: ≤ 3 video/query calls
            renewed += refresh_stale_covers(db, client, runtime.keyring(), str(open_id), ids)
    return renewed


def video_detail(video_id: str, *, version: int | None = None) -> analytics.VideoDetail:
    return _video_detail(str(runtime.settings().database_path), video_id,
                         data_version() if version is None else version)


def insights_section(open_ids, start: int, end: int, tz: str, section: str, *,
                     version: int | None = None) -> analytics.InsightsSection:
    return _insights_section(str(runtime.settings().database_path), tuple(open_ids), start, end,
                             tz, section, data_version() if version is None else version)
