"""Team mode in Chromium: sign in through the sandbox's OpenID Connect provider as each demo
person, see what that role may see, sign out; the person outside the allowlist is stopped.

The app runs with a secrets file of its own (``--secrets.files``) holding ``[auth]`` pointed at
a sandbox started by this test, exactly as the README's team-mode secrets do on port 8765.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from sandbox import start_sandbox
from sandbox.oidc import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.e2e.conftest import ROOT, RunningApp, free_port, start_app, wait_for_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def team_app(tmp_path_factory) -> Iterator[RunningApp]:
    base = tmp_path_factory.mktemp("team")
    provider = start_sandbox(port=0)
    port = free_port()
    secrets = base / "secrets.toml"
    secrets.write_text(
        f"""
[reelboard]
timezone = "UTC"

[auth]
redirect_uri = "http://localhost:{port}/oauth2callback"
cookie_secret = "e2e-cookie-secret-0123456789abcdef"
client_id = "{DEMO_CLIENT_ID}"
client_secret = "{DEMO_CLIENT_SECRET}"
server_metadata_url = "{provider.base_url}/oidc/.well-known/openid-configuration"

[access]
admins = ["admin@example.com"]
editors = ["editor@example.com"]
viewers = ["viewer@example.com"]
"""
    )
    app = start_app(base / "data", base / "streamlit.log", port=port,
                    extra_args=("--secrets.files", str(secrets)))
    yield app
    app.stop()
    provider.stop()


def sign_in(page, app: RunningApp, email: str) -> None:
    page.goto(app.url)
    wait_for_app(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/oidc/authorize.*"))  # the provider's sign-in page
    page.locator(f"button[data-email='{email}']").click()
    page.wait_for_url(re.compile(rf"^{re.escape(app.url)}/?(\?.*)?$"))
    wait_for_app(page)


def sign_out(page, app: RunningApp) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()
    wait_for_app(page)


def nav_links(page) -> set[str]:
    nav = page.get_by_test_id("stSidebarNav")
    names = ["Overview", "Videos", "Insights", "Reports", "Publish", "Accounts", "Audit"]
    return {n for n in names if nav.get_by_role("link", name=n, exact=True).count()}


def test_every_page_needs_sign_in(team_app, page):
    for path in ("", "/accounts", "/audit", "/videos"):
        page.goto(team_app.url + path)
        wait_for_app(page)
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert page.get_by_test_id("stSidebarNav").count() == 0


def test_viewer_sees_charts_but_no_connect_export_or_publish(team_app, page):
    sign_in(page, team_app, "viewer@example.com")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("viewer@example.com · viewer")).to_be_visible()
    links = nav_links(page)
    assert {"Overview", "Videos", "Insights", "Reports", "Accounts"} <= links
    assert "Publish" not in links and "Audit" not in links
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Accounts").click()
    wait_for_app(page)
    page.get_by_text("needs the admin role").wait_for()
    assert page.get_by_role("button", name=re.compile("Connect")).count() == 0
    assert page.get_by_role("button", name=re.compile("Export")).count() == 0
    sign_out(page, team_app)


def test_editor_may_publish_but_not_administer(team_app, page):
    sign_in(page, team_app, "editor@example.com")
    links = nav_links(page)
    assert "Publish" in links and "Audit" not in links
    page.goto(f"{team_app.url}/accounts")
    wait_for_app(page)
    page.get_by_text("needs the admin role").wait_for()
    sign_out(page, team_app)


def test_admin_connects_and_sees_it_on_the_audit_page(team_app, page):
    sign_in(page, team_app, "admin@example.com")
    assert {"Publish", "Audit"} <= nav_links(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Accounts").click()
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Connect (a TikTok|another) account")).click()
    page.wait_for_url(re.compile(r".*/v2/auth/authorize/.*"))
    page.get_by_text("@trailrunnerjo").click()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r".*/accounts$"))
    wait_for_app(page)
    page.get_by_text("Jo on the Trails").first.wait_for()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Audit").click()
    wait_for_app(page)
    table = page.get_by_test_id("stDataFrame")
    table.wait_for()
    page.get_by_role("button", name="Download CSV").wait_for()
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "access-audit.png"), full_page=True)
    sign_out(page, team_app)


def test_stranger_is_stopped(team_app, page):
    sign_in(page, team_app, "stranger@example.net")
    page.get_by_text("not on this Reelboard's team list").wait_for()
    assert page.get_by_test_id("stSidebarNav").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in").wait_for()


def test_audit_trail_has_every_sign_in_and_the_connect(team_app):
    """Read back what the flows above wrote (the Audit page's data, via the cache)."""
    from services.db import open_db

    with open_db(team_app.data_dir / "reelboard.db") as db:
        rows = db.execute("SELECT actor_email, action, outcome FROM audit_events").fetchall()
    assert ("viewer@example.com", "sign_in", "ok") in rows
    assert ("admin@example.com", "connect", "ok") in rows
    assert ("stranger@example.net", "sign_in", "refused") in rows
