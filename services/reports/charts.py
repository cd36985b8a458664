"""The report preview's figure: views gained this week against the week before, per account.

A pure function (report in, ``go.Figure`` out) in the house style of :mod:`analytics.charts`.
Account names come from TikTok: plotly renders a subset of HTML in tick labels and hover
text, so every outside string is HTML-escaped (plotly shows ``&lt;b&gt;`` as ``<b>``).
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from services.analytics.charts import PALETTE, TEMPLATE, empty_figure
from services.analytics.charts import _layout as layout
from services.analytics.metrics import format_time
from services.reports.model import WeeklyReport

PREVIOUS_COLOUR = "#CBD5E1"


def as_plot_text(text: object, limit: int = 40) -> str:
    """Outside text for a plotly label: whitespace collapsed, clipped, HTML-escaped."""
    value = " ".join(str(text or "").split()) or "(unnamed)"
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=False)


def views_gained_chart(report: WeeklyReport) -> go.Figure:
    """Grouped bars: views gained in the report week and the week before, per account."""
    # Short enough for a phone's width: plotly cuts a long title instead of wrapping it.
    title = f"Views gained, {report.week.key} vs {report.week.previous().key}"
    measured = [a for a in report.accounts if a.kpis["views_gained"].current.value is not None]
    if not measured:
        notes = [a.note for a in report.accounts if a.note]
        return empty_figure(
            notes[0] if notes else "Not enough snapshots for this week.", title=title
        )
    labels = [as_plot_text(a.account.label) for a in measured]
    fig = go.Figure()
    for which, name, colour in (
        ("previous", f"{report.week.previous().key} (week before)", PREVIOUS_COLOUR),
        ("current", report.week.key, PALETTE[0]),
    ):
        values = [getattr(a.kpis["views_gained"], which).value for a in measured]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[float("nan") if v is None else float(v) for v in values],
                name=name,
                marker={"color": colour},
                hovertemplate="%{x}<br><b>%{y:,.0f} views gained</b><extra>%{fullData.name}"
                "</extra>",
            )
        )
    newest = max((a.as_of for a in measured if a.as_of), default=None)
    subtitle = "Difference between Reelboard snapshots"
    if newest is not None:
        subtitle += f", as of {format_time(newest, report.tz)}"
    if len(measured) < len(report.accounts):
        subtitle += f" · {len(report.accounts) - len(measured)} account(s) without enough history"
    fig = layout(fig, title=title, subtitle=subtitle, y_title="Views gained")
    fig.update_layout(template=TEMPLATE, barmode="group")
    # Under the plot: two entries wrap on a narrow screen and, above it, overlap the subtitle.
    fig.update_layout(legend={"yanchor": "top", "y": -0.18})
    fig.update_yaxes(tickformat="~s")
    return fig
