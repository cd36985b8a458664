"""Post a generated video in Chromium: connect with Publishing, fill the Content Sharing
Guidelines form, Post, see PUBLISH_COMPLETE, then sync and find the video in the Videos list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, wait_for_app
from tests.media import make_video

pytestmark = pytest.mark.e2e

CAPTION = "Reelboard e2e launch 7f3a #demo"


def _key(page, key: str):
    """A keyed widget's container (Streamlit marks it with the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def _connect_with_publishing(page, app_url: str, creator: str) -> None:
    page.goto(f"{app_url}/accounts")
    wait_for_app(page)
    _key(page, "feature_publishing").get_by_text("Publishing").click()
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Connect (a TikTok|another) account")).click()
    page.wait_for_url(re.compile(r".*/v2/auth/authorize/.*"))
    page.get_by_text(f"@{creator}").click()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(r".*/accounts$"))
    wait_for_app(page)
    page.get_by_text("Token health").first.wait_for()


def test_post_a_generated_video_and_find_it_after_a_sync(app_server, page, tmp_path):
    video = make_video(tmp_path / "launch.mp4", seconds=2, fps=30, width=540, height=960)
    _connect_with_publishing(page, app_server.url, "lunakitchen")

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Publish").click()
    wait_for_app(page)
    page.get_by_text("Posting to", exact=True).wait_for()
    creator = page.get_by_test_id("stText").get_by_text("Luna's Kitchen (@lunakitchen)")
    expect(creator).to_be_visible()
    post = _key(page, "publish_post").get_by_role("button")
    assert post.is_disabled()  # nothing chosen yet

    _key(page, "publish_upload_0").locator("input[type=file]").set_input_files(str(video))
    page.get_by_text("MP4 · h264 · 540×960").wait_for(timeout=60_000)
    wait_for_app(page)
    expect(page.locator("video")).to_have_count(1)  # the preview

    caption = _key(page, "publish_caption").locator("textarea")
    caption.fill(CAPTION)
    caption.press("Control+Enter")
    wait_for_app(page)
    page.get_by_text(f"{len(CAPTION)} / 2,200 characters").wait_for()

    _key(page, "publish_privacy").get_by_test_id("stSelectbox").click()
    page.get_by_role("option", name="Everyone").click()
    wait_for_app(page)
    page.get_by_text("By posting, you agree to TikTok's Music Usage Confirmation").first.wait_for()
    assert post.is_enabled()

    post.click()
    page.get_by_text("PUBLISH_COMPLETE").wait_for(timeout=90_000)
    page.get_by_text("Posted to @lunakitchen").first.wait_for()
    # Public posts get their link once the sandbox's moderation delay has passed.
    page.get_by_role("link", name=re.compile("Open the post on TikTok")).wait_for(timeout=60_000)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / "publish-complete.png"), full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    wait_for_app(page)
    page.get_by_role("button", name=re.compile("Sync now")).click()
    wait_for_app(page, timeout=120_000)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Videos").click()
    wait_for_app(page)
    search = page.get_by_label("Search titles and descriptions")
    search.fill("e2e launch 7f3a")
    search.press("Enter")
    wait_for_app(page)
    page.get_by_text(re.compile(r"^1 videos")).wait_for()
    # The grid draws on a canvas; its accessible copy of the cells carries the caption.
    page.locator("[role=gridcell]", has_text=CAPTION).first.wait_for(state="attached")
