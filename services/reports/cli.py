"""``python -m services report``: the weekly report from cron (same numbers as the app).

    python -m services report --week last --export sheets
    python -m services report --week 2026-W47 --account @lunakitchen --export xlsx --out reports/
    python -m services report --week last --account=-000abc… --sync --export csv

Exit codes (services.cli): 0 exported, 1 the export (or the ``--sync`` before it) failed,
2 bad arguments or unusable configuration — nothing was exported.

TikTok open_ids may start with ``-`` (``-000…``), which argparse reads as an option: write
``--account=-000…``. ``@username`` works too.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from services.access import cli_actor
from services.analytics import AccountRef
from services.errors import ReelboardError
from services.reports.errors import BadAccount, BadWeek, ReportError

log = logging.getLogger("reelboard.reports")

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2
#: Failures that no retry fixes until someone changes the configuration: exit 2, not 1.
UNUSABLE_STEPS = frozenset(
    {
        "configuration",
        "encryption",
        "sheets_not_configured",
        "sheets_key_malformed",
        "sheets_key_revoked",
    }
)


def add_report_command(add: Callable[..., argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register ``report`` with services.cli's ``add(name, fn, help)``."""
    p = add(
        "report",
        cmd_report,
        "Build the weekly report of an ISO week and export it to Google Sheets, CSV or XLSX "
        "(cron-safe).",
    )
    p.add_argument(
        "--week",
        default="last",
        help="'last' (the last complete week, default), 'this', or an ISO week like 2026-W47 "
        "(weeks in REELBOARD_TIMEZONE)",
    )
    p.add_argument(
        "--account",
        action="extend",
        nargs="+",
        metavar="@USERNAME|OPEN_ID",
        help="accounts to include (default: every connected account). "
        "Open IDs starting with '-' need the = form: --account=-000…",
    )
    p.add_argument("--sync", action="store_true", help="sync the accounts first")
    p.add_argument(
        "--export", required=True, choices=("sheets", "csv", "xlsx"), help="where the report goes"
    )
    p.add_argument(
        "--out",
        default=".",
        metavar="DIR",
        help="folder for csv/xlsx files (default: the current folder)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def resolve_accounts(accounts: Sequence, wanted: Sequence[str] | None) -> list[AccountRef]:
    """The accounts named by ``--account`` values, in order (each resolved as every command
    does: ``services.cli.resolve_account``).

    Without values: every account that is not disconnected. Raises :class:`BadAccount` for a
    value that matches no account, or a username shared by several.
    """
    if not wanted:
        chosen = [a for a in accounts if a.status != "disconnected"]
        if not chosen:
            raise BadAccount("No connected accounts: connect one on the app's Accounts page.")
        return [AccountRef(a.open_id, a.label) for a in chosen]
    from services.cli import CliUsageError, resolve_account

    by_id = {a.open_id: a for a in accounts}
    out: list[AccountRef] = []
    for raw in wanted:
        try:
            account = by_id[resolve_account(accounts, raw)]
        except CliUsageError as exc:
            raise BadAccount(exc.message) from None
        if account.open_id not in {r.open_id for r in out}:
            out.append(AccountRef(account.open_id, account.label))
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from services.cli import ProgressBar, _runtime
    from services.config import load_settings
    from services.reports.weeks import parse_week

    try:
        # Bad arguments change nothing: check the week before anything starts.
        parse_week(args.week, now=datetime.now(UTC), tz=load_settings().timezone)
        rt = _runtime()
    except ReelboardError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        return run_report(
            rt.settings,
            week=args.week,
            accounts=args.account,
            sync=args.sync,
            export=args.export,
            out=Path(args.out),
            on_progress=None if args.quiet else ProgressBar(),
        )
    finally:
        rt.stop()


def run_report(
    settings,
    *,
    week: str,
    accounts: Sequence[str] | None,
    sync: bool,
    export: str,
    out: Path,
    on_progress=None,
    now: datetime | None = None,
    exporter=None,
) -> int:
    """The ``report`` command once settings are loaded; returns the exit code."""
    from services.accounts import list_accounts
    from services.db import open_db
    from services.reports import export as exports
    from services.reports import files
    from services.reports.model import build_report
    from services.reports.weeks import parse_week

    try:
        chosen_week = parse_week(week, now=now or datetime.now(UTC), tz=settings.timezone)
        if export in ("csv", "xlsx") and out.exists() and not out.is_dir():
            raise ReportError(f"--out {out} is a file: give a folder.", step="bad_argument")
        with open_db(settings.database_path) as db:
            refs = resolve_accounts(list_accounts(db), accounts)
    except (BadWeek, BadAccount, ReportError) as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return EXIT_UNUSABLE
    code = EXIT_OK
    try:
        if sync:
            from services.sync import sync_accounts

            results = sync_accounts(
                settings, [r.open_id for r in refs], on_progress=on_progress, actor=cli_actor()
            )
            for result in results:
                print(result.summary())
            if not all(r.ok for r in results):
                print(
                    "warning: the sync did not fully succeed; the report uses the snapshots "
                    "Reelboard has.",
                    file=sys.stderr,
                )
                code = EXIT_FAILED
        with open_db(settings.database_path) as db:
            report = build_report(db, refs, chosen_week, settings.timezone)
            for account in report.accounts:
                if not account.enough_history:
                    print(f"note: {account.account.label}: {account.note}", file=sys.stderr)
            if export == "sheets":
                result = exports.export_sheets(
                    db, settings, report, actor=cli_actor(), on_progress=on_progress,
                    exporter=exporter,
                )
                print(
                    f"Exported {report.week.key} for {len(refs)} account(s) to Google Sheets "
                    f"in {result.calls_made} API calls: {result.url}"
                )
            else:
                out.mkdir(parents=True, exist_ok=True)
                written = []
                if export == "csv":
                    for table in ("summary", "top_videos"):
                        path = out / files.file_name(report, table, "csv")
                        path.write_bytes(files.table_csv(report, table))
                        written.append(path)
                else:
                    path = out / files.file_name(report, ext="xlsx")
                    path.write_bytes(files.report_xlsx(report))
                    written.append(path)
                exports.record_file_export(db, report, export, str(out.resolve()))
                for path in written:
                    print(f"Wrote {path}")
        return code
    except ReelboardError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        unusable = exc.step in UNUSABLE_STEPS
        return EXIT_UNUSABLE if unusable else EXIT_FAILED
    except OSError as exc:
        print(f"error (files): cannot write to {out}: {exc.strerror or exc}.", file=sys.stderr)
        return EXIT_FAILED
    except Exception:
        # Never a traceback on the terminal or in cron mail: the details go to the log.
        log.exception("report command failed")
        print(
            "error: the report stopped on an unexpected error (details in the log). "
            "Running it again is safe.",
            file=sys.stderr,
        )
        return EXIT_FAILED
