"""The Publish form's decisions as plain functions: each Content Sharing Guidelines rule the page
draws (https://developers.tiktok.com/doc/content-sharing-guidelines), checked without a browser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dashboard import publish_form as form
from dashboard import publish_media as media
from services.publishing import (
    BRANDED_NOT_PRIVATE,
    DISCLOSURE_NEEDS_CHOICE,
    CreatorInfo,
    FileSource,
    PostRequest,
)

PUBLIC = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")


def creator(**changes) -> CreatorInfo:
    base = CreatorInfo(
        open_id="oid",
        nickname="Luna",
        username="lunakitchen",
        avatar_url=None,
        privacy_level_options=PUBLIC,
        comment_disabled=False,
        duet_disabled=False,
        stitch_disabled=False,
        max_video_post_duration_sec=300,
        can_post=True,
        blocked_reason=None,
        allowed_modes=("direct", "draft", "photo"),
    )
    return replace(base, **changes)


def request(**changes) -> PostRequest:
    base = PostRequest(
        open_id="oid",
        mode="direct",
        source=FileSource(Path("/tmp/v.mp4")),
        privacy_level="PUBLIC_TO_EVERYONE",
    )
    return replace(base, **changes)


def test_modes_follow_the_grant_and_name_the_missing_permission():
    assert form.mode_problems({"video.publish", "video.upload"}) == {}
    only_upload = form.mode_problems({"user.info.basic", "video.upload"})
    assert set(only_upload) == {"direct", "photo"}
    assert "post videos directly" in only_upload["direct"]
    assert "video.publish" not in only_upload["direct"]  # words, not scope codes
    assert set(form.mode_problems({"video.publish"})) == {"draft"}
    assert "TikTok drafts" in form.mode_problems({"video.publish"})["draft"]


def test_privacy_options_are_the_creators_own_and_only_me_goes_with_branded_content():
    private = creator(privacy_level_options=("FOLLOWER_OF_CREATOR", "SELF_ONLY"))
    assert form.privacy_options(private, branded=False) == (
        ["FOLLOWER_OF_CREATOR", "SELF_ONLY"],
        [],
    )
    allowed, removed = form.privacy_options(creator(), branded=True)
    assert allowed == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS"]
    assert removed == [f"“Only me” is unavailable: {BRANDED_NOT_PRIVATE}"]
    assert form.privacy_label("SELF_ONLY") == "Only me"
    assert form.privacy_label("PUBLIC_TO_EVERYONE") == "Everyone"


def test_interactions_disabled_where_the_creator_disabled_them_and_photos_get_comment_only():
    boxes = form.interaction_boxes(creator(duet_disabled=True, stitch_disabled=True), "direct")
    assert [b.label for b in boxes] == ["Allow comment", "Allow Duet", "Allow Stitch"]
    assert [b.disabled_reason is not None for b in boxes] == [False, True, True]
    photo = form.interaction_boxes(creator(comment_disabled=True), "photo")
    assert [b.label for b in photo] == ["Allow comment"]
    assert "comments" in photo[0].disabled_reason


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("", 0),
        ("a" * 2200, 2200),
        ("😀", 2),
        ("🇯🇵", 4),
        ("👨‍👩‍👧‍👦", 11),
        ("e\u0301", 2),
    ],
)
def test_caption_counter_counts_utf16_units(text, units):
    words, fits = form.caption_counter(text, 2200)
    assert words.startswith(f"{units:,} / 2,200 characters")
    assert "UTF-16" in words
    assert fits


def test_caption_counter_flags_one_unit_too_many():
    words, fits = form.caption_counter("😀" * 1100 + "a", 2200)
    assert words.startswith("2,201 / 2,200") and not fits


def test_post_needs_media_first():
    assert form.post_blockers(request(source=None), creator(), []) == [
        "A video post needs a video file or a video URL."
    ]
    blockers = form.post_blockers(request(), creator(), ["The video is too long."])
    assert blockers == ["Fix the media problems listed above first."]


def test_a_valid_form_has_no_blockers_and_a_helpful_tooltip():
    assert form.post_blockers(request(), creator(), []) == []
    assert "Nothing is sent before you click" in form.post_help([], "direct")


def test_no_privacy_chosen_blocks_post():
    blockers = form.post_blockers(request(privacy_level=None), creator(), [])
    assert len(blockers) == 1 and "Choose who can see this post" in blockers[0]


def test_disclosure_on_with_nothing_ticked_has_exactly_the_guideline_hover_text():
    blockers = form.post_blockers(request(disclose=True), creator(), [])
    assert form.post_help(blockers, "direct") == DISCLOSURE_NEEDS_CHOICE
    assert form.post_blockers(request(disclose=True, brand_organic=True), creator(), []) == []


def test_branded_content_cannot_be_private():
    blockers = form.post_blockers(
        request(disclose=True, brand_content=True, privacy_level="SELF_ONLY"), creator(), []
    )
    assert any(BRANDED_NOT_PRIVATE in b for b in blockers)


def test_creator_who_cannot_post_blocks_post_with_the_reason():
    blocked = creator(can_post=False, blocked_reason="TikTok's daily limit is reached.")
    assert form.post_blockers(request(), blocked, []) == ["TikTok's daily limit is reached."]


def test_server_files_lists_only_videos_in_the_folder(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"x")
    (folder / "link.mp4").symlink_to(outside)
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.mp4").write_bytes(b"x")
    assert [p.name for p in media.server_files(folder)] == ["clip.mp4"]
    assert media.server_files(tmp_path / "missing") == []


def test_photo_urls_are_one_per_line():
    assert media.parse_photo_urls(" https://a/1.jpg \n\nhttps://a/2.jpg\n") == [
        "https://a/1.jpg",
        "https://a/2.jpg",
    ]


def test_declaration_links_each_policy_where_the_sentence_names_it():
    assert form.declaration_markdown(False, False) == (
        "By posting, you agree to TikTok's [Music Usage Confirmation]("
        "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en)."
    )
    assert form.declaration_markdown(True, True) == (
        "By posting, you agree to TikTok's [Branded Content Policy]("
        "https://www.tiktok.com/legal/page/global/bc-policy/en) and [Music Usage Confirmation]("
        "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en)."
    )


def test_media_facts_line_reads_like_a_person_would_say_it():
    from services.publishing import MediaInfo

    info = MediaInfo(
        path=Path("/x"),
        size=12 * 1024 * 1024,
        container="mp4",
        codec="h264",
        duration_s=12.34,
        fps=29.97,
        width=1080,
        height=1920,
    )
    assert media.describe_media(info) == "MP4 · h264 · 1080×1920 · 30 fps · 12.3 s · 12.0 MB"


def test_large_files_come_from_a_subfolder_the_spool_cleanup_never_touches(tmp_path):
    assert media.server_dir(tmp_path) == tmp_path / "uploads" / "server"
