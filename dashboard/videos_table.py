"""The Videos page's table: which columns, in what order, and how wide.

Streamlit's dataframe is a canvas grid that clips a cell to its column's width (after a sort,
"5,079,542" showed as "079,542"), so every column gets an explicit width that fits the widest
value on the page, and the whole table fits the room at a 1400 px window. Title and the
TikTok link are pinned: they stay on screen while a narrow (phone) window scrolls the numbers.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from services.safe_text import cell_text, safe_tiktok_url

#: Room for the table at a 1400 px window: minus the sidebar (at most 336 px by default) and
#: the wide layout's side padding (2 x 80 px), rounded down.
TABLE_WIDTH_PX = 900
#: A digit or comma in the grid's 14 px font is at most 8 px wide; a cell pads 8 px each side.
CHAR_PX, PADDING_PX = 8, 16
#: Numbers get room for at least this many characters ("10,000,000"), so a bigger video after
#: the next sync still fits.
MIN_NUMBER_CHARS = 10
MIN_TITLE_PX = 140
#: The pinned title and link leave Views on screen at 390 px (checkbox 32 + 160 + 64 + 96 =
#: 352 px of the phone's 356).
MAX_TITLE_PX = 160

FIXED_PX = {
    "cover": 56,
    "link": 64,
    "account": 120,
    "posted": 104,
    "engagement": 96,
    "views_per_day": 88,
    "trend": 100,
}
NUMBER_COLUMNS = ("views", "likes")


def frame(videos, names: dict[str, str], many_accounts: bool) -> pd.DataFrame:
    """The cells, all plain text or numbers (TikTok's text through ``cell_text``)."""
    t = videos.table
    title = t["title"].fillna("")
    per_day = t["recent_views_per_day"] if "recent_views_per_day" in t else t["views_per_day"]
    out = pd.DataFrame(
        {
            "cover": t["cover_image_url"],
            # Cells are plain text: one clean line each, never a formula in a downloaded CSV.
            "title": title.where(title != "", t["description"].fillna("")).map(cell_text),
            # A link only when it is an https TikTok URL (safe_tiktok_url); else no link.
            "link": t["share_url"].map(safe_tiktok_url),
            "account": t["open_id"].map(names).map(cell_text),
            "posted": t["posted"].dt.tz_localize(None),
            "views": t["view_count"].astype("float64"),
            "likes": t["like_count"].astype("float64"),
            "engagement": t["engagement_rate"].astype("float64") * 100,
            # Text, so a video with too little history says "new" rather than "None".
            "views_per_day": per_day.map(lambda v: "new" if pd.isna(v) else f"{v:,.0f}"),
            "trend": t["video_id"].map(lambda vid: videos.sparklines.get(str(vid), [])),
        }
    )
    # Several accounts: the account's name instead of likes (in the detail below the table).
    return out.drop(columns=["likes"] if many_accounts else ["account"])


def widths(table: pd.DataFrame) -> dict[str, int]:
    """Pixel width per column: numbers fit their widest value, the title takes what is left
    (up to MAX_TITLE_PX)."""
    out = {c: FIXED_PX[c] for c in table.columns if c in FIXED_PX}
    for column in NUMBER_COLUMNS:
        if column in table:
            values = table[column].dropna()
            chars = max([len(f"{v:,.0f}") for v in values] + [MIN_NUMBER_CHARS])
            out[column] = chars * CHAR_PX + PADDING_PX
    out["title"] = max(MIN_TITLE_PX, min(MAX_TITLE_PX, TABLE_WIDTH_PX - sum(out.values())))
    return out


def column_config(table: pd.DataFrame) -> dict:
    w = widths(table)
    config = {
        "cover": st.column_config.ImageColumn("Cover", width=w["cover"]),
        "title": st.column_config.TextColumn("Title", width=w["title"], pinned=True),
        "link": st.column_config.LinkColumn(
            "TikTok", display_text="Open ↗", width=w["link"], pinned=True
        ),
        "account": st.column_config.TextColumn("Account", width=w.get("account")),
        "posted": st.column_config.DatetimeColumn("Posted", format="D MMM YYYY", width=w["posted"]),
        "views": st.column_config.NumberColumn("Views", format="localized", width=w["views"]),
        "likes": st.column_config.NumberColumn("Likes", format="localized", width=w.get("likes")),
        "engagement": st.column_config.NumberColumn(
            "Engagement",
            format="%.2f%%",
            width=w["engagement"],
            help="(likes + comments + shares) / views, lifetime — derived from TikTok's counters",
        ),
        "views_per_day": st.column_config.TextColumn(
            "Views/day",
            width=w["views_per_day"],
            alignment="right",
            help="Views gained over the last day between Reelboard snapshots; “new” until a "
            "video has 12 h of snapshots",
        ),
        "trend": st.column_config.BarChartColumn(
            "Views per day",
            width=w["trend"],
            help="Views gained per day between Reelboard snapshots, oldest first",
        ),
    }
    return {k: v for k, v in config.items() if k in table.columns}


#: After the pinned title and link, the numbers come first: at 390 px Views is on screen
#: beside them and the rest is one sideways swipe away; the cover comes last.
ORDER = (
    "title",
    "link",
    "views",
    "views_per_day",
    "trend",
    "engagement",
    "likes",
    "account",
    "posted",
    "cover",
)


def show(table: pd.DataFrame, *, key: str, height: int = 420):
    """Draw the table (single-row selection); returns Streamlit's selection event."""
    return st.dataframe(
        table,
        column_config=column_config(table),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        height=height,
        row_height=56,
        column_order=[c for c in ORDER if c in table.columns],
    )
