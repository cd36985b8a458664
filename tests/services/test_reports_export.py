"""The export's lease and history: two exports at once never interleave; every export is
recorded with its outcome and calls made. The Sheets exporter itself is replaced here by a
recording double (its own tests run it over HTTP against the sandbox's fake Sheets)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from services.access import LOCAL_ACTOR
from services.db import open_db
from services.reports import ExportBusy, IsoWeek, ReportError, build_report, export_history
from services.reports import export as exports
from tests.services.report_cache import add_account, daily_runs, ts
from tests.services.test_reports_model import luna, ref


@dataclass
class Result:
    url: str
    calls_made: int


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "x.db"
    origin = ts(2026, 11, 2, 6)
    with open_db(path, migrate=True) as db:
        acct = luna(origin)
        add_account(db, acct, origin)
        daily_runs(db, acct, origin, ts(2026, 11, 25, 6))
    return path


def _report(db):
    return build_report(db, [ref(luna(ts(2026, 11, 2, 6)))], IsoWeek(2026, 47), "UTC")


def test_two_exports_at_once_one_is_refused(db_path):
    inside, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow_exporter(settings, report, on_progress):
        calls.append(report.week.key)
        inside.set()
        assert release.wait(10)
        return Result("https://docs.google.com/spreadsheets/d/abc/edit#gid=202647", 5)

    outcome: dict[str, object] = {}

    def first():
        with open_db(db_path) as db:
            outcome["first"] = exports.export_sheets(
                db, None, _report(db), actor=LOCAL_ACTOR, exporter=slow_exporter
            )

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    progress: list[tuple] = []
    with open_db(db_path) as db, pytest.raises(ExportBusy) as info:
        exports.export_sheets(
            db,
            None,
            _report(db),
            actor=LOCAL_ACTOR,
            exporter=slow_exporter,
            on_progress=lambda *a: progress.append(a),
        )
    release.set()
    thread.join(10)
    assert "An export is already running" in info.value.message
    assert info.value.retry_safe
    assert calls == ["2026-W47"]  # the second never reached Sheets
    assert outcome["first"].calls_made == 5
    with open_db(db_path) as db:
        (record,) = export_history(db)
    assert record.outcome == "succeeded" and record.calls_made == 5
    assert record.week == "2026-W47" and record.accounts == ["-000luna"]
    assert record.target.endswith("#gid=202647")
    assert record.finished_at is not None
    # After the first finished, the next export may run.
    with open_db(db_path) as db:
        again = exports.export_sheets(
            db, None, _report(db), actor=LOCAL_ACTOR, exporter=slow_exporter
        )
        assert again.url and len(export_history(db)) == 2


def test_a_failed_export_is_recorded_and_releases_the_lease(db_path):
    def failing(settings, report, on_progress):
        raise ReportError(
            "The spreadsheet is not shared with x@y.iam.gserviceaccount.com.",
            step="sheets_permission",
        )

    with open_db(db_path) as db:
        with pytest.raises(ReportError):
            exports.export_sheets(db, None, _report(db), actor=LOCAL_ACTOR, exporter=failing)
        (record,) = export_history(db)
        assert record.outcome == "failed"
        assert "not shared" in record.error
        ok = exports.export_sheets(
            db,
            None,
            _report(db),
            actor=LOCAL_ACTOR,
            exporter=lambda s, r, p: Result("https://x", 6),
        )
        assert ok.calls_made == 6


def test_an_unexpected_error_is_recorded_in_words(db_path):
    def broken(settings, report, on_progress):
        raise RuntimeError("secret detail")

    with open_db(db_path) as db:
        with pytest.raises(ReportError) as info:
            exports.export_sheets(db, None, _report(db), actor=LOCAL_ACTOR, exporter=broken)
        assert "unexpected error" in info.value.message and info.value.retry_safe
        (record,) = export_history(db)
        assert record.outcome == "failed" and "secret detail" not in record.error


def test_a_crashed_exports_lease_expires(db_path):
    start = datetime(2026, 11, 30, 7, tzinfo=UTC)
    with open_db(db_path) as db:
        report = _report(db)
        exports.claim(db, report, "sheets", clock=lambda: start)  # never finished (a crash)
        with pytest.raises(ExportBusy):
            exports.claim(db, report, "sheets", clock=lambda: start + timedelta(minutes=1))
        later = start + timedelta(seconds=exports.LEASE_SECONDS + 1)
        exports.claim(db, report, "sheets", clock=lambda: later)
        records = export_history(db)
        assert [r.outcome for r in records] == ["running", "failed"]
        assert "Interrupted" in records[1].error


def test_progress_is_reported(db_path):
    seen: list[tuple[int, int | None, str]] = []
    with open_db(db_path) as db:
        exports.export_sheets(
            db,
            None,
            _report(db),
            actor=LOCAL_ACTOR,
            exporter=lambda s, r, p: Result("u", 4),
            on_progress=lambda d, t, m: seen.append((d, t, m)),
        )
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]
    assert "4 Sheets API calls" in seen[-1][2]


def test_only_editors_export_and_every_attempt_is_audited(db_path):
    from services.access import AccessDenied, Actor, list_events

    viewer = Actor("vic@brand.example", "Vic", "viewer")
    editor = Actor("eddie@agency.example", "Eddie", "editor")
    sent: list[str] = []

    def exporter(settings, report, on_progress):
        sent.append(report.week.key)
        return Result("https://docs.google.com/spreadsheets/d/abc/edit#gid=202647", 4)

    with open_db(db_path) as db:
        with pytest.raises(AccessDenied) as refused:
            exports.export_sheets(db, None, _report(db), actor=viewer, exporter=exporter)
        assert "editor" in refused.value.message
        assert sent == [] and export_history(db) == []  # nothing claimed, nothing sent
        exports.export_sheets(db, None, _report(db), actor=editor, exporter=exporter)
        assert sent == ["2026-W47"]
        events = [(e.actor_email, e.action, e.outcome) for e in list_events(db, LOCAL_ACTOR)]
    assert ("vic@brand.example", "export", "refused") in events
    assert ("eddie@agency.example", "export", "ok") in events
