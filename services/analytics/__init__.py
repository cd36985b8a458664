"""Analytics: what the Overview, Videos and Insights pages (and the weekly report) show.

``queries`` reads the SQLite cache (aggregating in SQL), ``metrics`` turns the rows into
answers with their provenance (pure functions), ``charts`` and ``comparison`` draw them with
plotly, ``hashtags`` parses captions (at sync), and ``views`` assembles each page's data. The
public surface below is what the dashboard and the report use.
"""

from services.analytics.views import (
    INSIGHT_SECTIONS,
    VIDEO_PAGE_SIZE,
    AccountRef,
    History,
    InsightsSection,
    OverviewData,
    VideoDetail,
    VideosData,
    insights_section,
    overview,
    video_detail,
    video_labels,
    videos,
)

__all__ = [
    "INSIGHT_SECTIONS",
    "VIDEO_PAGE_SIZE",
    "AccountRef",
    "History",
    "InsightsSection",
    "OverviewData",
    "VideoDetail",
    "VideosData",
    "insights_section",
    "overview",
    "video_detail",
    "video_labels",
    "videos",
]
