"""Connect a demo creator, load demo history, and read the charts — in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, choose_period, connect_on_consent_page, wait_for_app

pytestmark = pytest.mark.e2e


def test_demo_history_fills_overview_and_video_growth(app_server, page):
    connect_on_consent_page(page, app_server.url, "trailrunnerjo")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    wait_for_app(page)
    page.get_by_text("Not enough history yet").wait_for()

    page.get_by_role("button", name="Load demo history").click()
    days = page.get_by_label("Days")
    days.fill("14")
    days.press("Enter")
    page.get_by_role("button", name="Load history").click()
    page.get_by_text(re.compile(r"Demo history: \d+ day")).wait_for(timeout=120_000)
    wait_for_app(page, timeout=60_000)
    # Choose a period the 14 days of history cover.
    choose_period(page, "Last 7 days")
    assert page.get_by_text("Not enough history yet").count() == 0
    charts = page.locator(".js-plotly-plot")
    expect(charts).to_have_count(2)  # auto-waiting: plotly draws the second one a moment later
    expect(page.get_by_text("Views gained per day").first).to_be_visible()
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "overview.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Videos").click()
    wait_for_app(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.wait_for()
    grid.click(position={"x": 15, "y": 60})  # the first row's selection checkbox
    wait_for_app(page)
    page.get_by_text("Views over time").first.wait_for()
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    page.screenshot(path=str(out / "video-detail.png"), full_page=True)
