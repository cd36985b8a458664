"""The Content Sharing Guidelines' form rules (validate) and texts, without any I/O."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.publishing import (
    BRANDED_NOT_PRIVATE,
    DISCLOSURE_NEEDS_CHOICE,
    MUSIC_USAGE_URL,
    CreatorInfo,
    FileSource,
    PhotoUrls,
    PostRequest,
    UrlSource,
    declaration,
    disclosure_label,
    privacy_choices,
    validate,
)

PUBLIC = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")


def creator(**changes) -> CreatorInfo:
    base = CreatorInfo(
        open_id="-000abc", nickname="Luna", username="lunakitchen", avatar_url=None,
        privacy_level_options=PUBLIC, comment_disabled=False, duet_disabled=False,
        stitch_disabled=False, max_video_post_duration_sec=300, can_post=True,
        blocked_reason=None, allowed_modes=("direct", "draft", "photo"),
    )
    return replace(base, **changes)


def video(**changes) -> PostRequest:
    base = PostRequest(open_id="-000abc", mode="direct", source=FileSource(Path("v.mp4")),
                       caption="hello", privacy_level="PUBLIC_TO_EVERYONE")
    return replace(base, **changes)


def test_a_complete_form_is_valid():
    assert validate(video(), creator()) == []


def test_privacy_has_no_default_and_must_be_an_offered_option():
    assert any("no default" in p for p in validate(video(privacy_level=None), creator()))
    problems = validate(video(privacy_level="FOLLOWER_OF_CREATOR"), creator())
    assert any("not one this creator allows" in p for p in problems)


def test_a_creator_who_cannot_post_stops_the_form():
    c = creator(can_post=False, blocked_reason="Daily limit reached. Post tomorrow.")
    assert validate(video(), c)[0] == "Daily limit reached. Post tomorrow."


def test_modes_the_grant_does_not_allow_are_refused():
    problems = validate(video(), creator(allowed_modes=("draft",)))
    assert any("not allowed for this account" in p for p in problems)


@pytest.mark.parametrize(("flag", "disabled"), [("allow_comment", "comment_disabled"),
                                                ("allow_duet", "duet_disabled"),
                                                ("allow_stitch", "stitch_disabled")])
def test_interactions_the_creator_disabled_cannot_be_allowed(flag, disabled):
    assert validate(video(**{flag: True}), creator()) == []
    assert validate(video(**{flag: True}), creator(**{disabled: True}))


def test_disclosure_on_needs_at_least_one_box():
    assert validate(video(disclose=True), creator()) == [DISCLOSURE_NEEDS_CHOICE]
    assert validate(video(disclose=True, brand_organic=True), creator()) == []
    assert validate(video(disclose=True, brand_content=True), creator()) == []
    assert validate(video(disclose=True, brand_organic=True, brand_content=True),
                    creator()) == []


def test_branded_content_cannot_be_private():
    problems = validate(video(disclose=True, brand_content=True, privacy_level="SELF_ONLY"),
                        creator())
    assert any(BRANDED_NOT_PRIVATE in p for p in problems)
    # "Your brand" alone may be private.
    assert validate(video(disclose=True, brand_organic=True, privacy_level="SELF_ONLY"),
                    creator()) == []
    choices = privacy_choices(creator(), brand_content=True)
    assert choices["SELF_ONLY"] == BRANDED_NOT_PRIVATE
    assert choices["PUBLIC_TO_EVERYONE"] is None
    assert all(v is None for v in privacy_choices(creator(), brand_content=False).values())


def test_labels_and_declarations_follow_the_guidelines():
    assert disclosure_label("direct", False, False) is None  # no label by default
    assert disclosure_label("direct", True, False) == \
        "Your video will be labeled as 'Promotional content'"
    assert disclosure_label("photo", False, True) == \
        "Your photo will be labeled as 'Paid partnership'"
    assert disclosure_label("direct", True, True) == \
        "Your video will be labeled as 'Paid partnership'"
    text, links = declaration(False, False)
    assert text == "By posting, you agree to TikTok's Music Usage Confirmation."
    assert links == [("Music Usage Confirmation", MUSIC_USAGE_URL)]
    assert declaration(True, False)[0] == text
    both = declaration(True, True)
    assert both == declaration(False, True)
    assert both[0] == ("By posting, you agree to TikTok's Branded Content Policy and Music "
                       "Usage Confirmation.")
    assert [u for _, u in both[1]] == [
        "https://www.tiktok.com/legal/page/global/bc-policy/en", MUSIC_USAGE_URL]


def test_caption_limit_applies_to_direct_posts_only():
    assert validate(video(caption="a" * 2201), creator())
    draft = video(mode="draft", caption="a" * 5000, privacy_level=None)
    assert validate(draft, creator()) == []  # drafts carry no caption nor privacy


def test_photo_posts():
    photos = PhotoUrls(("https://cdn.example.com/a.jpg", "https://cdn.example.com/b.webp"), 1)
    ok = PostRequest(open_id="-000abc", mode="photo", source=photos, caption="d" * 4000,
                     photo_title="t" * 90, privacy_level="SELF_ONLY", allow_comment=True)
    assert validate(ok, creator()) == []
    assert validate(replace(ok, photo_title="t" * 91), creator())
    assert validate(replace(ok, caption="d" * 4001), creator())
    assert any("Duet or Stitch" in p for p in validate(replace(ok, allow_duet=True), creator()))
    many = PhotoUrls(tuple(f"https://cdn.example.com/{i}.jpg" for i in range(36)))
    assert any("1 to 35" in p for p in validate(replace(ok, source=many), creator()))
    assert any("cover" in p for p in validate(replace(ok, source=PhotoUrls(photos.urls, 2)),
                                              creator()))
    assert validate(replace(ok, source=FileSource(Path("a.jpg"))), creator())


@pytest.mark.parametrize("url", ["http://cdn.example.com/v.mp4", "https://10.0.0.1/v.mp4",
                                 "https://user:pw@cdn.example.com/v.mp4", "ftp://x/v.mp4"])
def test_pull_urls_must_be_https_on_a_domain(url):
    assert validate(video(source=UrlSource(url)), creator())


def test_a_good_pull_url_passes():
    assert validate(video(source=UrlSource("https://media.example.com/v/1.mp4")),
                    creator()) == []
