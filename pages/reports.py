"""Reports: one ISO week for the chosen accounts — preview, CSV/XLSX downloads, Google Sheets
export with progress and a link to the result, and the history of exports."""

from __future__ import annotations

import streamlit as st

from dashboard import reports as ui
from dashboard import runtime, selection
from dashboard.components import empty_state


def render() -> None:
    st.title("Weekly report")
    tz = runtime.settings().timezone
    accounts = selection.accounts()
    if not accounts:
        empty_state(
            "No account selected",
            "Connect a TikTok account (or pick one in the sidebar) to build its weekly report.",
        )
        return
    week = ui.week_picker(tz)
    if week is None:
        return
    st.caption(
        f"{week.key} · {week.label()} · Monday to Sunday in {tz} · compared with "
        f"{week.previous().key} · accounts from the sidebar"
    )
    report = ui.weekly_report(accounts, week, tz)
    downloads, export = st.columns([3, 2])
    with downloads:
        ui.downloads(report)
    with export:
        ui.sheets_export(report)
    ui.preview(report)
    st.subheader("Export history")
    ui.history(tz)


render()
