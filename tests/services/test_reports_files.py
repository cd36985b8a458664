"""The report's CSV and XLSX, read back (the XLSX with openpyxl)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest

from services.db import open_db
from services.reports import COLUMNS, IsoWeek, build_report, file_name, report_xlsx, table_csv
from tests.services.report_cache import D, FakeAccount, Video, add_account, daily_runs, ts
from tests.services.test_reports_model import luna, ref

W47 = IsoWeek(2026, 47)


@pytest.fixture
def report(tmp_path):
    origin = ts(2026, 11, 2, 6)
    with open_db(tmp_path / "f.db", migrate=True) as db:
        acct = luna(origin)
        add_account(db, acct, origin)
        daily_runs(db, acct, origin, ts(2026, 11, 25, 6))
        late = FakeAccount("-000late", ts(2026, 11, 20, 6), username="late")
        late.videos.append(Video("7300000000000000077", ts(2026, 11, 1), 1, "+1 @everyone"))
        add_account(db, late, late.origin)
        daily_runs(db, late, late.origin, ts(2026, 11, 20, 6))  # one snapshot only
        yield build_report(
            db, [ref(acct), ref(late)], W47, "UTC", now=datetime(2026, 11, 26, tzinfo=UTC)
        )
    assert D  # (imported for symmetry with the model tests)


def test_summary_csv(report):
    data = table_csv(report, "summary")
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM for accents and emoji
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == [c.header for c in COLUMNS["summary"]]
    assert len(rows) == 3
    luna_row = dict(zip(rows[0], rows[1], strict=True))
    assert luna_row["Week"] == "2026-W47"
    assert luna_row["Views gained"] == "7080"
    assert luna_row["Views gained (prev. week)"] == "1680"
    assert luna_row["Engagement rate"] == "0.1"
    # An open_id starting with "-" would be a formula in Excel: prefixed, shown as typed.
    assert luna_row["Open ID"] == "'-000luna"
    late_row = dict(zip(rows[0], rows[2], strict=True))
    assert late_row["Views gained"] == ""  # unknown, not 0
    assert late_row["Note"].startswith("Not enough snapshots")


def test_top_videos_csv_keeps_titles_as_text(report):
    rows = list(csv.reader(io.StringIO(table_csv(report, "top_videos").decode("utf-8-sig"))))
    titles = [r[3] for r in rows[1:]]
    assert titles[0] == '\'=HYPERLINK("x") new'
    assert rows[1][8] == "7300000000000000002"  # a 19-digit id, whole
    assert file_name(report, "top_videos") == "reelboard-2026-W47-top-videos.csv"


def test_xlsx_opens_with_formats_frozen_header_and_a_chart(report, tmp_path):
    path = tmp_path / file_name(report, ext="xlsx")
    path.write_bytes(report_xlsx(report))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Top videos", "What changed", "Sources"]
    summary = book["Summary"]
    headers = [c.value for c in summary[1]]
    assert headers == [c.header for c in COLUMNS["summary"]]
    assert all(c.font.bold for c in summary[1])
    assert summary.freeze_panes == "A2"
    col = {h: i + 1 for i, h in enumerate(headers)}
    views = summary.cell(2, col["Views gained"])
    assert views.value == 7080 and views.number_format == "#,##0"
    rate = summary.cell(2, col["Engagement rate"])
    assert rate.value == pytest.approx(0.1) and rate.number_format == "0.00%"
    open_id = summary.cell(2, col["Open ID"])
    assert open_id.value == "-000luna" and open_id.data_type == "s"
    assert summary.cell(3, col["Views gained"]).value is None  # not 0
    assert summary.column_dimensions["B"].width > summary.column_dimensions["A"].width
    assert len(summary._charts) == 1
    top = book["Top videos"]
    title = top.cell(2, 4)
    assert title.value == '=HYPERLINK("x") new' and title.data_type == "s"  # never a formula
    link = top.cell(3, 8)
    assert link.value == "https://www.tiktok.com/@luna/video/7300000000000000001"
    assert link.hyperlink is not None
    assert top.cell(2, 8).value is None  # the http:// share URL is not offered
    assert top.cell(2, 9).value == "7300000000000000002" and top.cell(2, 9).data_type == "s"
    assert top.freeze_panes == "A2"
    changes = [r[2] for r in book["What changed"].iter_rows(min_row=2, values_only=True)]
    assert any(line.startswith("Best video") for line in changes)
    sources = book["Sources"]
    assert sources.cell(2, 5).value in (
        "TikTok lifetime counter",
        "difference between Reelboard snapshots",
        "derived from Reelboard snapshots",
    )
