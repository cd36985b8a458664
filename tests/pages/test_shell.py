"""Every page renders through the real router without an exception (AppTest smoke)."""

from __future__ import annotations

import pytest

from tests.pages.conftest import open_page, texts

PAGES = ["overview", "videos", "insights", "reports", "publish", "accounts", "audit"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_without_error(name):
    at = open_page(name)
    assert not at.exception, at.exception
    assert at.title, f"{name} has no title"
    page_text = texts(at)
    assert "Sandbox mode" in page_text  # the banner is on every page
    assert "Traceback" not in page_text


def test_sidebar_empty_state_points_to_accounts():
    at = open_page("overview")
    assert "No TikTok accounts connected yet." in texts(at)


def test_live_mode_with_bad_redirect_uri_refuses_to_start(monkeypatch):
    monkeypatch.setenv("TIKTOK_CLIENT_KEY", "awlive")
    monkeypatch.setenv("TIKTOK_CLIENT_SECRET", "x")
    monkeypatch.setenv("TIKTOK_REDIRECT_URI", "https://example.com/callback")
    at = open_page("overview")
    assert not at.exception
    assert at.title[0].value == "Reelboard cannot start"
    assert "Accounts page" in at.error[0].value


def test_a_cache_held_by_another_process_is_said_at_start(tmp_path, monkeypatch):
    # E.g. `python -m services sync` upgrading a big cache when the app starts: words, not a
    # reference id, and nothing changed.
    import services.db
    from services.db import open_db

    open_page("overview")  # a cache exists, as after an earlier start
    from dashboard import runtime

    runtime.shutdown()
    with open_db(tmp_path / "data" / "reelboard.db") as holder:
        holder.conn.execute("BEGIN IMMEDIATE")  # what an upgrade in progress holds
        monkeypatch.setattr(services.db, "BUSY_TIMEOUT_MS", 100)  # not 5 s in a test
        at = open_page("overview")
        holder.conn.execute("ROLLBACK")
    assert not at.exception
    assert at.title[0].value == "Reelboard cannot start"
    assert "Another Reelboard process is holding the cache" in at.error[0].value
    assert "Traceback" not in texts(at)


def test_unexpected_error_shows_reference_not_traceback(monkeypatch):
    import services.accounts

    def boom(db):
        raise RuntimeError("secret act.abcdef internals")

    monkeypatch.setattr(services.accounts, "list_accounts", boom)
    monkeypatch.setattr("dashboard.sidebar.list_accounts", boom)
    at = open_page("publish")
    assert not at.exception
    message = at.error[0].value
    assert "reference" in message and "act.abcdef" not in message
