"""The weekly report in Chromium: download the Excel file, export to the sandbox's fake Google
Sheets, open the result from the link."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import openpyxl
import pytest
from playwright.sync_api import expect

from services.reports import last_complete_week
from tests.e2e.conftest import ROOT, connect_on_consent_page, wait_for_app

pytestmark = pytest.mark.e2e


def test_download_and_export_then_open_the_spreadsheet(app_server, page, tmp_path):
    connect_on_consent_page(page, app_server.url, "lunakitchen")
    # Two weeks of history through the CLI, which shares the app's sandbox.
    env = {**os.environ, "REELBOARD_DATA_DIR": str(app_server.data_dir)}
    for name in ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", "TIKTOK_REDIRECT_URI"):
        env.pop(name, None)
    demo = subprocess.run(
        [sys.executable, "-m", "services", "demo-history", "--days", "16"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    week = last_complete_week(datetime.now(UTC), "UTC").key

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Reports").click()
    wait_for_app(page)
    page.get_by_text(f"{week} ·").first.wait_for()
    page.locator(".js-plotly-plot").first.wait_for()

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Everything (Excel)").click()
    xlsx = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(xlsx)
    assert xlsx.name == f"reelboard-{week}.xlsx"
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames[0] == "Summary" and book["Summary"]["A2"].value == week

    page.get_by_role("button", name="Export to Google Sheets").click()
    page.get_by_text(f"Exported {week} to Google Sheets").wait_for(timeout=60_000)
    wait_for_app(page)
    link = page.get_by_role("link", name="Open the spreadsheet")
    with page.context.expect_page() as opened:
        link.click()
    sheet = opened.value
    sheet.wait_for_load_state()
    assert re.search(r"/_sandbox/sheets/", sheet.url)
    expect(sheet.get_by_text(week).first).to_be_visible()
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    sheet.screenshot(path=str(out / "report-spreadsheet.png"), full_page=True)
    page.screenshot(path=str(out / "reports.png"), full_page=True)
    # The history lists the export.
    expect(page.get_by_text("Export history")).to_be_visible()
