"""The main flows in Debian's Chromium against a real `streamlit run` (sandbox mode)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, wait_for_app

pytestmark = pytest.mark.e2e

NAV = ["Overview", "Videos", "Insights", "Reports", "Publish", "Accounts"]


def test_shell_navigation_and_sandbox_banner(app_server, page):
    page.goto(app_server.url)
    wait_for_app(page)
    expect(page.get_by_text("Sandbox mode").first).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    for title in NAV:
        nav.get_by_role("link", name=title).click()
        wait_for_app(page)
        expect(page.locator("h1").first).to_be_visible()
        assert page.get_by_test_id("stException").count() == 0
        expect(page.get_by_text("Sandbox mode").first).to_be_visible()
    assert urlsplit(page.url).path.endswith("/accounts")  # the view (period) rides in the query
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "shell-accounts.png"), full_page=True)


def test_connect_on_consent_page_then_disconnect(app_server, page):
    page.goto(f"{app_server.url}/accounts")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Connect (a TikTok|another) account")).click()
    # Same-tab redirect to the sandbox's TikTok consent page.
    page.wait_for_url(re.compile(r".*/v2/auth/authorize/.*"))
    page.get_by_text("@trailrunnerjo").click()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r".*/accounts$"))  # the code and state are gone from the URL
    wait_for_app(page)
    card = page.get_by_text("Jo on the Trails").first
    card.wait_for()
    expect(page.get_by_text("@trailrunnerjo").first).to_be_visible()
    expect(page.get_by_text("Token health").first).to_be_visible()
    assert "code=" not in page.url and "state=" not in page.url

    page.get_by_role("button", name="Disconnect").first.click()
    wait_for_app(page)
    page.get_by_role("button", name="Yes, disconnect").click()
    wait_for_app(page)
    page.get_by_text("is disconnected").first.wait_for()
    # The flash is drawn at the top of the rerun; the expander at its end (auto-waits).
    expect(page.get_by_text("Disconnected accounts (1)")).to_be_visible()


def test_on_a_phone_the_sidebar_starts_closed(app_server, browser):
    # Opened on every page load, the sidebar covered the whole 390 px screen.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        phone.goto(f"{app_server.url}/reports")
        wait_for_app(phone)
        expect(phone.locator("h1").first).to_be_visible()
        sidebar = phone.get_by_test_id("stSidebar")
        assert sidebar.get_attribute("data-collapsed") == "true"
    finally:
        context.close()
