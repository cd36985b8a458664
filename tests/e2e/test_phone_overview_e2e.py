"""Overview on a phone (390 px) and a desktop (1400 px) with three demo creators and history.

The data dir is prepared in-process (the real connect flow through the sandbox, then demo
history), then `streamlit run` serves it: the sandbox's state lives in the data dir.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from services.access import LOCAL_ACTOR
from services.config import load_settings
from services.demo_history import load_demo_history
from services.runtime import start_runtime
from tests.e2e.conftest import ROOT, start_app, wait_for_app
from tests.pages.conftest import connect_demo

pytestmark = pytest.mark.e2e
CREATORS = ("lunakitchen", "quietpotter", "trailrunnerjo")


@pytest.fixture(scope="module")
def three_creators_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("phone")
    data = base / "data"
    rt = start_runtime(load_settings({}, {"REELBOARD_DATA_DIR": str(data)}))
    try:
        for creator in CREATORS:
            connect_demo(rt, creator)
        assert not load_demo_history(rt.settings, actor=LOCAL_ACTOR, days=14).failures
    finally:
        rt.stop()
    app = start_app(data, base / "streamlit.log")
    yield app
    app.stop()


def _boxes(page, selector: str) -> list[dict]:
    loc = page.locator(selector)
    return [b for b in (loc.nth(i).bounding_box() for i in range(loc.count())) if b]


def _open(browser, url: str, width: int, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url)
    wait_for_app(page, timeout=60_000)
    page.locator("[data-testid='stMetric']").first.wait_for()
    if width < 640:  # phones open with the sidebar folded (it would cover the page)
        box = page.locator("[data-testid='stMetric']").first.bounding_box()
        on_top = page.evaluate(
            "([x, y]) => !!document.elementFromPoint(x, y)?.closest('[data-testid=stMain]')",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top, "the sidebar covers the cards"
    return context, page


def _settled_side_by_side(page, selector: str = "[data-testid='stMetric']") -> list[dict]:
    """The boxes of ``selector`` once the run has ended and its first two share a row. A page
    can still be drawing, or rerunning after writing the view into the URL (Streamlit keeps
    the last run's elements on screen until they are replaced), when its first cards appear;
    a layout that never puts two side by side times out here and fails the test."""
    wait_for_app(page)
    page.wait_for_function(
        """(sel) => {
            const c = document.querySelectorAll(sel);
            if (c.length < 2) return false;
            const a = c[0].getBoundingClientRect(), b = c[1].getBoundingClientRect();
            return a.height > 0 && Math.abs(a.top - b.top) < 4;
        }""",
        arg=selector,
    )
    return _boxes(page, selector)


def _shoot(page, path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to it."""
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))


def test_phone_shows_kpi_cards_two_per_row(three_creators_app, browser):
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    url = f"{three_creators_app.url}/?accounts=@lunakitchen&period=7d"
    context, page = _open(browser, url, 390, 844)
    try:
        # Auto-waiting: the page may still be drawing its later cards when the first appears.
        expect(page.locator("[data-testid='stMetric']")).to_have_count(8)
        cards = _settled_side_by_side(page)
        assert len(cards) == 8
        first, second, third = cards[:3]
        # Side by side: same row, the second to the right of the first, both on screen.
        assert abs(first["y"] - second["y"]) < 4
        assert second["x"] >= first["x"] + first["width"] - 1
        assert second["x"] + second["width"] <= 390
        assert third["y"] > first["y"] + first["height"] - 1  # the third starts a new row
        _shoot(page, out / "overview-390.png")
    finally:
        context.close()


def test_three_accounts_compared_at_both_widths(three_creators_app, browser):
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    url = f"{three_creators_app.url}/?accounts=@lunakitchen,@quietpotter,@trailrunnerjo&period=7d"
    for width in (1400, 390):
        context, page = _open(browser, url, width)
        try:
            page.get_by_text("Portfolio · 3 accounts").wait_for()
            page.locator(".js-plotly-plot").first.wait_for()
            cards = _settled_side_by_side(page)
            assert abs(cards[0]["y"] - cards[1]["y"]) < 4
            # The accounts table: every column on desktops, the first numbers on phones.
            wide = page.locator(".st-key-rb-wide-compare-table")
            narrow = page.locator(".st-key-rb-narrow-compare-table")
            expect(wide if width > 640 else narrow).to_be_visible()
            expect(narrow if width > 640 else wide).to_be_hidden()
            _shoot(page, out / f"overview-compare-{width}.png")
            if width > 640:  # growth in %: every account from 0 at the period's start
                page.get_by_test_id("stButtonGroup").get_by_text("Growth %").click()
                wait_for_app(page)
                page.get_by_text("Follower growth (%)").wait_for()
                _shoot(page, out / "overview-growth-1400.png")
        finally:
            context.close()


def test_view_survives_navigation_and_reload(three_creators_app, browser):
    url = f"{three_creators_app.url}/?accounts=@quietpotter,@trailrunnerjo&period=90d"
    context, page = _open(browser, url, 1400)
    try:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="Videos").click()
        wait_for_app(page)
        page.wait_for_url(re.compile(r".*/videos\?.*"))
        assert "period=90d" in page.url
        assert re.search(r"accounts=(@|%40)quietpotter(,|%2C)(@|%40)trailrunnerjo", page.url)
        page.reload()
        wait_for_app(page, timeout=60_000)
        picked = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect")
        assert "quiet potter" in picked.inner_text()
        assert "Luna" not in picked.inner_text()
        assert "90d" in page.url
    finally:
        context.close()
