"""In a real browser: the sandbox's hostile creator renders as text on every page (fault suite
X7, see tests/faults/test_hostile_text.py). AppTest checks the Markdown we send; this checks
what Streamlit's Markdown and plotly actually make of it: no image or link to the attacker's
host, no KaTeX, no coloured or icon spans, no 90 px title.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sandbox.catalog import DEMO_CREATORS
from tests.e2e.conftest import choose_period, connect_on_consent_page, wait_for_app

pytestmark = pytest.mark.e2e

HOSTILE = DEMO_CREATORS[-1]
EVIL = ("e.vl", "evil.example")


def _assert_inert(page) -> None:
    main = page.locator("[data-testid='stMain']")
    for host in EVIL:
        assert main.locator(f"img[src*='{host}']").count() == 0
        assert main.locator(f"a[href*='{host}']").count() == 0
        assert page.locator(f"[data-testid='stSidebar'] a[href*='{host}']").count() == 0
    assert main.locator(".katex").count() == 0  # no LaTeX typeset
    # The payload's :material/home:, :red[x] and :smile: (our own icons and colours stay).
    assert main.locator("span[role='img'][aria-label='home icon']").count() == 0
    assert main.locator(".stMarkdownColoredText", has_text=re.compile(r"^x$")).count() == 0
    assert "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}" not in main.inner_text()
    assert main.locator(".js-plotly-plot [style*='font-size:90px']").count() == 0
    assert main.locator(".js-plotly-plot a").count() == 0


def _visible_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")


def test_hostile_creator_is_text_everywhere(app_server, page):
    connect_on_consent_page(page, app_server.url, HOSTILE.username)
    _assert_inert(page)
    text = _visible_text(page)
    assert HOSTILE.display_name in text  # every character, shown as text
    assert f"@{HOSTILE.username}" in text

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    wait_for_app(page)
    page.get_by_role("button", name="Sync now").click()
    page.get_by_text("last synced").first.wait_for(timeout=120_000)
    wait_for_app(page, timeout=60_000)
    _assert_inert(page)
    assert HOSTILE.display_name in _visible_text(page)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Videos").click()
    wait_for_app(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.wait_for()
    grid.click(position={"x": 15, "y": 60})  # the first row: its title as a heading
    wait_for_app(page)
    page.get_by_text("Views over time").first.wait_for()
    _assert_inert(page)
    expect(page.locator("[data-testid='stMain'] a[href^='https://www.tiktok.com/']").first
           ).to_be_attached()

    # History, so Top movers draws the titles as tick labels.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    wait_for_app(page)
    page.get_by_role("button", name="Load demo history").click()
    days = page.get_by_label("Days")
    days.fill("14")
    days.press("Enter")
    page.get_by_role("button", name="Load history").click()
    page.get_by_text(re.compile(r"Demo history: \d+ day")).wait_for(timeout=120_000)
    wait_for_app(page, timeout=60_000)
    choose_period(page, "Last 7 days")
    _assert_inert(page)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Insights").click()
    wait_for_app(page)
    movers = page.locator(".js-plotly-plot").first
    movers.wait_for()
    page.wait_for_timeout(1000)
    _assert_inert(page)
    # plotly shows the escaped labels as the very characters of the titles.
    ticks = movers.locator(".ytick text").all_text_contents()
    # (Long labels are cut to "…" plus the posting date, so only their start is compared.)
    assert any(t.startswith('<span style="font-size:90px">X') or
               t.startswith('<a href="//evil.example">x') for t in ticks), ticks
