"""The weekly report: model, files, Sheets export, history (the architecture notes in README.md
"Weekly report").

Public surface::

    parse_week("last" | "this" | "2026-W47", now=..., tz=...) -> IsoWeek
    last_complete_week(now, tz) -> IsoWeek
    build_report(db, [AccountRef], week, tz) -> WeeklyReport   (.summary() .top_videos() …)
    table_csv(report, "summary") -> bytes;  report_xlsx(report) -> bytes
    export_sheets(db, settings, report, on_progress=...) -> SheetsExport
    export_history(db) -> [ExportRecord]
    ReportError (base), BadWeek, BadAccount, ExportBusy
"""

from services.reports.errors import BadAccount, BadWeek, ExportBusy, ReportError
from services.reports.export import ExportRecord, SheetsExport, export_sheets
from services.reports.export import history as export_history
from services.reports.files import file_name, report_xlsx, table_csv
from services.reports.model import (
    COLUMNS,
    TABLE_TITLES,
    AccountWeek,
    WeeklyReport,
    build_report,
    safe_tiktok_link,
)
from services.reports.weeks import IsoWeek, last_complete_week, parse_week

__all__ = [
    "COLUMNS",
    "TABLE_TITLES",
    "AccountWeek",
    "BadAccount",
    "BadWeek",
    "ExportBusy",
    "ExportRecord",
    "IsoWeek",
    "ReportError",
    "SheetsExport",
    "WeeklyReport",
    "build_report",
    "export_history",
    "export_sheets",
    "file_name",
    "last_complete_week",
    "parse_week",
    "report_xlsx",
    "safe_tiktok_link",
    "table_csv",
]
