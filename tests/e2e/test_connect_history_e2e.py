"""Issue 10 item 1 in Chromium: after connecting, the one-time code and state are not in the
browser history (Back never replays them), and the same callback link opened again lands
quietly as "already connected"."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import wait_for_app

pytestmark = pytest.mark.e2e


def _no_error(page) -> None:
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("Connecting failed").count() == 0


def test_back_after_connect_never_replays_the_callback(app_server, page):
    seen: list[str] = []
    page.on(
        "framenavigated", lambda frame: seen.append(frame.url) if frame == page.main_frame else None
    )
    page.goto(f"{app_server.url}/accounts")
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Connect (a TikTok|another) account")).click()
    page.wait_for_url(re.compile(r".*/v2/auth/authorize/.*"))
    page.get_by_text("@lunakitchen").click()
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("Connected").first.wait_for(timeout=60_000)
    wait_for_app(page, timeout=120_000)  # the first sync runs right after connecting
    callback = next(u for u in seen if "code=" in u)
    assert "code=" not in page.url and "state=" not in page.url
    assert "code=" not in page.evaluate("window.location.search")
    # Back goes to TikTok's consent page, never to the used callback URL.
    for _ in range(4):
        page.go_back()
        if "/v2/auth/authorize" in page.url:
            break
        wait_for_app(page)
        assert "code=" not in page.url and "state=" not in page.url
        _no_error(page)
    assert "/v2/auth/authorize" in page.url

    # The same link opened again (another tab, a reload): quietly "already connected".
    again = page.context.new_page()
    again.goto(callback)
    wait_for_app(again)
    again.get_by_text("is already connected").first.wait_for()
    _no_error(again)
    assert "code=" not in again.evaluate("window.location.search")
    # Its history holds no code either: walk back through every entry of this tab.
    for _ in range(again.evaluate("window.history.length") - 1):
        again.go_back()
        assert "code=" not in again.url and "state=" not in again.url
    _no_error(again)
