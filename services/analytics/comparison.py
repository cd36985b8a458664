"""Several accounts compared so each one reads: pure functions, frames in, plotly Figures out.

One shared axis makes a 252-follower account a flat line at 0 next to 318 k. So accounts are
compared as small multiples (one panel per account, each with its own y axis), as growth in %
from the start of the period (every account starts at 0 %), in a table side by side, and with a
portfolio total. Account names are TikTok text: escaped with ``plot_label`` in figures and
``cell_text`` in the table. Legends sit under the plot, never on the title and subtitle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from services.analytics.charts import MUTED, PALETTE, TEMPLATE, _wall_clock, empty_figure
from services.analytics.metrics import (
    DERIVED,
    KPI_LABELS,
    PROVENANCE_LABELS,
    Kpi,
    Metric,
    engagement_rate,
)
from services.safe_text import cell_text, plot_label

PANEL_HEIGHT = 170
#: Below the plot area (paper coordinates): clear of the title, subtitle and panels.
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}
#: KPIs added up across accounts: all but the rate, which is recomputed from the summed gains.
SUMMED = tuple(key for key in KPI_LABELS if key != "engagement_rate")


def _title(fig: go.Figure, title: str, subtitle: str) -> None:
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "subtitle": {"text": subtitle, "font": {"color": MUTED, "size": 12}}},
    )


def small_multiples(
    frame: pd.DataFrame,
    column: str,
    *,
    names: Mapping[str, str],
    tz: str,
    title: str,
    subtitle: str = "",
    kind: str = "line",
    x: str = "captured_at",
) -> go.Figure:
    """One panel per account, stacked, each with its own y axis (x shared)."""
    open_ids = [oid for oid in names if oid in set(frame["open_id"])] if len(frame) else []
    if not open_ids:
        return empty_figure("No data for this selection yet.", title=title)
    fig = make_subplots(
        rows=len(open_ids),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.32 / len(open_ids),
        subplot_titles=[plot_label(names[oid]) for oid in open_ids],
    )
    for i, oid in enumerate(open_ids):
        rows = frame[frame["open_id"] == oid].dropna(subset=[column]).sort_values(x)
        when = _wall_clock(rows[x], tz)
        values = rows[column].astype("float64")
        colour = PALETTE[i % len(PALETTE)]
        name = plot_label(names[oid])
        if kind == "bar":
            trace = go.Bar(
                x=when,
                y=values,
                name=name,
                marker={"color": colour},
                hovertemplate="%{x|%a %d %b %Y}<br>%{y:,.0f}<extra>%{fullData.name}</extra>",
            )
        else:
            trace = go.Scatter(
                x=when,
                y=values,
                name=name,
                mode="lines+markers",
                line={"width": 2.5, "color": colour},
                marker={"size": 4},
                hovertemplate="%{x|%a %d %b %Y %H:%M}<br>%{y:,.0f}<extra>%{fullData.name}</extra>",
            )
        fig.add_trace(trace, row=i + 1, col=1)
        # Its own scale: a small account's changes stay visible next to a large one.
        fig.update_yaxes(
            rangemode="tozero" if kind == "bar" else "normal",
            tickformat="~s",
            nticks=4,
            row=i + 1,
            col=1,
        )
    _title(fig, title, subtitle)
    fig.update_annotations(font={"size": 13, "color": MUTED}, xanchor="left", x=0)
    fig.update_layout(
        showlegend=False,
        height=110 + PANEL_HEIGHT * len(open_ids),
        margin={"t": 96, "l": 8, "r": 8, "b": 8},
        hovermode="x unified",
    )
    return fig


def indexed(frame: pd.DataFrame, column: str, *, names: Mapping[str, str], tz: str) -> pd.DataFrame:
    """Growth in % from each account's first value in the frame: open_id, captured_at,
    growth_pct. Accounts whose first value is 0 or missing cannot be indexed (left out)."""
    out = []
    for oid in names:
        rows = frame[frame["open_id"] == oid].dropna(subset=[column]).sort_values("captured_at")
        if len(rows) == 0:
            continue
        base = float(rows[column].iloc[0])
        if base <= 0:
            continue
        out.append(
            pd.DataFrame(
                {
                    "open_id": oid,
                    "captured_at": rows["captured_at"],
                    "growth_pct": (rows[column].astype("float64") / base - 1) * 100,
                }
            )
        )
    if not out:
        return pd.DataFrame({"open_id": [], "captured_at": [], "growth_pct": []})
    return pd.concat(out, ignore_index=True)


def growth_lines(
    frame: pd.DataFrame,
    column: str,
    *,
    names: Mapping[str, str],
    tz: str,
    title: str,
    subtitle: str = "",
) -> go.Figure:
    """Every account's growth in % from the start of the period on one axis."""
    growth = indexed(frame, column, names=names, tz=tz)
    if len(growth) == 0:
        return empty_figure(
            "Growth needs a first value above 0 for at least one account.", title=title
        )
    fig = go.Figure()
    for i, oid in enumerate(names):
        rows = growth[growth["open_id"] == oid]
        if len(rows) == 0:
            continue
        fig.add_trace(
            go.Scatter(
                x=_wall_clock(rows["captured_at"], tz),
                y=rows["growth_pct"].tolist(),
                name=plot_label(names[oid]),
                mode="lines+markers",
                line={"width": 2.5, "color": PALETTE[i % len(PALETTE)]},
                marker={"size": 4},
                hovertemplate="%{x|%a %d %b %Y %H:%M}<br>%{y:+.2f} %"
                "<extra>%{fullData.name}</extra>",
            )
        )
    left_out = [names[oid] for oid in names if oid not in set(growth["open_id"])]
    if left_out:
        subtitle += f" · not indexed (started at 0): {', '.join(map(plot_label, left_out))}"
    _title(fig, title, subtitle)
    fig.update_yaxes(
        title_text="Growth since start (%)",
        tickformat="+.1f",
        rangemode="normal",
        zeroline=True,
        zerolinecolor="#CBD5E1",
    )
    fig.update_layout(
        showlegend=True,
        legend=LEGEND_BELOW,
        height=420,
        margin={"t": 96, "l": 8, "r": 8, "b": 8},
        hovermode="x unified",
    )
    return fig


def _sum_metric(metrics: Sequence[Metric], label: str) -> Metric:
    """Sum of the accounts' values; not available when any account's is not (a partial sum
    would look like a total). As of the oldest account's data."""
    first = metrics[0]
    times = [m.as_of for m in metrics if m.as_of is not None]
    as_of = min(times) if times else None
    missing = [m for m in metrics if m.value is None]
    if missing:
        return dataclasses.replace(
            first,
            value=None,
            as_of=as_of,
            label=label,
            note="Not every account has this figure for the period.",
        )
    notes = dict.fromkeys(m.note for m in metrics if m.note)
    return dataclasses.replace(
        first,
        value=sum(m.value for m in metrics),  # type: ignore[misc]
        as_of=as_of,
        label=label,
        note=" ".join(notes) if notes else None,
    )


def portfolio_kpis(kpis: Mapping[str, Mapping[str, Kpi]]) -> dict[str, Kpi]:
    """The accounts' KPIs added up; engagement rate recomputed from the summed gains."""
    per = list(kpis.values())
    out: dict[str, Kpi] = {}
    for key in SUMMED:
        if not all(key in k for k in per):
            continue
        sample = per[0][key]
        out[key] = Kpi(
            key,
            sample.label,
            _sum_metric([k[key].current for k in per], sample.label),
            _sum_metric([k[key].previous for k in per], sample.label),
        )

    def rate(which: str) -> Metric:
        parts = [
            getattr(out[k], which)
            for k in ("views_gained", "likes_gained", "comments_gained", "shares_gained")
        ]
        views, likes, comments, shares = (p.value for p in parts)
        value = (
            None
            if any(v is None for v in (views, likes, comments, shares))
            else engagement_rate(likes, comments, shares, views)
        )
        return Metric(
            value,
            DERIVED,
            parts[0].as_of,
            None if value is not None else parts[0].note,
            "Engagement rate",
            "ratio",
        )

    if all(k in out for k in ("views_gained", "likes_gained", "comments_gained", "shares_gained")):
        sample = per[0].get("engagement_rate")
        out["engagement_rate"] = Kpi(
            "engagement_rate",
            sample.label if sample else "Engagement rate",
            rate("current"),
            rate("previous"),
        )
    order = [k for k in per[0] if k in out] + [k for k in out if k not in per[0]]
    return {k: out[k] for k in order}


#: Table columns: KPI key → (column title, help with where the number comes from).
TABLE_COLUMNS = {
    "followers": "Followers",
    "followers_gained": "Followers gained",
    "views_gained": "Views gained",
    "likes_gained": "Likes gained",
    "engagement_rate": "Engagement rate",
    "videos_posted": "Videos posted",
}


def accounts_table(
    names: Mapping[str, str], kpis: Mapping[str, Mapping[str, Kpi]], portfolio: Mapping[str, Kpi]
) -> pd.DataFrame:
    """One row per account, then the portfolio row; values of the current period (NaN when
    not available), an "As of" column (oldest data used)."""
    rows = []
    for oid, label in [*names.items(), (None, f"Portfolio ({len(names)} accounts)")]:
        source = portfolio if oid is None else kpis[oid]
        row: dict[str, object] = {"Account": cell_text(label)}
        times = []
        for key, title in TABLE_COLUMNS.items():
            metric = source[key].current if key in source else None
            value = None if metric is None else metric.value
            row[title] = (
                np.nan
                if value is None
                else (float(value) * 100 if key == "engagement_rate" else value)
            )
            if metric is not None and metric.as_of is not None:
                times.append(metric.as_of)
        row["As of"] = min(times) if times else None
        rows.append(row)
    frame = pd.DataFrame(rows)
    for title in ("Followers", "Followers gained", "Views gained", "Likes gained", "Videos posted"):
        frame[title] = frame[title].astype("Float64").round().astype("Int64")
    return frame


def provenance_help(kpis: Mapping[str, Kpi]) -> dict[str, str]:
    """Column title → where its numbers come from (for the table's column help)."""
    out = {}
    for key, title in TABLE_COLUMNS.items():
        if key in kpis:
            text = PROVENANCE_LABELS[kpis[key].current.provenance]
            out[title] = text[0].upper() + text[1:]
    return out
