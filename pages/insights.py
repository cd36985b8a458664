"""Insights: what to act on — top movers, velocity, outliers, when to post, hashtags, cadence."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import data, runtime, selection
from dashboard.components import chart, empty_state, format_value, missing_permission_notice
from services.analytics import charts
from services.analytics.metrics import PROVENANCE_LABELS
from services.safe_text import cell_text


def _note(insight, tz: str) -> None:
    """Say plainly when history is too short, instead of drawing zeros."""
    if not insight.enough_history and insight.note:
        st.info(insight.note, icon=":material/hourglass_top:")


def _velocity_table(velocity, labels: dict[str, str]) -> None:
    frame = velocity.frame.drop_duplicates("video_id")  # one row per video
    if len(frame) == 0:
        return
    marks = [c.removeprefix("views_") for c in frame.columns if c.startswith("views_")]
    # Title and posting day (unique per video), never TikTok's id.
    shown = pd.DataFrame(
        {"Video": frame["video_id"].map(lambda v: cell_text(labels.get(str(v), "Video")))})
    for mark in marks:
        shown[f"Views after {mark}"] = frame[f"views_{mark}"].astype("float64")
    shown = shown.sort_values(shown.columns[1], ascending=False, na_position="last").head(15)
    for column in shown.columns[1:]:
        shown[column] = shown[column].map(lambda v: "—" if pd.isna(v) else f"{v:,.0f}")
    st.dataframe(shown, hide_index=True)
    st.caption(
        "Blank = the video has not reached that age yet, or no snapshot was taken near "
        "it (history started later or syncs were missed)."
    )


def render() -> None:
    st.title("Insights")
    accounts = selection.accounts()
    if not accounts:
        empty_state(
            "No account selected",
            "Connect a TikTok account (or pick one in the sidebar) to see what works.",
        )
        return
    tz = runtime.settings().timezone
    period = selection.period()
    for account in accounts:  # say which permission is missing, not "run a sync"
        missing_permission_notice(account)
    st.caption(
        f"{period.label()} · times in {tz} · each chart says where its numbers come "
        f"from ({PROVENANCE_LABELS['tiktok_lifetime']}, "
        f"{PROVENANCE_LABELS['snapshot_difference']}, or derived)"
    )
    open_ids = [a.open_id for a in accounts]
    version = data.data_version()  # one read: the section and its figures share it
    # Lazy tabs: only the open one runs (and is sent to the browser); the open tab rides in
    # the URL (?tab=Hashtags) so a link opens the same section.
    tabs = st.tabs(list(TABS), key="tab", bind="query-params")
    # (.open is None only where tabs cannot track state; then the first tab is drawn.)
    chosen = next((i for i, tab in enumerate(tabs) if tab.open), 0)
    section, draw = list(TABS.values())[chosen]
    with tabs[chosen]:
        view = data.insights_section(open_ids, period.start, period.end, tz, section,
                                     version=version)
        key = (tuple(open_ids), period.start, period.end, tz)  # all a figure depends on
        figures = charts.insight_figures(view, tz=tz)

        def figure(name: str) -> None:
            chart(data.figure(name, key, figures[name], version=version), key=name)

        draw(view, tz, figure)


def _movers(view, tz: str, figure) -> None:
    _note(view.movers, tz)
    figure("movers")


def _velocity(view, tz: str, figure) -> None:
    _note(view.velocity_curves, tz)
    figure("velocity")
    st.markdown("**How fast videos posted in this period took off**")
    _note(view.velocity, tz)
    _velocity_table(view.velocity, view.labels)


def _outliers(view, tz: str, figure) -> None:
    _note(view.outliers, tz)
    figure("outliers")
    st.caption(
        "Videos posted in this period: lifetime views against their account's median "
        "over all its videos at least 7 days old. Far above: learn from it. Far below: "
        "check the hook."
    )


def _timing(view, tz: str, figure) -> None:
    _note(view.heatmap, tz)
    figure("heatmap")
    st.caption(
        "All time, not just this period: a time slot needs many posts to say anything. "
        "Colour = share of the slot's posts above their account's median views (one viral "
        "video cannot paint a slot; a slot with one post stays blank); the number in a "
        "cell is how many posts it holds. "
        "Posting rhythm below covers this period."
    )
    cadence = view.cadence
    cols = st.columns(3)
    cols[0].metric(
        "Posts per week",
        format_value(cadence.posts_per_week.value, "per_week"),
        help=cadence.posts_per_week.source(tz),
    )
    cols[1].metric(
        "Median gap between posts",
        _hours(cadence.median_gap_hours.value),
        help=cadence.median_gap_hours.source(tz),
    )
    cols[2].metric(
        "Longest gap",
        _hours(cadence.longest_gap_hours.value),
        help=cadence.longest_gap_hours.source(tz),
    )
    figure("cadence")


def _hashtags(view, tz: str, figure) -> None:
    _note(view.hashtags, tz)
    figure("hashtags")
    st.caption(
        "Videos posted in this period and at least 7 days old: median lifetime views of "
        "those using each hashtag (from titles and descriptions), against their median."
    )


#: Tab label -> (services.analytics section, what draws it), in services.analytics'
#: INSIGHT_SECTIONS order (a test holds the two equal).
TABS = {"Top movers": ("movers", _movers), "Velocity": ("velocity", _velocity),
        "Outliers": ("outliers", _outliers), "When to post": ("timing", _timing),
        "Hashtags": ("hashtags", _hashtags)}


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} h" if value < 48 else f"{value / 24:.1f} days"


render()
