"""Plotly figures for the Overview, Videos and Insights pages: frames in, ``go.Figure`` out.

Pure functions (the project's code habits "Figures are built by pure functions"): no Streamlit,
no I/O, so tests assert on traces without a browser. Every chart uses one template
(:data:`TEMPLATE`: palette, fonts, grid, hover labels with thousands separators) and says where
its numbers come from in a subtitle ("Difference between Reelboard snapshots, as of 3 Jun 2026
05:00"). When the history cannot answer, a chart becomes :func:`empty_figure` with the metric's
note instead of an empty or all-zero plot.

Pages should draw with ``st.plotly_chart(fig, theme=None)``: Streamlit's default theme
replaces the template's colours.

Inputs are the results of :mod:`services.analytics.metrics` (an ``Insight`` or its frame). Times on
the x axes are wall-clock times in the viewer's zone (``tz``).

Every string that comes from TikTok (account names, video titles, hashtags, ids) passes through
:func:`services.safe_text.plot_label` before it becomes a trace name, tick label or hover value:
plotly reads those as pseudo-HTML (``<a href>``, ``<span style>``) and ``$…$`` as LaTeX.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from services.analytics.metrics import (
    MIN_CELL_POSTS,
    PROVENANCE_LABELS,
    VELOCITY_MARKS_HOURS,
    Insight,
    format_time,
    mark_label,
)
from services.safe_text import plain_text, plot_label

if TYPE_CHECKING:  # views builds on metrics and queries; only its result types are named here
    from services.analytics.views import InsightsSection, OverviewData

# One palette for every chart: TikTok red first (the app's primaryColor), then hues that stay
# distinct for colour-blind viewers when several accounts are compared.
PALETTE = (
    "#FE2C55",
    "#2563EB",
    "#0D9488",
    "#F59E0B",
    "#7C3AED",
    "#0EA5E9",
    "#65A30D",
    "#DB2777",
)
TEXT = "#161823"
MUTED = "#6B7280"
GRID = "#E5E7EB"
ABOVE = "#0D9488"
BELOW = "#FE2C55"
TYPICAL = "#94A3B8"
FAINT = "#CBD5E1"
HEATMAP_SCALE = [[0.0, "#FFF1F3"], [0.35, "#FFB3C1"], [0.7, "#FF5C7A"], [1.0, "#B8002A"]]

#: Characters per subtitle line (about a 700 px wide chart at 12 px).
SUBTITLE_WIDTH = 110

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 13, "color": TEXT},
        colorway=list(PALETTE),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        title={"x": 0, "xanchor": "left", "font": {"size": 16, "color": TEXT}},
        xaxis={
            "showgrid": False,
            "linecolor": GRID,
            "ticks": "outside",
            "tickcolor": GRID,
            "zeroline": False,
            "automargin": True,
            "title": {"font": {"color": MUTED}},
        },
        yaxis={
            "gridcolor": GRID,
            "zeroline": False,
            "automargin": True,
            "tickformat": "~s",
            "rangemode": "tozero",
            "title": {"font": {"color": MUTED}},
        },
        # Left-aligned just above the plot, under the title and subtitle: never over them.
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "xanchor": "left",
            "x": 0,
            "title": {"text": ""},
            "bgcolor": "rgba(0,0,0,0)",
        },
        hoverlabel={"bgcolor": "white", "bordercolor": GRID, "font": {"size": 12}},
        hovermode="closest",
        margin={"l": 8, "r": 8, "t": 104, "b": 8},
        bargap=0.2,
        separators=".,",
    )
)

STATUS_LABELS = {
    "observed": "measured",
    "estimated": "estimated: spread across a gap in syncs",
    "partial": "partial: only part of this period has snapshots",
    "missing": "no snapshots",
}
RATED = ("above", "typical", "below")
FLAG_STYLE = {
    "above": ("Above median", ABOVE),
    "typical": ("Typical", TYPICAL),
    "below": ("Below median", BELOW),
    "too_new": ("Too new to judge", FAINT),
    "not_compared": ("Not compared", FAINT),
}


# --------------------------------------------------------------------------------------------
# shared pieces


def _frame_of(data: Insight | pd.DataFrame) -> tuple[pd.DataFrame, Insight | None]:
    return (data.frame, data) if isinstance(data, Insight) else (data, None)


def source_line(insight: Insight | None, tz: str, *, extra: str | None = None) -> str:
    """The subtitle: provenance, as-of time, and any caveat."""
    parts = []
    if insight is not None:
        text = PROVENANCE_LABELS[insight.provenance]
        text = text[0].upper() + text[1:]
        if insight.as_of is not None:
            text += f", as of {format_time(insight.as_of, tz)}"
        parts.append(text)
        if insight.note and insight.enough_history:
            parts.append(insight.note)
    if extra:
        parts.append(extra)
    return " · ".join(parts)


def _wrap_parts(text: str, width: int = SUBTITLE_WIDTH) -> list[str]:
    """Lines of at most ``width`` characters, broken at " · " between parts where possible."""
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.extend(textwrap.wrap(part, width) or [""])
    return lines or [""]


def _layout(
    fig: go.Figure,
    *,
    title: str,
    subtitle: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
    height: int = 360,
    layout: Mapping[str, Any] | None = None,
) -> go.Figure:
    """Title, subtitle, axis titles and the template, plus any other ``layout`` keys.

    The figure is rebuilt in one constructor call rather than updated: each plotly update of a
    figure that has traces re-validates it (an update costs ~3x a constructor; the Overview's
    two charts took 25 ms each). Axis entries (``xaxis``, ``yaxis2`` …) are merged, not
    replaced.
    """
    # Plotly does not wrap subtitles: break long ones and make room for the extra lines.
    lines = _wrap_parts(subtitle)
    merged = fig.layout.to_plotly_json()
    merged.update(
        template=TEMPLATE,
        title={
            "text": title,
            "subtitle": {"text": "<br>".join(lines), "font": {"color": MUTED, "size": 12}},
        },
        height=height + 16 * (len(lines) - 1),
        margin={**merged.get("margin", {}), "t": 104 + 16 * (len(lines) - 1)},
    )
    for axis, text in (("x", x_title), ("y", y_title)):
        if text is None:
            continue
        names = [k for k in merged if k[:5] == f"{axis}axis"] or [f"{axis}axis"]
        for name in names:
            merged[name] = {**merged.get(name, {}),
                            "title": {**merged.get(name, {}).get("title", {}), "text": text}}
    for key, value in (layout or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return go.Figure(data=fig.data, layout=merged)


def empty_figure(message: str, *, title: str = "", height: int = 320) -> go.Figure:
    """A designed empty state: the reason in the middle, no axes, no zeros."""
    fig = go.Figure()
    fig.add_annotation(
        text="<br>".join(textwrap.wrap(message, 64)) or message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"size": 14, "color": MUTED},
        align="center",
    )
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _guide(axis: str, value: float, label: str = "", *, color: str = MUTED, dash: str = "dot"):
    """A reference line across the plot (and its label) as plain layout dicts.

    Cheaper than ``fig.add_vline``/``add_hline``, which re-resolve subplots on every call.
    """
    across = "y" if axis == "x" else "x"
    shape = {
        "type": "line",
        "xref": "x" if axis == "x" else "paper",
        "yref": "paper" if axis == "x" else "y",
        f"{axis}0": value,
        f"{axis}1": value,
        f"{across}0": 0,
        f"{across}1": 1,
        "line": {"color": color, "dash": dash, "width": 1.5},
        "layer": "below",
    }
    if not label:
        return shape, None
    note = {
        "text": label,
        "showarrow": False,
        "font": {"color": MUTED, "size": 11},
        "xref": "x" if axis == "x" else "paper",
        "yref": "paper" if axis == "x" else "y",
        "x": value if axis == "x" else 1,
        "y": 1 if axis == "x" else value,
        "xanchor": "left" if axis == "x" else "right",
        "yanchor": "bottom",
    }
    return shape, note


def _add_guides(fig: go.Figure, guides: list[tuple[dict, dict | None]]) -> None:
    fig.update_layout(
        shapes=[*fig.layout.shapes, *(g[0] for g in guides)],
        annotations=[*fig.layout.annotations, *(g[1] for g in guides if g[1] is not None)],
    )


def _wall_clock(values: pd.Series, tz: str) -> pd.Series:
    """Wall-clock times in ``tz`` without offset (plotly draws offsets as UTC)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values if values.dt.tz is not None else values.dt.tz_localize("UTC")
    else:
        stamps = pd.to_datetime(values.astype("Float64"), unit="s", utc=True)
    return stamps.dt.tz_convert(tz).dt.tz_localize(None)


def _name(open_id: str, names: Mapping[str, str] | None) -> str:
    """An account's name as a trace name (legend and ``%{fullData.name}``), escaped."""
    return plot_label((names or {}).get(open_id, open_id))


def _short(text: object, limit: int = 42) -> str:
    """A title cut to ``limit`` characters and escaped for plotly (cut first, so an entity is
    never cut in half)."""
    text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else text
    text = plain_text(text) or "(untitled)"
    return plot_label(text if len(text) <= limit else text[: limit - 1] + "…")


def _distinct(labels: list[str]) -> list[str]:
    """Category labels made unique (plotly merges equal categories into one bar)."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out


def _empty_or_none(insight: Insight | None, frame: pd.DataFrame, title: str) -> go.Figure | None:
    if insight is not None and not insight.enough_history:
        return empty_figure(insight.note or "Not enough history yet.", title=title)
    if len(frame) == 0:
        return empty_figure("No data for this selection yet.", title=title)
    return None


# --------------------------------------------------------------------------------------------
# Overview


def trend_lines(
    trend: Insight | pd.DataFrame,
    column: str,
    *,
    tz: str,
    title: str,
    y_title: str,
    names: Mapping[str, str] | None = None,
) -> go.Figure:
    """A lifetime counter over time, one line per account (accounts compared)."""
    frame, insight = _frame_of(trend)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    fig = go.Figure()
    for i, (open_id, rows) in enumerate(frame.groupby("open_id", sort=False)):
        rows = rows.dropna(subset=[column]).sort_values("captured_at")
        fig.add_trace(
            go.Scatter(
                x=_wall_clock(rows["captured_at"], tz),
                y=rows[column].astype("float64"),
                mode="lines+markers" if len(rows) <= 60 else "lines",
                name=_name(open_id, names),
                line={"width": 2.5, "color": PALETTE[i % 8]},
                marker={"size": 5},
                hovertemplate=f"%{{x|%a %d %b %Y %H:%M}}<br>%{{y:,.0f}} {y_title.lower()}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    return _layout(fig, title=title, subtitle=source_line(insight, tz), y_title=y_title,
                   layout={"yaxis": {"rangemode": "normal"}, "hovermode": "x unified",
                           "showlegend": bool(frame["open_id"].nunique() > 1)})


def follower_trend(
    trend: Insight | pd.DataFrame, *, tz: str, names: Mapping[str, str] | None = None
) -> go.Figure:
    """Followers over time per account."""
    return trend_lines(
        trend, "follower_count", tz=tz, title="Followers", y_title="Followers", names=names
    )


def gained_bars(
    gained: Insight | pd.DataFrame,
    column: str = "views_gained",
    *,
    tz: str,
    freq: str = "day",
    names: Mapping[str, str] | None = None,
    title: str | None = None,
) -> go.Figure:
    """Gains per day or ISO week (from :func:`services.analytics.metrics.gained_per_period`).

    Estimated buckets (spread across a sync gap) are hatched, partial ones faded; missing
    ones have no bar and are counted in the subtitle, never drawn as 0.
    """
    what = column.replace("_gained", "").replace("_", " ")
    title = title or f"{what.capitalize()} gained per {freq}"
    frame, insight = _frame_of(gained)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    fig = go.Figure()
    multi = frame["open_id"].nunique() > 1
    period_fmt = "%a %d %b %Y" if freq == "day" else "week of %d %b %Y"
    for i, (open_id, rows) in enumerate(frame.groupby("open_id", sort=False)):
        shown = rows[rows["status"] != "missing"]
        status = shown["status"].astype(str).to_numpy()
        colour = PALETTE[i % 8] if multi else PALETTE[0]
        fig.add_trace(
            go.Bar(
                x=_wall_clock(shown["period_start"], tz),
                y=shown[column].astype("float64"),
                name=_name(open_id, names),
                marker={
                    "color": colour,
                    "opacity": np.where(status == "partial", 0.45, 1.0),
                    "pattern": {
                        "shape": np.where(status == "estimated", "/", "").tolist(),
                        "fillmode": "overlay",
                        "fgcolor": "white",
                        "size": 6,
                    },
                },
                customdata=np.array([STATUS_LABELS[s] for s in status], dtype=object),
                hovertemplate=f"%{{x|{period_fmt}}}<br>%{{y:,.0f}} {what} gained"
                "<br>%{customdata}<extra>%{fullData.name}</extra>",
            )
        )
    missing = int((frame["status"] == "missing").sum())
    extra = (
        f"{missing} {freq}{'s' if missing != 1 else ''} without snapshots not shown"
        if missing
        else None
    )
    return _layout(
        fig,
        title=title,
        subtitle=source_line(insight, tz, extra=extra),
        y_title=f"{what.capitalize()} gained",
        layout={"barmode": "group", "showlegend": bool(multi),
                **({"xaxis": {"tickformat": "%-d %b"}} if freq == "week" else {})},
    )


# --------------------------------------------------------------------------------------------
# Videos


def video_growth(
    curve: Insight | pd.DataFrame, *, tz: str, title: str = "Views over time"
) -> go.Figure:
    """One video's lifetime views at each snapshot (from :func:`metrics.growth_curves`);
    hover adds likes, comments and shares."""
    frame, insight = _frame_of(curve)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    rows = frame.sort_values("captured_at")
    extra = rows[["like_count", "comment_count", "share_count", "hours_since_posting"]]
    fig = go.Figure(
        go.Scatter(
            x=_wall_clock(rows["captured_at"], tz),
            y=rows["view_count"].astype("float64"),
            mode="lines+markers" if len(rows) <= 60 else "lines",
            name="Views",
            line={"width": 2.5, "color": PALETTE[0]},
            marker={"size": 5},
            fill="tozeroy",
            fillcolor="rgba(254,44,85,0.08)",
            customdata=extra.astype("float64").to_numpy(),
            hovertemplate="%{x|%a %d %b %Y %H:%M}<br><b>%{y:,.0f} views</b>"
            "<br>%{customdata[0]:,.0f} likes · %{customdata[1]:,.0f} comments"
            " · %{customdata[2]:,.0f} shares<br>%{customdata[3]:,.0f} h after posting"
            "<extra></extra>",
        )
    )
    fig = _layout(fig, title=title, subtitle=source_line(insight, tz), y_title="Views")
    fig.update_layout(showlegend=False)
    return fig


# --------------------------------------------------------------------------------------------
# Insights


def posting_heatmap(heatmap: Insight | pd.DataFrame, *, tz: str) -> go.Figure:
    """Share of posts above the account's median by weekday x 3-hour block, with the number
    of posts written in each cell (from :func:`metrics.posting_heatmap`). All time: a slot
    needs many posts to say anything, more than one period holds."""
    title = "When posts do best"
    frame, insight = _frame_of(heatmap)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    grid = frame.sort_values(["weekday", "hour"])
    hours = sorted(grid["hour"].unique().tolist())
    shape = (7, len(hours))
    z = grid["score"].to_numpy(dtype="float64").reshape(shape)
    counts = grid["videos"].to_numpy(dtype="int64").reshape(shape)
    medians = grid["median_views"].to_numpy(dtype="float64").reshape(shape)
    shares = grid["share_above_median"].to_numpy(dtype="float64").reshape(shape)
    days = grid["weekday_name"].to_numpy().reshape(shape)[:, 0].tolist()
    step = hours[1] - hours[0] if len(hours) > 1 else 24
    labels = [f"{h:02d}–{(h + step) % 24:02d}" for h in hours]
    text = np.where(counts > 0, counts.astype(str), "")
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=days,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 11},
            customdata=np.dstack([counts, np.nan_to_num(medians, nan=-1), shares]),
            colorscale=HEATMAP_SCALE,
            zmin=0,
            zmax=1,
            hoverongaps=True,
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "Above median"}, "tickformat": ".0%", "thickness": 12,
            },
            hovertemplate="%{y} %{x}<br><b>%{customdata[0]:,} posts</b>"
            "<br>%{customdata[2]:.0%} above the account's median"
            "<br>%{customdata[1]:,.0f} median views<extra></extra>",
        )
    )
    fig = _layout(
        fig,
        title=title,
        subtitle=source_line(
            insight, tz,
            extra=f"all time · videos 7+ days old · number = posts · coloured with "
            f"{MIN_CELL_POSTS}+",
        ),
        x_title=f"Hours posted ({tz})",
        y_title=None,
        height=380,
    )
    fig.update_yaxes(autorange="reversed", showgrid=False, tickformat="")
    fig.update_xaxes(showgrid=False, type="category")
    return fig


def hashtag_bars(tags: Insight | pd.DataFrame, *, tz: str = "UTC", top: int = 15) -> go.Figure:
    """Median views of videos using each hashtag (most used ``top``), all-videos median
    marked (from :func:`metrics.hashtag_performance`)."""
    title = "Hashtags"
    frame, insight = _frame_of(tags)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    rows = frame.head(top).iloc[::-1]  # plotly draws the first bar at the bottom
    fig = go.Figure(
        go.Bar(
            y=["#" + plot_label(t) for t in rows["tag"]],
            x=rows["median_views"].astype("float64"),
            orientation="h",
            marker={"color": PALETTE[1]},
            text=[f"{n:,} video{'s' if n != 1 else ''}" for n in rows["videos"]],
            textposition="auto",
            customdata=np.column_stack(
                [rows["share_of_videos"].astype("float64"), rows["lift"].astype("float64")]
            ),
            hovertemplate="%{y}<br><b>%{x:,.0f}</b> median views · %{text}"
            "<br>%{customdata[0]:.0%} of videos · %{customdata[1]:.2f}× the median"
            "<extra></extra>",
        )
    )
    lift = rows["lift"].astype("float64")
    ok = lift.notna() & (lift > 0)
    if ok.any():
        overall = float((rows["median_views"][ok] / lift[ok]).iloc[0])
        _add_guides(fig, [_guide("x", overall, "all videos")])
    fig = _layout(
        fig,
        title=title,
        subtitle=source_line(insight, tz),
        x_title="Median views",
        height=max(300, 60 + 26 * len(rows)),
    )
    fig.update_xaxes(tickformat="~s", showgrid=True, gridcolor=GRID)
    fig.update_yaxes(showgrid=False, tickformat="")
    return fig


def velocity_curves(
    curves: Insight | pd.DataFrame,
    *,
    titles: Mapping[str, str] | None = None,
    tz: str = "UTC",
    max_hours: float = 672,
) -> go.Figure:
    """Views against hours since posting for a few videos (from :func:`metrics.growth_curves`
    over ``queries.growth_curves``), with the 24 h / 7 d / 28 d marks."""
    title = "Early growth"
    frame, insight = _frame_of(curves)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    fig = go.Figure()
    for i, (video_id, rows) in enumerate(frame.groupby("video_id", sort=False)):
        rows = rows[rows["hours_since_posting"] <= max_hours].sort_values("captured_at")
        name = _short((titles or {}).get(video_id, "Video"), 48)
        fig.add_trace(
            go.Scatter(
                x=rows["hours_since_posting"].astype("float64"),
                y=rows["view_count"].astype("float64"),
                mode="lines+markers",
                name=name,
                line={"width": 2.2, "color": PALETTE[i % 8], "shape": "linear"},
                marker={"size": 4},
                hovertemplate="%{x:,.0f} h after posting<br><b>%{y:,.0f} views</b>"
                "<extra>%{fullData.name}</extra>",
            )
        )
    _add_guides(
        fig,
        [
            _guide("x", hours, mark_label(hours), color=GRID)
            for hours in VELOCITY_MARKS_HOURS
            if hours <= max_hours
        ],
    )
    fig = _layout(
        fig,
        title=title,
        subtitle=source_line(insight, tz),
        x_title="Hours since posting",
        y_title="Views",
    )
    fig.update_xaxes(tickvals=[0, 24, 72, 168, 336, 504, 672], range=[0, max_hours * 1.02])
    fig.update_layout(
        legend={"orientation": "v", "yanchor": "top", "y": 1, "x": 1.02, "xanchor": "left"}
    )
    return fig


def top_movers_bar(
    movers: Insight | pd.DataFrame,
    *,
    tz: str = "UTC",
    title: str = "Top movers",
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Views gained in the period per video, biggest on top; videos posted during the
    period in a second colour (from :func:`metrics.top_movers`). ``labels``: video_id ->
    what people call the video (``analytics.video_labels``: title and posting day); without
    it, the title and posting day. Never TikTok's id."""
    frame, insight = _frame_of(movers)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    rows = frame.sort_values("views_gained").reset_index(drop=True)  # biggest drawn on top
    names = [
        (labels or {}).get(str(v))
        or f"{t or 'Untitled video'} · {format_time(int(c), tz, with_time=False)}"
        for t, v, c in zip(rows["title"], rows["video_id"], rows["create_time"], strict=True)
    ]
    labels = _distinct([_short(n, 56) for n in names])
    fig = go.Figure()
    for baseline, name, colour in (
        ("snapshot", "Older videos", PALETTE[0]),
        ("posted_in_period", "Posted in the period", PALETTE[1]),
    ):
        mask = (rows["baseline"] == baseline).to_numpy()
        if not mask.any():
            continue
        part = rows[mask]
        fig.add_trace(
            go.Bar(
                y=[labels[i] for i in np.flatnonzero(mask)],
                x=part["views_gained"].astype("float64"),
                orientation="h",
                name=name,
                marker={"color": colour},
                customdata=np.column_stack(
                    [
                        part["views_end"].astype("float64"),
                        part["views_per_day"].astype("float64")
                        if "views_per_day" in part
                        else np.full(len(part), np.nan),
                    ]
                ),
                hovertemplate="%{y}<br><b>+%{x:,.0f} views</b> in the period"
                "<br>%{customdata[1]:,.0f} a day · %{customdata[0]:,.0f} lifetime"
                "<extra>%{fullData.name}</extra>",
            )
        )
    fig = _layout(
        fig,
        title=title,
        subtitle=source_line(insight, tz),
        x_title="Views gained",
        height=max(300, 70 + 28 * len(rows)),
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels, showgrid=False, tickformat="")
    fig.update_xaxes(tickformat="~s", showgrid=True, gridcolor=GRID)
    fig.update_layout(barmode="overlay", showlegend=rows["baseline"].nunique() > 1)
    return fig


def outlier_scatter(
    outliers: Insight | pd.DataFrame, *, tz: str = "UTC", ratio: float = 3.0
) -> go.Figure:
    """Lifetime views against age, coloured above / typical / below the account median
    (from :func:`metrics.outliers`); log scales, median line(s) dashed."""
    title = "Videos against the account's median"
    frame, insight = _frame_of(outliers)
    empty = _empty_or_none(insight, frame, title)
    if empty is not None:
        return empty
    rows = frame[(frame["flag"] != "no_data") & (frame["view_count"].astype("Float64") > 0)]
    rows = rows[rows["age_days"] > 0]
    fig = go.Figure()
    for flag, (name, colour) in FLAG_STYLE.items():
        part = rows[rows["flag"] == flag]
        if len(part) == 0:
            continue
        fig.add_trace(
            go.Scattergl(
                x=part["age_days"].astype("float64"),
                y=part["view_count"].astype("float64"),
                mode="markers",
                name=name,
                marker={
                    "color": colour,
                    "size": 7 if flag in ("above", "below") else 5,
                    "opacity": 0.9 if flag in ("above", "below") else 0.55,
                    "line": {"width": 0},
                },
                text=[_short(t, 60) for t in part["title"]]
                if "title" in part
                else [plot_label(v) for v in part["video_id"].astype(str)],
                customdata=part["ratio"].astype("float64").to_numpy(),
                hovertemplate="<b>%{text}</b><br>%{y:,.0f} views at %{x:,.0f} days"
                + ("<br>%{customdata:.1f}× the median" if flag in RATED else "")
                + "<extra>%{fullData.name}</extra>",
            )
        )
    medians = frame.dropna(subset=["account_median"]).groupby("open_id")["account_median"]
    if medians.ngroups == 1:
        median = float(medians.first().iloc[0])
        # Log axis: annotations take log10 positions, shapes take data values.
        guides = [
            _guide("y", median, "", dash="dash"),
            _guide("y", median * ratio),
            _guide("y", median / ratio),
        ]
        _add_guides(fig, guides)
        note = _guide("y", float(np.log10(median)), "account median")[1]
        fig.update_layout(annotations=[*fig.layout.annotations, note])
    fig = _layout(
        fig,
        title=title,
        subtitle=source_line(insight, tz),
        x_title="Age since posting",
        y_title="Views (lifetime)",
        height=420,
    )
    ages = {1: "1 day", 7: "1 week", 30: "1 month", 91: "3 months", 365: "1 year", 1095: "3 years"}
    fig.update_xaxes(type="log", tickangle=0, tickvals=list(ages), ticktext=list(ages.values()))
    # Only 1, 2 and 5 in each decade get a label: every digit crowds the axis on a short range.
    fig.update_yaxes(type="log", rangemode="normal", dtick="D2")
    return fig


def cadence_bars(weekly: pd.DataFrame, *, tz: str, title: str = "Posts per week") -> go.Figure:
    """Posts per ISO week (from :attr:`metrics.Cadence.weekly`): real zeros, not missing."""
    if len(weekly) == 0:
        return empty_figure("No weeks in this period.", title=title)
    fig = go.Figure(
        go.Bar(
            x=_wall_clock(weekly["week_start"], tz),
            y=weekly["posts"].astype("float64"),
            marker={"color": PALETTE[2]},
            hovertemplate="Week of %{x|%d %b %Y}<br><b>%{y:,.0f}</b> posts<extra></extra>",
        )
    )
    fig = _layout(
        fig, title=title, subtitle=f"From TikTok's video list · ISO weeks in {tz}", y_title="Posts"
    )
    fig.update_xaxes(tickformat="%d %b")
    fig.update_yaxes(tickformat=",d")
    return fig


# -- Each page's figures, as one table ---------------------------------------------------------
# The page draws these (through its figure cache) and bench/pages_bench.py times these, so the
# benchmark cannot drift from what a page pays. Builders are thunks: a cached figure is not
# built at all.

Builders = dict[str, Callable[[], go.Figure]]


def overview_figures(overview: OverviewData, *, tz: str, names: Mapping[str, str]) -> Builders:
    """The single-account Overview's charts: follower trend and views gained."""
    return {
        "followers": lambda: follower_trend(overview.followers, tz=tz, names=names),
        "views_gained": lambda: gained_bars(overview.gained, tz=tz, freq=overview.freq,
                                            names=names),
    }


def insight_figures(view: InsightsSection, *, tz: str) -> Builders:
    """The charts of one Insights section (``view.section``), in the order the tab draws them."""
    v = view
    match v.section:
        case "movers":
            return {"movers": lambda: top_movers_bar(v.movers, tz=tz, labels=v.labels)}
        case "velocity":
            return {"velocity": lambda: velocity_curves(v.velocity_curves, titles=v.labels,
                                                        tz=tz)}
        case "outliers":
            return {"outliers": lambda: outlier_scatter(v.outliers, tz=tz)}
        case "timing":
            return {"heatmap": lambda: posting_heatmap(v.heatmap, tz=tz),
                    "cadence": lambda: cadence_bars(v.cadence.weekly, tz=tz)}
        case "hashtags":
            return {"hashtags": lambda: hashtag_bars(v.hashtags, tz=tz)}
    raise ValueError(f"no figures for Insights section {v.section!r}")
