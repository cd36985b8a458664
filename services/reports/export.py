"""Exports of the weekly report: the Sheets export's orchestration, its lease and its history.

Each export is a row of ``report_exports`` (week, accounts, destination, started/finished,
calls made, outcome, error), shown as the history on the Reports page. The row of a running
export is also its **lease**: it is claimed in one ``BEGIN IMMEDIATE`` transaction, and a
partial unique index (one ``running`` row per destination) makes SQLite itself refuse a
second claim, so two exports — a double click, the page and cron — never interleave their
Sheets writes (Sheets has no transaction across requests). A lease left behind by a crashed
process expires after :data:`LEASE_SECONDS` and is then marked failed.

No network call runs inside a transaction: claim, export, finish are three steps.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlite_utils

from services import access
from services.access import Actor
from services.db import write_transaction
from services.errors import ReelboardError
from services.reports.errors import ExportBusy, ReportError
from services.reports.model import COLUMNS, TABLE_TITLES, WeeklyReport

log = logging.getLogger("reelboard.reports")

Progress = Callable[[int, int | None, str], None]
#: A lease outlives any honest export (6 calls with bounded retries take well under a minute).
LEASE_SECONDS = 600
DESTINATIONS = ("sheets", "csv", "xlsx")
#: Tables sent to Google Sheets: the week's tab gets the summary, top videos and what changed.
SHEETS_TABLES = ("summary", "top_videos", "changes")


@dataclass(frozen=True)
class ExportRecord:
    """One row of the export history."""

    id: int
    week: str
    accounts: list[str]
    account_labels: str
    destination: str
    target: str | None
    started_at: datetime
    finished_at: datetime | None
    calls_made: int
    outcome: str
    error: str | None


def _now(clock: Callable[[], datetime] | None) -> int:
    return int((clock or (lambda: datetime.now(UTC)))().timestamp())


def claim(
    db: sqlite_utils.Database,
    report: WeeklyReport,
    destination: str,
    *,
    target: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Start an export: record it as running and take the destination's lease.

    Raises :class:`ExportBusy` (nothing written) while another export to ``destination``
    holds a live lease. Returns the export's id for :func:`finish`.
    """
    if destination not in DESTINATIONS:
        raise ReportError(
            f"Unknown export destination {destination!r}: use one of {', '.join(DESTINATIONS)}.",
            step="bad_destination",
        )
    now = _now(clock)
    accounts = [a.account.open_id for a in report.accounts]
    labels = ", ".join(a.account.label for a in report.accounts)
    try:
        with write_transaction(db):
            busy = db.execute(
                "SELECT week, started_at, lease_until FROM report_exports "
                "WHERE destination = ? AND outcome = 'running'",
                [destination],
            ).fetchone()
            if busy is not None and (busy[2] or 0) > now:
                raise ExportBusy(
                    f"An export is already running (week {busy[0]}, started "
                    f"{datetime.fromtimestamp(busy[1], UTC):%H:%M} UTC). Nothing was changed: "
                    "wait for it to finish, then export again if you still need to."
                )
            if busy is not None:  # a crashed export's lease ran out
                db.execute(
                    "UPDATE report_exports SET outcome = 'failed', finished_at = ?, "
                    "error = 'Interrupted: the export stopped before it finished.' "
                    "WHERE destination = ? AND outcome = 'running'",
                    [now, destination],
                )
            cursor = db.execute(
                "INSERT INTO report_exports (week, accounts, account_labels, destination, "
                "target, started_at, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    report.week.key,
                    json.dumps(accounts),
                    labels,
                    destination,
                    target,
                    now,
                    now + LEASE_SECONDS,
                ],
            )
            return int(cursor.lastrowid)
    except sqlite3.IntegrityError as exc:  # another process claimed between our read and write
        raise ExportBusy(
            "An export is already running. Nothing was changed: wait for it to finish."
        ) from exc


def finish(
    db: sqlite_utils.Database,
    export_id: int,
    *,
    ok: bool,
    calls_made: int = 0,
    target: str | None = None,
    error: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Record how the export ended and release its lease."""
    with write_transaction(db):
        db.execute(
            "UPDATE report_exports SET outcome = ?, finished_at = ?, calls_made = ?, "
            "target = coalesce(?, target), error = ?, lease_until = NULL WHERE id = ?",
            [
                "succeeded" if ok else "failed",
                _now(clock),
                int(calls_made),
                target,
                None if ok else (error or "failed")[:1000],
                export_id,
            ],
        )


def history(db: sqlite_utils.Database, *, limit: int = 50) -> list[ExportRecord]:
    """The latest exports, newest first."""
    rows = db.execute(
        "SELECT id, week, accounts, account_labels, destination, target, started_at, "
        "finished_at, calls_made, outcome, error FROM report_exports "
        "ORDER BY started_at DESC, id DESC LIMIT ?",
        [int(limit)],
    ).fetchall()
    return [
        ExportRecord(
            id=int(r[0]),
            week=r[1],
            accounts=list(json.loads(r[2] or "[]")),
            account_labels=r[3] or "",
            destination=r[4],
            target=r[5],
            started_at=datetime.fromtimestamp(r[6], UTC),
            finished_at=None if r[7] is None else datetime.fromtimestamp(r[7], UTC),
            calls_made=int(r[8]),
            outcome=r[9],
            error=r[10],
        )
        for r in rows
    ]


# --------------------------------------------------------------------------------------------
# Google Sheets


@dataclass(frozen=True)
class SheetsExport:
    """What an export to Google Sheets did: where, how many API calls, the record's id."""

    export_id: int
    url: str
    calls_made: int
    week: str


def sheet_tables(report: WeeklyReport) -> list[Any]:
    """The report's tables as ``services.reports.sheets.SheetTable`` values for the exporter."""
    from services.reports.sheets import SheetColumn, SheetTable

    tables = report.tables()
    out = []
    for name in SHEETS_TABLES:
        columns = COLUMNS[name]
        out.append(
            SheetTable(
                title=TABLE_TITLES[name],
                columns=[SheetColumn(c.header, c.kind, c.width) for c in columns],
                rows=[[_cell(v) for v in row] for row in tables[name].itertuples(index=False)],
            )
        )
    return out


def _cell(value: Any) -> Any:
    """pandas' missing values (NaN, NaT, NA) as None: an empty cell, never "nan"."""
    try:
        return None if value is None or bool(pd.isna(value)) else value
    except (TypeError, ValueError):
        return value


def export_sheets(
    db: sqlite_utils.Database,
    settings: Any,
    report: WeeklyReport,
    *,
    actor: Actor,
    on_progress: Progress | None = None,
    clock: Callable[[], datetime] | None = None,
    exporter: Callable[[Any, WeeklyReport, Progress | None], Any] | None = None,
) -> SheetsExport:
    """Export ``report`` to the configured spreadsheet, one export at a time, and record it.

    ``exporter(settings, report, on_progress)`` returns something with ``url`` and
    ``calls_made``; it defaults to :func:`send_to_sheets` (the gspread exporter). Raises
    :class:`ExportBusy` if another export runs (nothing recorded, nothing sent), or the
    exporter's :class:`ReportError` after recording the failure. ``actor`` must be allowed to
    ``export`` (an editor); the attempt, refused or not, lands in the audit trail.
    """
    details = {"week": report.week.key, "destination": "sheets",
               "accounts": len(report.accounts)}
    with access.audited(db, actor, "export", details=details) as event:
        result = _export_sheets(db, settings, report, on_progress, clock, exporter)
        event.details["calls"] = result.calls_made
    return result


def _export_sheets(db, settings, report, on_progress, clock, exporter) -> SheetsExport:
    progress = on_progress or (lambda done, total, message: None)
    exporter = exporter or send_to_sheets
    progress(0, None, "Checking that no other export is running…")
    export_id = claim(db, report, "sheets", clock=clock)
    try:
        progress(0, None, f"Writing {report.week.key} to Google Sheets…")
        result = exporter(settings, report, on_progress)
    except ReelboardError as exc:
        finish(
            db,
            export_id,
            ok=False,
            calls_made=int(getattr(exc, "calls_made", 0) or 0),
            error=exc.message,
            clock=clock,
        )
        raise
    except Exception as exc:
        log.exception("sheets export %s failed", export_id)
        finish(
            db, export_id, ok=False, error=f"Unexpected error ({type(exc).__name__}).", clock=clock
        )
        raise ReportError(
            "The export to Google Sheets stopped on an unexpected error; the details are in "
            "the server log. Exporting again is safe: the week's tab is replaced, never "
            "duplicated.",
            retry_safe=True,
            step="sheets_export",
        ) from exc
    url = str(getattr(result, "url", "") or "")
    calls = int(getattr(result, "calls_made", 0) or 0)
    finish(db, export_id, ok=True, calls_made=calls, target=url, clock=clock)
    progress(1, 1, f"Exported {report.week.key} ({calls} Sheets API calls).")
    return SheetsExport(export_id, url, calls, report.week.key)


def send_to_sheets(settings: Any, report: WeeklyReport, on_progress: Progress | None = None):
    """The default exporter: the report's tables to :func:`services.reports.sheets.export_week`."""
    from services.reports import sheets

    tables = sheet_tables(report)
    return sheets.export_week(
        settings,
        week=report.week.key,
        tables=tables,
        # The week tab's first table is the summary: its rows (one per account) are merged
        # into the spreadsheet's Summary tab by (Week, Open ID).
        summary=tables[0].rows,
        summary_columns=tables[0].columns,
        on_progress=on_progress,
    )


def record_file_export(
    db: sqlite_utils.Database,
    report: WeeklyReport,
    destination: str,
    target: str,
    *,
    clock: Callable[[], datetime] | None = None,
) -> int:
    """Record a CSV/XLSX export written by the CLI (files need no lease beyond the claim)."""
    export_id = claim(db, report, destination, target=target, clock=clock)
    finish(db, export_id, ok=True, target=target, clock=clock)
    return export_id


def account_ids(report: WeeklyReport) -> Sequence[str]:
    return [a.account.open_id for a in report.accounts]
