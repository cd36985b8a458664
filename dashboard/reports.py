"""UI pieces of the Reports page: week picker, cached report, preview, downloads, Sheets export,
export history. Outside text (account names, video titles) is only ever shown in tables or
through :func:`as_text`, never as Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard import gate, runtime
from dashboard.components import chart
from dashboard.data import PAGE_TTL, data_version
from dashboard.errors import show_error
from services import reports
from services.analytics import AccountRef
from services.analytics.metrics import format_time
from services.db import open_db
from services.errors import ReelboardError
from services.reports import charts as report_charts
from services.reports import export as exports
from services.reports import files

WEEK_KEY = "report_week"
OTHER_WEEK_KEY = "report_week_other"
FLASH_KEY = "report_export_flash"
OTHER = "Another week…"
RECENT_WEEKS = 12

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def as_text(text: object) -> str:
    """Outside text for a Markdown-rendering element: every Markdown character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def week_picker(tz: str, *, now: datetime | None = None) -> reports.IsoWeek | None:
    """The week to report on: the last complete week by default, recent weeks, or any ISO
    week typed as ``2026-W47``. None (with the reason shown) for input that is not a week."""
    now = now or datetime.now(UTC)
    last = reports.last_complete_week(now, tz)
    weeks = [reports.IsoWeek.at(now, tz)]
    while len(weeks) <= RECENT_WEEKS:
        weeks.append(weeks[-1].previous())
    labels = {
        w.key: f"{w.key} · {w.label()}" + (" (so far)" if i == 0 else "")
        for i, w in enumerate(weeks)
    }
    options = [*labels, OTHER]
    if st.session_state.get(WEEK_KEY) not in options:
        st.session_state[WEEK_KEY] = last.key
    left, right = st.columns([2, 1])
    choice = left.selectbox(
        "Week",
        options,
        key=WEEK_KEY,
        format_func=lambda k: labels.get(k, k),
        help=f"ISO weeks, Monday to Sunday in {tz}. The default is the last complete week.",
    )
    if choice != OTHER:
        return reports.parse_week(choice, now=now, tz=tz)
    typed = right.text_input("ISO week", key=OTHER_WEEK_KEY, placeholder="2026-W47", max_chars=40)
    if not typed:
        st.caption("Type an ISO week such as 2026-W47 (ISO year, W, week number).")
        return None
    try:
        return reports.parse_week(typed, now=now, tz=tz)
    except reports.BadWeek as exc:
        st.error(as_text(exc.message), icon=":material/event_busy:")
        return None


# A report per selection and week; the team mostly reads last week's (bounds: dashboard/data.py).
@st.cache_data(show_spinner="Building the report…", max_entries=8, ttl=PAGE_TTL)
def _report(
    db_path: str, accounts: tuple[tuple[str, str], ...], week: str, tz: str, version: int
) -> reports.WeeklyReport:
    refs = [AccountRef(oid, label) for oid, label in accounts]
    with open_db(db_path) as db:
        return reports.build_report(db, refs, reports.parse_week(week, tz=tz), tz)


def weekly_report(accounts, week: reports.IsoWeek, tz: str) -> reports.WeeklyReport:
    return _report(
        str(runtime.settings().database_path),
        tuple((a.open_id, a.label) for a in accounts),
        week.key,
        tz,
        data_version(),
    )


# --------------------------------------------------------------------------------------------
# preview


_FORMATS = {"int": "localized", "percent": "percent", "datetime": "YYYY-MM-DD HH:mm"}


def _table(frame: pd.DataFrame, name: str, *, key: str, hide: tuple[str, ...] = ()) -> None:
    config: dict[str, object] = {}
    for column in reports.COLUMNS[name]:
        if column.name in hide:
            config[column.name] = None
        elif column.kind in ("int", "percent"):
            config[column.name] = st.column_config.NumberColumn(
                column.header, format=_FORMATS[column.kind]
            )
        elif column.kind == "datetime":
            config[column.name] = st.column_config.DatetimeColumn(
                column.header, format=_FORMATS["datetime"]
            )
        elif column.kind == "link":
            config[column.name] = st.column_config.LinkColumn(column.header)
        else:
            config[column.name] = st.column_config.TextColumn(column.header)
    st.dataframe(frame, column_config=config, hide_index=True, key=key)


def preview(report: reports.WeeklyReport) -> None:
    for account in report.accounts:
        if not account.enough_history and account.note:
            st.warning(
                f"{as_text(account.account.label)}: {as_text(account.note)}",
                icon=":material/hourglass_top:",
            )
    st.subheader("Summary")
    summary = report.summary()
    _table(
        summary,
        "summary",
        key="report_summary",
        hide=tuple(c for c in summary.columns if c.endswith("_prev") or c == "open_id"),
    )
    chart(report_charts.views_gained_chart(report), key="report_chart")
    st.subheader("Top videos")
    top = report.top_videos()
    if len(top):
        _table(top, "top_videos", key="report_top", hide=("week",))
    else:
        st.caption("No video could be ranked: top videos need two complete syncs this week.")
    st.subheader("What changed")
    _table(report.changes(), "changes", key="report_changes", hide=("week",))
    with st.expander("Where every number comes from"):
        _table(report.sources(), "sources", key="report_sources", hide=("week",))


def downloads(report: reports.WeeklyReport) -> None:
    csv_col, top_col, xlsx_col = st.columns(3)
    csv_col.download_button(
        "Summary (CSV)",
        data=files.table_csv(report, "summary"),
        file_name=files.file_name(report, "summary", "csv"),
        mime=files.CSV_MIME,
        icon=":material/download:",
        key="download_csv",
        use_container_width=True,
    )
    top_col.download_button(
        "Top videos (CSV)",
        data=files.table_csv(report, "top_videos"),
        file_name=files.file_name(report, "top_videos", "csv"),
        mime=files.CSV_MIME,
        icon=":material/download:",
        key="download_top_csv",
        use_container_width=True,
    )
    xlsx_col.download_button(
        "Everything (Excel)",
        data=files.report_xlsx(report),
        file_name=files.file_name(report, ext="xlsx"),
        mime=files.XLSX_MIME,
        icon=":material/table_view:",
        key="download_xlsx",
        use_container_width=True,
    )


# --------------------------------------------------------------------------------------------
# Google Sheets


def _progress(bar):
    def on_progress(done: int, total: int | None, message: str) -> None:
        fraction = min(done / total, 1.0) if total else 0.0
        bar.progress(fraction, text=message or "Exporting…")

    return on_progress


def sheets_export(report: reports.WeeklyReport) -> None:
    """The **Export to Google Sheets** button, its progress bar and the link to the result."""
    actor = gate.current_actor()
    if not actor.can("export"):
        st.caption(
            "Exporting to Google Sheets needs the editor role; you can preview and download "
            "the report."
        )
        return
    if st.button(
        "Export to Google Sheets",
        key="export_sheets",
        type="primary",
        icon=":material/cloud_upload:",
    ):
        bar = st.progress(0.0, text="Starting the export…")
        try:
            with runtime.database() as db:
                result = exports.export_sheets(
                    db, runtime.settings(), report, actor=actor, on_progress=_progress(bar)
                )
        except ReelboardError as exc:
            bar.empty()
            show_error(exc)
        else:
            bar.empty()
            st.session_state[FLASH_KEY] = (result.week, result.url, result.calls_made)
    flash = st.session_state.get(FLASH_KEY)
    if flash and flash[0] == report.week.key:
        week, url, calls = flash
        st.success(
            f"Exported {week} to Google Sheets in {calls} API calls.",
            icon=":material/check_circle:",
        )
        if url:
            st.link_button("Open the spreadsheet", url, icon=":material/open_in_new:")


def history(tz: str) -> None:
    with runtime.database() as db:
        records = exports.history(db, limit=50)
    if not records:
        st.caption("No exports yet.")
        return
    frame = pd.DataFrame(
        {
            "Week": [r.week for r in records],
            "Accounts": [r.account_labels or ", ".join(r.accounts) for r in records],
            "When": [format_time(r.started_at, tz) for r in records],
            "Where": [
                r.destination.upper() if r.destination != "sheets" else "Google Sheets"
                for r in records
            ],
            "Calls made": [r.calls_made for r in records],
            "Outcome": [r.outcome + (f": {r.error}" if r.error else "") for r in records],
            "Link": [r.target if r.destination == "sheets" and r.target else None for r in records],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        key="report_history",
        column_config={
            "Link": st.column_config.LinkColumn("Link", display_text="Open"),
            "Calls made": st.column_config.NumberColumn("Calls made", format="plain"),
        },
    )
