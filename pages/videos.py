"""Videos: every video of the chosen accounts, sortable and filterable; pick one for its curve."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, runtime, selection, videos_table
from dashboard.components import chart, empty_state, format_value, missing_permission_notice
from dashboard.text import md_link, md_text
from services.analytics import VIDEO_PAGE_SIZE, charts
from services.analytics.metrics import engagement_rate, format_time

POSTED_CHOICES = ["Any time", "In the selected period"]
ORDER_WORDS = {
    "Posted": {True: "Newest first", False: "Oldest first"},
    "Title": {True: "Z to A", False: "A to Z"},
    None: {True: "Highest first", False: "Lowest first"},
}
#: Sort choices -> services.analytics.queries.VIDEO_SORT_COLUMNS (sorting and paging run in SQL).
SORTS = {
    "Posted": "create_time", "Views": "view_count", "Likes": "like_count",
    "Comments": "comment_count", "Shares": "share_count", "Engagement": "engagement_rate",
    "Title": "title",
}


def _detail(row: pd.Series, tz: str) -> None:
    version = data.data_version()  # one read: the curve and its figure share it
    detail = data.video_detail(str(row["video_id"]), version=version)
    title = row["title"] or row["description"] or f"Video {row['video_id']}"
    link = md_link("open on TikTok", row["share_url"])  # a link only to a checked TikTok URL
    with st.container(border=True):
        st.subheader(md_text(title))  # TikTok's title: text, never Markdown
        st.caption(
            f"Posted {format_time(int(row['create_time']), tz)} · {link} · as of "
            f"{format_time(int(row['captured_at']), tz)} (TikTok lifetime counters)"
            if pd.notna(row["captured_at"])
            else "Not snapshotted yet."
        )
        cols = st.columns(5)
        views = row["view_count"]
        er = (
            engagement_rate(row["like_count"], row["comment_count"], row["share_count"], views)
            if pd.notna(views)
            else None
        )
        for col, (label, value, unit) in zip(
            cols,
            [
                ("Views", views, "count"),
                ("Likes", row["like_count"], "count"),
                ("Comments", row["comment_count"], "count"),
                ("Shares", row["share_count"], "count"),
                ("Engagement", er, "ratio"),
            ],
            strict=True,
        ):
            col.metric(label, format_value(None if pd.isna(value) else value, unit))
        chart(data.figure("video_growth", (detail.video_id, tz),
                          lambda: charts.video_growth(detail.curve, tz=tz), version=version),
              key="video_growth")


def render() -> None:
    st.title("Videos")
    accounts = selection.accounts()
    tz = runtime.settings().timezone
    if not accounts:
        empty_state(
            "No account selected",
            "Connect a TikTok account (or pick one in the sidebar) to list its videos.",
        )
        return
    period = selection.period()
    search_col, posted_col, sort_col, order_col = st.columns([3, 2, 1.4, 1.4])
    search = search_col.text_input("Search titles and descriptions", key="video_search",
                                   placeholder="e.g. #recipe or soup", max_chars=200)
    posted = posted_col.selectbox("Posted", POSTED_CHOICES, key="video_posted")
    sort = sort_col.selectbox("Sort by", list(SORTS), key="video_sort")
    # The value is "descending?"; its words follow what is sorted ("Newest first" for dates).
    words = ORDER_WORDS.get(sort, ORDER_WORDS[None])
    descending = order_col.selectbox("Order", [True, False], key="video_order",
                                     format_func=words.get)
    order = words[descending]
    in_period = posted == POSTED_CHOICES[1]
    # A new filter or sort starts again at the first page.
    signature = (search.strip(), posted, sort, order, tuple(a.open_id for a in accounts))
    if st.session_state.get("video_filter_signature") != signature:
        st.session_state["video_filter_signature"] = signature
        st.session_state["video_page"] = 1
    page = int(st.session_state.get("video_page", 1))
    videos = data.videos(
        [a.open_id for a in accounts], tz, search=search.strip(),
        posted_from=period.start if in_period else None,
        posted_to=period.end if in_period else None,
        order_by=SORTS[sort], descending=descending, page=page - 1,
    )
    if videos.total == 0:
        if search or in_period:
            st.info("No videos match these filters.")
        elif not any([missing_permission_notice(a) for a in accounts]):
            empty_state("No videos yet",
                        "Videos appear after the first sync (Overview → Sync now). Only public "
                        "videos are available through TikTok's API.", link_accounts=False)
        return
    pages = max(1, -(-videos.total // VIDEO_PAGE_SIZE))
    if page > pages:  # fewer videos than when this page was chosen (a search, a sync)
        st.session_state["video_page"] = pages
        st.rerun()
    as_of = f" · as of {format_time(videos.as_of, tz)}" if videos.as_of else ""
    first = (page - 1) * VIDEO_PAGE_SIZE + 1
    st.caption(f"{videos.total:,} videos{as_of} · showing {first:,}–"
               f"{first + len(videos.table) - 1:,}. Select a row to see its growth.")
    names = {a.open_id: a.label for a in accounts}
    table = videos_table.frame(videos, names, len(accounts) > 1)
    event = videos_table.show(table, key="videos_table")
    if pages > 1:
        st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1,
                        key="video_page", width=160)
    rows = event.selection.rows if event is not None else []
    if rows:
        _detail(videos.table.iloc[rows[0]], tz)
    else:
        st.caption("Select a video above to see its views over time.")


render()
