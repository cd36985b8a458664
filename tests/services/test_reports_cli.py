"""`python -m services report`: exit codes, --account with a `-000…` open_id, files written,
never a traceback."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from services.cli import build_parser
from services.db import open_db
from services.reports import ReportError, export_history
from services.reports.cli import resolve_accounts, run_report
from tests.services.report_cache import FakeAccount, add_account, daily_runs, ts
from tests.services.test_reports_model import luna

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


@dataclass
class Result:
    url: str
    calls_made: int


@pytest.fixture
def cache(settings):
    origin = ts(2026, 11, 2, 6)
    with open_db(settings.database_path, migrate=True) as db:
        acct = luna(origin)
        add_account(db, acct, origin)
        daily_runs(db, acct, origin, ts(2026, 11, 25, 6))
        other = FakeAccount("-000other", origin, username="other")
        add_account(db, other, origin)
        daily_runs(db, other, origin, ts(2026, 11, 25, 6))
    return settings


def run(settings, tmp_path, capsys, **kwargs):
    values = {
        "week": "last",
        "accounts": None,
        "sync": False,
        "export": "csv",
        "out": tmp_path / "out",
        "now": NOW,
    }
    values.update(kwargs)
    code = run_report(settings, **values)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def test_csv_export_for_an_open_id_starting_with_dashes(cache, tmp_path, capsys):
    code, out, _ = run(cache, tmp_path, capsys, accounts=["-000luna"])
    assert code == 0
    summary = tmp_path / "out" / "reelboard-2026-W47-summary.csv"
    assert f"Wrote {summary}" in out
    rows = list(csv.DictReader(io.StringIO(summary.read_text("utf-8-sig"))))
    assert [r["Open ID"] for r in rows] == ["'-000luna"]
    assert rows[0]["Views gained"] == "7080"
    assert (tmp_path / "out" / "reelboard-2026-W47-top-videos.csv").exists()
    with open_db(cache.database_path) as db:
        (record,) = export_history(db)
    assert (record.destination, record.outcome, record.week) == ("csv", "succeeded", "2026-W47")


def test_xlsx_export_by_username_for_all_accounts(cache, tmp_path, capsys):
    code, _, _ = run(cache, tmp_path, capsys, export="xlsx", week="2026-W46")
    assert code == 0
    book = openpyxl.load_workbook(tmp_path / "out" / "reelboard-2026-W46.xlsx")
    ids = [r[2] for r in book["Summary"].iter_rows(min_row=2, values_only=True)]
    assert ids == ["-000luna", "-000other"]
    code, _, _ = run(cache, tmp_path, capsys, export="xlsx", accounts=["@OTHER"])
    assert code == 0
    book = openpyxl.load_workbook(tmp_path / "out" / "reelboard-2026-W47.xlsx")
    assert [r[2] for r in book["Summary"].iter_rows(min_row=2, values_only=True)] == ["-000other"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"week": "2026-W60"}, "does not exist"),
        ({"week": "next"}, "is not a week"),
        ({"accounts": ["-000nobody"]}, "no connected account is '-000nobody'"),
        ({"accounts": ["@nobody"]}, "no connected account is '@nobody'"),
    ],
)
def test_bad_arguments_exit_2_and_change_nothing(cache, tmp_path, capsys, kwargs, words):
    code, _, err = run(cache, tmp_path, capsys, **kwargs)
    assert code == 2
    assert words in err
    assert not (tmp_path / "out").exists()
    with open_db(cache.database_path) as db:
        assert export_history(db) == []


def test_sheets_export_failure_exits_1(cache, tmp_path, capsys):
    def refused(settings, report, on_progress):
        raise ReportError(
            "The spreadsheet is not shared with rb@x.iam.gserviceaccount.com: share it as Editor.",
            step="sheets_permission",
        )

    code, _, err = run(cache, tmp_path, capsys, export="sheets", exporter=refused)
    assert code == 1
    assert "not shared with rb@x.iam.gserviceaccount.com" in err


def test_sheets_export_prints_the_link(cache, tmp_path, capsys):
    code, out, _ = run(
        cache,
        tmp_path,
        capsys,
        export="sheets",
        exporter=lambda s, r, p: Result("https://sheets.example/d/k#gid=1", 5),
    )
    assert code == 0
    assert "in 5 API calls: https://sheets.example/d/k#gid=1" in out


def test_unexpected_error_is_one_line_and_exit_1(cache, tmp_path, capsys):
    def crash(settings, report, on_progress):
        raise ZeroDivisionError("boom")

    code, _, err = run(cache, tmp_path, capsys, export="sheets", exporter=crash)
    assert code == 1 and "unexpected error" in err and "boom" not in err


def test_accounts_resolve_by_equals_form():
    args = build_parser().parse_args(
        ["report", "--export", "csv", "--account=-000abc", "--account", "@luna", "@sun"]
    )
    assert args.account == ["-000abc", "@luna", "@sun"]


def test_resolve_accounts_ambiguous_username(cache):
    from services.accounts import list_accounts
    from services.reports import BadAccount

    with open_db(cache.database_path) as db:
        db.execute("UPDATE accounts SET username = 'luna'")
        with pytest.raises(BadAccount, match="2 accounts are called"):
            resolve_accounts(list_accounts(db), ["@luna"])


def _cli(tmp_path, *argv):
    env = {
        **os.environ,
        "REELBOARD_DATA_DIR": str(tmp_path / "data"),
        "REELBOARD_TIMEZONE": "Europe/Berlin",
    }
    env.pop("TIKTOK_CLIENT_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "services", "report", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_process_exit_codes_without_tracebacks(tmp_path):
    bad_week = _cli(tmp_path, "--week", "2026-W99", "--export", "csv")
    assert bad_week.returncode == 2 and "2026-W99 does not exist" in bad_week.stderr
    unknown = _cli(tmp_path, "--account=-000abc", "--export", "csv", "--out", str(tmp_path))
    assert unknown.returncode == 2 and "no connected account is '-000abc'" in unknown.stderr
    # Without "=", an open_id starting with "-" is still taken as the value (not an option).
    dashed = _cli(tmp_path, "--account", "-000abc", "--export", "csv")
    assert dashed.returncode == 2 and "no connected account is '-000abc'" in dashed.stderr
    assert "Traceback" not in unknown.stderr + dashed.stderr
    no_export = _cli(tmp_path, "--week", "last")
    assert no_export.returncode == 2
    for result in (bad_week, unknown, dashed, no_export):
        assert "Traceback" not in result.stderr + result.stdout


def test_sheets_export_to_the_sandbox_twice(cache, tmp_path, capsys):
    # The real exporter, over HTTP, against the sandbox's fake Google Sheets.
    first = run(cache, tmp_path, capsys, export="sheets")
    second = run(cache, tmp_path, capsys, export="sheets")
    assert first[0] == 0 and second[0] == 0, first[2] + second[2]
    assert "Exported 2026-W47 for 2 account(s) to Google Sheets" in first[1]
    assert "#gid=202647" in first[1]
    with open_db(cache.database_path) as db:
        records = export_history(db)
    assert [r.outcome for r in records] == ["succeeded", "succeeded"]
    assert all(1 <= r.calls_made <= 6 for r in records)
