"""The Videos table at 1400 px in Chromium: every column, the TikTok link included, is on
screen without scrolling sideways, also after sorting by views (issue 10, item 5)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ROOT, connect_on_consent_page, wait_for_app

pytestmark = pytest.mark.e2e

#: The grid is a canvas (glide-data-grid); its scroller element is ordinary DOM and tells
#: whether the columns are wider than the room they were given.
GEOMETRY = """() => {
  const frame = document.querySelector('[data-testid=stDataFrame]');
  const scroller = frame.querySelector('.dvn-scroller');
  return {scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth,
          frameWidth: frame.getBoundingClientRect().width};
}"""


def test_videos_table_fits_1400px_with_the_link_column_on_screen(app_server, page):
    connect_on_consent_page(page, app_server.url, "trailrunnerjo")  # connecting runs the first sync
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Videos").click()
    wait_for_app(page)
    page.get_by_test_id("stDataFrame").wait_for()
    page.get_by_test_id("stSelectbox").filter(has_text="Sort by").click()
    page.get_by_role("option", name="Views").click()
    wait_for_app(page)
    grid = page.get_by_test_id("stDataFrame")
    grid.wait_for()
    page.wait_for_timeout(500)  # the canvas lays out after the script run
    geometry = page.evaluate(GEOMETRY)
    assert geometry["frameWidth"] > 800, geometry  # the wide layout at 1400 px
    # No horizontal scrolling: the last column (and the pinned link) fit the frame.
    assert geometry["scrollWidth"] <= geometry["clientWidth"] + 1, geometry
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    grid.screenshot(path=str(out / "videos-table-1400.png"))
