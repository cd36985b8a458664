"""The report as files: CSV (one file per table) and XLSX (one sheet per table, with a chart).

**CSV: one file per table, not a zip.** A marketer forwards the report to people who open it
on a phone or double-click it: a single ``.csv`` opens straight in Excel, Numbers or Sheets
and previews in mail clients, a zip does neither. The summary is *the* CSV (one row per
account, with the previous week and the change); the top videos are a second CSV for those
who want them; the XLSX carries every table in one file. Files are UTF-8 with a byte-order
mark, which Excel needs to read accents and emoji in titles correctly.

**Text stays text.** Titles and names come from TikTok and creators. In the XLSX every string
is written with ``write_string`` (the workbook also turns off XlsxWriter's formula, number and
URL guessing), so a title starting with ``=`` is never a formula and an open_id like
``-000…`` is never a number. CSV has no types: spreadsheet programs evaluate a cell starting
with ``=``, ``+``, ``-``, ``@``, tab or carriage return, so such text is prefixed with ``'``
(OWASP "CSV Injection"), which Excel and Sheets display without the quote.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pandas as pd
import xlsxwriter

from services.reports.model import COLUMNS, TABLE_TITLES, Column, WeeklyReport

_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def file_name(report: WeeklyReport, table: str | None = None, ext: str = "csv") -> str:
    """``reelboard-2026-W47-summary.csv`` / ``reelboard-2026-W47.xlsx``."""
    suffix = f"-{table.replace('_', '-')}" if table else ""
    return f"reelboard-{report.week.key}{suffix}.{ext}"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _csv_cell(value: object, column: Column) -> str:
    if _is_missing(value):
        return ""
    if column.kind == "int":
        return str(int(value))
    if column.kind == "percent":
        return f"{float(value):.6f}".rstrip("0").rstrip(".")
    if column.kind in ("date", "datetime") and isinstance(value, (datetime, date)):
        return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_LEAD) else text


def table_csv(report: WeeklyReport, table: str = "summary") -> bytes:
    """One table as CSV bytes (UTF-8 with BOM, header row of the column headers).

    Ratios (engagement rate, changes) are plain fractions (0.0425 = 4.25 %), as spreadsheets
    expect before a percent format is applied.
    """
    columns = COLUMNS[table]
    frame = report.tables()[table] if table != "summary" else report.summary()
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in columns])
    for row in frame.itertuples(index=False):
        writer.writerow([_csv_cell(v, c) for v, c in zip(row, columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_xlsx(report: WeeklyReport) -> bytes:
    """Every table as a sheet, formatted, with a native chart of views gained per account."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "in_memory": True,
            # Never guess: strings stay strings (no formulas, numbers or links made from text).
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "default_date_format": "yyyy-mm-dd hh:mm",
            "remove_timezone": True,
        },
    )
    workbook.set_properties(
        {
            "title": report.title,
            "subject": "TikTok weekly report",
            "author": "Reelboard",
            "created": report.generated_at.replace(tzinfo=None),
        }
    )
    header = workbook.add_format(
        {"bold": True, "bg_color": "#F3F4F6", "bottom": 1, "text_wrap": True, "valign": "top"}
    )
    formats = {
        "int": workbook.add_format({"num_format": "#,##0"}),
        "percent": workbook.add_format({"num_format": "0.00%"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "text": workbook.add_format({}),
        "link": workbook.add_format({"font_color": "#2563EB", "underline": 1}),
    }
    tables = report.tables()
    for name, frame in tables.items():
        _write_sheet(workbook, TABLE_TITLES[name], frame, COLUMNS[name], header, formats)
    _add_chart(workbook, report, len(tables["summary"]))
    workbook.close()
    return buffer.getvalue()


def _write_sheet(workbook, title, frame, columns, header, formats) -> None:
    sheet = workbook.add_worksheet(title)
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, header)
        sheet.set_column(col, col, column.width, formats[column.kind])
    sheet.freeze_panes(1, 0)
    for r, row in enumerate(frame.itertuples(index=False), start=1):
        for col, (value, column) in enumerate(zip(row, columns, strict=True)):
            fmt = formats[column.kind]
            if _is_missing(value):
                sheet.write_blank(r, col, None, fmt)
            elif column.kind in ("int", "percent"):
                sheet.write_number(r, col, float(value), fmt)
            elif column.kind in ("date", "datetime"):
                sheet.write_datetime(r, col, value, fmt)
            elif column.kind == "link" and value:
                # Only https tiktok.com links reach this column (model.safe_tiktok_link).
                sheet.write_url(r, col, str(value), fmt, string=str(value))
            else:
                sheet.write_string(r, col, str(value), fmt)
    if len(frame):
        sheet.autofilter(0, 0, len(frame), len(columns) - 1)


def _add_chart(workbook, report: WeeklyReport, rows: int) -> None:
    """A column chart of views gained this week and last, per account, on the Summary sheet."""
    if rows == 0:
        return
    names = [c.name for c in COLUMNS["summary"]]
    sheet = TABLE_TITLES["summary"]
    chart = workbook.add_chart({"type": "column"})
    account = names.index("account")
    for key, colour in (("views_gained_prev", "#CBD5E1"), ("views_gained", "#FE2C55")):
        col = names.index(key)
        chart.add_series(
            {
                "name": [sheet, 0, col],
                "categories": [sheet, 1, account, rows, account],
                "values": [sheet, 1, col, rows, col],
                "fill": {"color": colour},
            }
        )
    chart.set_title({"name": f"Views gained, {report.week.key} vs previous week"})
    chart.set_y_axis({"num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": 320})
    workbook.get_worksheet_by_name(sheet).insert_chart(rows + 3, 1, chart)
