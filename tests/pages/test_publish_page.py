"""The Publish page with AppTest against the embedded sandbox: every rule of TikTok's Content
Sharing Guidelines (https://developers.tiktok.com/doc/content-sharing-guidelines) as the page
draws it, with the sandbox's demo creators (sandbox/catalog.py):

- lunakitchen: public account, every interaction allowed;
- quietpotter: private account (duet and stitch disabled, follower-only privacy options);
- trailrunnerjo: public, comments and stitch switched off by the creator.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

import services.publishing
from dashboard.publish_form import PRIVACY_PLACEHOLDER
from services.publishing import (
    BRANDED_CONTENT_POLICY_URL,
    BRANDED_NOT_PRIVATE,
    DISCLOSURE_NEEDS_CHOICE,
    MUSIC_USAGE_URL,
)
from tests.media import make_not_a_video, make_video
from tests.pages.conftest import connect_demo, current_runtime, open_page, texts

BASIC = ("user.info.basic", "user.info.profile", "user.info.stats", "video.list")
PUBLISHING = (*BASIC, "video.publish", "video.upload")
CREATOR_INFO = "/v2/post/publish/creator_info/query/"
INIT_PATHS = (
    "/v2/post/publish/video/init/",
    "/v2/post/publish/inbox/video/init/",
    "/v2/post/publish/content/init/",
)


def connect(creator: str = "lunakitchen", scopes=PUBLISHING):
    rt = current_runtime()
    account = connect_demo(rt, creator, requested=tuple(scopes))
    return rt, account


def everything(at) -> str:
    """All text a person reads, including st.text (plain) elements."""
    return texts(at) + "\n" + "\n".join(str(t.value) for t in at.text)


def calls(rt, path: str) -> int:
    log = requests.get(
        f"{rt.settings.api_base_url}/_sandbox/requests", params={"path": path}, timeout=10
    ).json()
    return len(log)


def upload(at, path, mime="video/mp4"):
    at.file_uploader[0].set_value((path.name, path.read_bytes(), mime))
    return at.run()


@pytest.fixture
def video(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=1, fps=24, width=360, height=640)


# ---------------------------------------------------------------- 1. creator info


def test_without_accounts_the_page_points_to_accounts():
    at = open_page("publish")
    assert not at.exception
    assert "No account to post to" in texts(at)
    assert any("accounts" in str(link.proto.page) for link in at.get("page_link"))


def test_nickname_is_shown_and_creator_info_is_fetched_on_every_render():
    rt, _ = connect()
    at = open_page("publish")
    assert not at.exception, at.exception
    assert "Posting to" in texts(at)
    assert "Luna's Kitchen (@lunakitchen)" in [t.value for t in at.text]
    first = calls(rt, CREATOR_INFO)
    assert first >= 1
    at.text_area(key="publish_caption").input("hello").run()
    at.run()
    assert calls(rt, CREATOR_INFO) == first + 2  # never cached: once per run


def test_creator_who_cannot_post_stops_the_form_with_the_reason():
    rt, _ = connect()
    requests.post(
        f"{rt.settings.api_base_url}/_sandbox/posts/ban",
        json={"creator": "lunakitchen", "banned": True},
        timeout=10,
    ).raise_for_status()
    at = open_page("publish")
    assert not at.exception
    assert "cannot post right now — try again later" in at.error[0].value
    assert "Luna's Kitchen (@lunakitchen)" in [t.value for t in at.text]  # still says who
    assert any("blocked this creator from posting" in t.value for t in at.text)  # why
    assert not [b for b in at.button if b.key == "publish_post"]
    assert not [s for s in at.selectbox if s.key == "publish_privacy"]


def test_hostile_nickname_is_plain_text(monkeypatch):
    connect()
    hostile = "**Boss** <script>alert(1)</script> :red[x] [click](https://evil.example)"
    real = services.publishing.fetch_creator_info
    monkeypatch.setattr(
        services.publishing,
        "fetch_creator_info",
        lambda *a, **kw: replace(real(*a, **kw), nickname=hostile),
    )
    at = open_page("publish")
    assert not at.exception
    assert f"{hostile} (@lunakitchen)" in [t.value for t in at.text]
    assert not any(hostile in str(m.value) for m in at.markdown)


# ---------------------------------------------------------------- modes and the grant


def test_modes_follow_the_grant():
    connect()
    at = open_page("publish")
    assert at.radio(key="publish_mode").options == [
        "Post now",
        "Send to TikTok drafts",
        "Photo post",
    ]
    assert not [b for b in at.button if b.key == "publish_grant_more"]


def test_drafts_only_grant_hides_direct_and_photo_and_offers_grant_more():
    connect(scopes=(*BASIC, "video.upload"))
    at = open_page("publish")
    assert not at.exception, at.exception
    assert at.radio(key="publish_mode").options == ["Send to TikTok drafts"]
    page = texts(at)
    assert "Post now needs permission to post videos directly" in page
    assert "video.publish" in at.button(key="publish_grant_more").help


def test_no_posting_permission_says_which_is_missing():
    connect(scopes=BASIC)
    at = open_page("publish")
    assert not at.exception
    page = texts(at)
    assert "needs permission to post videos directly" in page
    assert "needs permission to send videos to the creator's TikTok drafts" in page
    assert not [r for r in at.radio if r.key == "publish_mode"]
    assert at.button(key="publish_grant_more").label == "Grant more"


# ---------------------------------------------------------------- 2. metadata


def test_privacy_has_no_default_and_only_the_creators_options():
    connect()
    at = open_page("publish")
    privacy = at.selectbox(key="publish_privacy")
    assert privacy.value is None
    assert privacy.proto.placeholder == PRIVACY_PLACEHOLDER
    assert privacy.options == ["Everyone", "Friends (followers you follow back)", "Only me"]


def test_private_account_gets_follower_options():
    connect("quietpotter")
    at = open_page("publish")
    assert at.selectbox(key="publish_privacy").options == [
        "Followers",
        "Friends (followers you follow back)",
        "Only me",
    ]


def test_interactions_and_toggles_are_off_by_default():
    connect()
    at = open_page("publish")
    for key in ("publish_allow_comment", "publish_allow_duet", "publish_allow_stitch"):
        assert at.checkbox(key=key).value is False
        assert at.checkbox(key=key).disabled is False
    assert at.toggle(key="publish_disclose").value is False
    assert at.toggle(key="publish_aigc").value is False
    assert not any("labeled as" in i.value for i in at.info)  # no label prompt by default


def test_interactions_the_creator_disabled_are_greyed_out_with_why():
    connect("trailrunnerjo")
    at = open_page("publish")
    comment, duet, stitch = (
        at.checkbox(key=f"publish_allow_{k}") for k in ("comment", "duet", "stitch")
    )
    assert comment.disabled and stitch.disabled and not duet.disabled
    assert "comments" in comment.help and "Stitch" in stitch.help
    assert comment.value is False and stitch.value is False


def test_private_account_cannot_allow_duet_or_stitch():
    connect("quietpotter")
    at = open_page("publish")
    assert at.checkbox(key="publish_allow_duet").disabled
    assert at.checkbox(key="publish_allow_stitch").disabled
    assert not at.checkbox(key="publish_allow_comment").disabled


def test_photo_post_shows_only_allow_comment_and_its_own_limits():
    connect()
    at = open_page("publish")
    at.radio(key="publish_mode").set_value("photo").run()
    keys = {c.key for c in at.checkbox}
    assert "publish_allow_comment" in keys
    assert not keys & {"publish_allow_duet", "publish_allow_stitch"}
    page = texts(at)
    assert "0 / 90 characters" in page and "0 / 4,000 characters" in page
    assert not [n for n in at.number_input if n.key == "publish_cover_ms"]


def test_drafts_explain_that_the_creator_chooses_settings_in_tiktok():
    connect()
    at = open_page("publish")
    at.radio(key="publish_mode").set_value("draft").run()
    page = texts(at)
    assert "chosen by the creator in TikTok" in page
    assert not [s for s in at.selectbox if s.key == "publish_privacy"]
    assert at.button(key="publish_post").label == "Send to TikTok drafts"


def test_caption_counter_counts_utf16_units():
    connect()
    at = open_page("publish")
    assert "0 / 2,200 characters" in texts(at)
    at.text_area(key="publish_caption").input("hi 👨‍👩‍👧‍👦 🇯🇵").run()
    assert "19 / 2,200 characters" in texts(at)  # "hi " 3 + family 11 + " " 1 + flag 4
    at.text_area(key="publish_caption").input("😀" * 1101).run()
    assert "2,202 / 2,200 characters" in texts(at) and "too long" in texts(at)


def test_music_usage_declaration_with_link_above_post():
    connect()
    at = open_page("publish")
    statement = [m.value for m in at.markdown if m.value.startswith("By posting")]
    assert len(statement) == 1
    assert statement[0] == (
        f"By posting, you agree to TikTok's [Music Usage Confirmation]({MUSIC_USAGE_URL})."
    )
    assert BRANDED_CONTENT_POLICY_URL not in statement[0]


# ---------------------------------------------------------------- 3-4. disclosure


def _ready_form(at, video):
    at = upload(at, video)
    assert not at.exception, at.exception
    at.selectbox(key="publish_privacy").set_value("PUBLIC_TO_EVERYONE").run()
    return at


def test_valid_form_enables_post(video):
    connect()
    at = open_page("publish")
    post = at.button(key="publish_post")
    assert post.disabled and "Choose who can see this post" in post.help
    at = _ready_form(at, video)
    assert at.button(key="publish_post").disabled is False, at.button(key="publish_post").help


def test_disclosure_on_without_a_choice_disables_post_with_exact_hover_text(video):
    connect()
    at = _ready_form(open_page("publish"), video)
    at.toggle(key="publish_disclose").set_value(True).run()
    post = at.button(key="publish_post")
    assert post.disabled
    assert post.help == DISCLOSURE_NEEDS_CHOICE
    assert at.checkbox(key="publish_your_brand").value is False
    assert at.checkbox(key="publish_branded").value is False
    assert not any("labeled as" in i.value for i in at.info)


def test_your_brand_is_promotional_content_and_keeps_the_music_statement(video):
    connect()
    at = _ready_form(open_page("publish"), video)
    at.toggle(key="publish_disclose").set_value(True).run()
    at.checkbox(key="publish_your_brand").check().run()
    assert at.button(key="publish_post").disabled is False
    assert "Your video will be labeled as 'Promotional content'" in [i.value for i in at.info]
    statement = next(m.value for m in at.markdown if m.value.startswith("By posting"))
    assert statement == (
        f"By posting, you agree to TikTok's [Music Usage Confirmation]({MUSIC_USAGE_URL})."
    )


@pytest.mark.parametrize("also_your_brand", [False, True])
def test_branded_content_is_paid_partnership_with_the_policy_statement(video, also_your_brand):
    connect()
    at = _ready_form(open_page("publish"), video)
    at.toggle(key="publish_disclose").set_value(True).run()
    if also_your_brand:
        at.checkbox(key="publish_your_brand").check().run()
    at.checkbox(key="publish_branded").check().run()
    infos = [i.value for i in at.info]
    assert "Your video will be labeled as 'Paid partnership'" in infos
    assert not any("Promotional content" in i for i in infos)
    statement = next(m.value for m in at.markdown if m.value.startswith("By posting"))
    assert statement == (
        f"By posting, you agree to TikTok's [Branded Content Policy]({BRANDED_CONTENT_POLICY_URL})"
        f" and [Music Usage Confirmation]({MUSIC_USAGE_URL})."
    )


def test_branded_content_first_takes_only_me_out_of_privacy():
    connect()
    at = open_page("publish")
    at.toggle(key="publish_disclose").set_value(True).run()
    at.checkbox(key="publish_branded").check().run()
    privacy = at.selectbox(key="publish_privacy")
    assert "Only me" not in privacy.options
    assert BRANDED_NOT_PRIVATE in privacy.help


def test_only_me_first_disables_branded_content_and_says_why():
    connect()
    at = open_page("publish")
    at.selectbox(key="publish_privacy").set_value("SELF_ONLY").run()
    at.toggle(key="publish_disclose").set_value(True).run()
    branded = at.checkbox(key="publish_branded")
    assert branded.disabled and branded.value is False
    assert branded.help == BRANDED_NOT_PRIVATE
    assert BRANDED_NOT_PRIVATE in texts(at)


# ---------------------------------------------------------------- media pre-flight


def test_bad_media_is_listed_with_a_fix_before_any_tiktok_call(tmp_path):
    rt, _ = connect()
    at = open_page("publish")
    at = upload(at, make_not_a_video(tmp_path / "holiday.mp4"))
    assert not at.exception
    problems = [t.value for t in at.text if t.value.startswith("•")]
    assert problems and "How to fix:" in problems[0] and "PNG" in problems[0]
    at.selectbox(key="publish_privacy").set_value("PUBLIC_TO_EVERYONE").run()
    assert at.button(key="publish_post").disabled
    assert "Fix the media problems" in at.button(key="publish_post").help
    assert sum(calls(rt, p) for p in INIT_PATHS) == 0


def test_too_small_video_is_refused_in_preflight(tmp_path):
    connect()
    at = upload(
        open_page("publish"),
        make_video(tmp_path / "tiny.mp4", seconds=1, fps=24, width=320, height=240),
    )
    problems = "\n".join(t.value for t in at.text)
    assert "width is 320 px" in problems


def test_preview_and_facts_of_the_uploaded_video(video):
    connect()
    at = upload(open_page("publish"), video)
    assert at.get("video"), "no preview"
    assert "MP4 · h264 · 360×640 · 24 fps" in texts(at)


def test_a_file_placed_in_the_server_folder_can_be_picked(tmp_path, video):
    rt, _ = connect()
    folder = rt.settings.data_dir / "uploads" / "server"
    folder.mkdir(parents=True)
    (folder / "big-launch.mp4").write_bytes(video.read_bytes())
    at = open_page("publish")
    at.radio(key="publish_source").set_value("server").run()
    assert str(folder) in [t.value for t in at.text]
    at.selectbox(key="publish_server_file").set_value("big-launch.mp4").run()
    assert not at.exception
    assert "MP4 · h264 · 360×640 · 24 fps" in texts(at)


# ---------------------------------------------------------------- 5. posting and the outcome


def advance(rt, seconds: float) -> None:
    requests.post(
        f"{rt.settings.api_base_url}/_sandbox/clock", json={"advance": seconds}, timeout=10
    ).raise_for_status()


def test_quotas_are_shown_before_posting():
    connect()
    at = open_page("publish")
    assert "Posts in the last 24 h through Reelboard: 0 of about 15" in texts(at)
    at.radio(key="publish_mode").set_value("draft").run()
    assert "Pending drafts in the last 24 h: 0 of 5" in texts(at)


def test_post_now_uploads_then_follows_the_status_until_published(video):
    rt, _ = connect()
    at = _ready_form(open_page("publish"), video)
    at.text_area(key="publish_caption").input("Launch day #reelboard").run()
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    assert calls(rt, "/v2/post/publish/video/init/") == 1
    assert at.session_state["publish_job"] is not None
    assert "TikTok may take a few minutes" in everything(at)
    advance(rt, 30)  # past the sandbox's processing and moderation delays
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["**Posted** · TikTok status: PUBLISH_COMPLETE"]
    assert "Posted to @lunakitchen. The post is live." in [t.value for t in at.text]
    assert next(b.proto.url for b in at.link_button).startswith(
        "https://www.tiktok.com/@lunakitchen/video/"
    )
    history = at.dataframe[0].value
    assert list(history["caption"]) == ["Launch day #reelboard"]
    assert list(history["mode"]) == ["Post now"]


def test_a_second_click_does_not_post_again(video):
    rt, _ = connect()
    at = _ready_form(open_page("publish"), video)
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    post = at.button(key="publish_post")  # redrawn right after the first click
    assert post.disabled and post.help.startswith("This post was sent (job #1)")
    assert calls(rt, "/v2/post/publish/video/init/") == 1


def test_a_second_tab_posting_the_same_video_is_already_queued(video):
    rt, _ = connect()
    first = _ready_form(open_page("publish"), video)
    first.button(key="publish_post").click().run()
    second = _ready_form(open_page("publish"), video)  # another browser tab, same post
    assert second.button(key="publish_post").disabled is False
    second.button(key="publish_post").click().run()
    assert not second.exception, second.exception
    assert any("Already queued" in i.value for i in second.info)
    assert calls(rt, "/v2/post/publish/video/init/") == 1


def test_after_posting_post_stays_disabled_until_new_post(video):
    connect()
    at = _ready_form(open_page("publish"), video)
    at.text_area(key="publish_caption").input("first").run()
    at.button(key="publish_post").click().run()
    at.run()
    post = at.button(key="publish_post")
    assert post.disabled and post.help.startswith("This post was sent (job #1)")
    at.button(key="publish_new").click().run()
    assert not at.exception, at.exception
    assert at.text_area(key="publish_caption").value == ""
    assert at.selectbox(key="publish_privacy").value is None
    assert not at.file_uploader[0].value
    assert "publish_job" not in at.session_state
    assert "needs a video file" in at.button(key="publish_post").help


def test_drafts_reach_the_creators_inbox_with_what_to_do_next(video):
    rt, _ = connect()
    at = open_page("publish")
    at.radio(key="publish_mode").set_value("draft").run()
    at = upload(at, video)
    assert at.button(key="publish_post").disabled is False, at.button(key="publish_post").help
    at.button(key="publish_post").click().run()
    advance(rt, 30)
    at.run()
    assert not at.exception, at.exception
    assert any("TikTok drafts" in s.value and "SEND_TO_USER_INBOX" in s.value for s in at.success)
    assert "notification in the TikTok app" in everything(at)
    # Said once: the outcome already carries the note, a caption under it repeated it.
    assert everything(at).count("notification in the TikTok app") == 1
    assert calls(rt, "/v2/post/publish/inbox/video/init/") == 1


def test_refused_post_says_why_whether_to_retry_and_the_log_id(video):
    connect("freshbrand.lab")  # the app is unaudited for this public account
    at = _ready_form(open_page("publish"), video)
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("**Not posted**") for e in at.error)
    page = everything(at)
    assert "private" in page.lower()
    assert "Posting the same thing again will fail the same way" in page
    assert "TikTok log id:" in page


def test_hostile_caption_is_sent_as_typed_and_shown_as_text(video):
    rt, _ = connect()
    hostile = "<img src=x onerror=alert(1)> **bold** :red[x] $x$ [a](javascript:alert(1))"
    at = _ready_form(open_page("publish"), video)
    at.text_area(key="publish_caption").input(hostile).run()
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["caption"]) == [hostile]
    assert not any(hostile in str(m.value) for m in at.markdown)
    posts = requests.get(
        f"{rt.settings.api_base_url}/_sandbox/posts", params={"creator": "lunakitchen"}, timeout=10
    ).json()
    assert hostile in str(posts)


def test_video_url_must_be_https_before_post_is_enabled():
    connect()
    at = open_page("publish")
    at.radio(key="publish_source").set_value("url").run()
    at.text_input(key="publish_url").input("http://cdn.example.com/v.mp4").run()
    at.selectbox(key="publish_privacy").set_value("PUBLIC_TO_EVERYONE").run()
    post = at.button(key="publish_post")
    assert post.disabled and "must start with https://" in post.help
    at.text_input(key="publish_url").input("https://cdn.example.com/v.mp4").run()
    assert at.button(key="publish_post").disabled is False


def test_photo_post_takes_at_most_35_urls_and_a_cover():
    connect()
    at = open_page("publish")
    at.radio(key="publish_mode").set_value("photo").run()
    urls = "\n".join(f"https://cdn.example.com/p{i}.jpg" for i in range(36))
    at.text_area(key="publish_photo_urls").input(urls).run()
    at.selectbox(key="publish_privacy").set_value("PUBLIC_TO_EVERYONE").run()
    post = at.button(key="publish_post")
    assert post.disabled and "1 to 35 photos" in post.help
    at.text_area(key="publish_photo_urls").input("\n".join(urls.split("\n")[:3])).run()
    at.number_input(key="publish_cover").set_value(2).run()
    assert at.button(key="publish_post").disabled is False
    assert at.number_input(key="publish_cover").max == 3


def test_audit_checklist_lists_every_guideline_rule_in_order():
    from dashboard.publish_audit import RULES

    connect()
    at = open_page("publish")
    expander = next(e for e in at.expander if "audit checklist" in e.label)
    lines = [m.value for m in expander.markdown]
    assert [r.ref for r in RULES] == [
        "1",
        "1a",
        "1b",
        "1c",
        "2a",
        "2b",
        "2c",
        "2d",
        "3",
        "3a",
        "3b",
        "3c",
        "3d",
        "4",
        "5a",
        "5b",
        "5c",
        "5d",
        "5e",
    ]
    assert len(lines) == len(RULES)
    for line, rule in zip(lines, RULES, strict=True):
        assert line.startswith(f"**{rule.ref}. {rule.rule}**") and rule.how in line


def test_lost_init_answer_is_unknown_never_resent_and_a_person_decides(video):
    rt, _ = connect()
    requests.post(
        f"{rt.settings.api_base_url}/_sandbox/faults",
        json={"kind": "server_error", "path": "/v2/post/publish/video/init/", "count": 1},
        timeout=10,
    ).raise_for_status()
    at = _ready_form(open_page("publish"), video)
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    assert any(w.value.startswith("**Outcome unknown**") for w in at.warning)
    assert calls(rt, "/v2/post/publish/video/init/") == 1
    assert at.button(key="publish_post").disabled  # not re-sent from the form either
    at.button(key="publish_not_posted").click().run()
    assert any(e.value.startswith("**Not posted**") for e in at.error)
    assert at.button(key="publish_post").disabled is False  # now an explicit repost is allowed
    assert calls(rt, "/v2/post/publish/video/init/") == 1


def test_a_moment_when_the_creator_cannot_post_keeps_what_was_typed():
    rt, _ = connect()

    def ban(banned: bool) -> None:
        requests.post(
            f"{rt.settings.api_base_url}/_sandbox/posts/ban",
            json={"creator": "lunakitchen", "banned": banned},
            timeout=10,
        ).raise_for_status()

    at = open_page("publish")
    at.text_area(key="publish_caption").input("keep me").run()
    at.toggle(key="publish_disclose").set_value(True).run()
    ban(True)
    at.run()
    assert not [t for t in at.text_area if t.key == "publish_caption"]  # the form stopped
    ban(False)
    at.run()
    assert at.text_area(key="publish_caption").value == "keep me"
    assert at.toggle(key="publish_disclose").value is True


def test_video_longer_than_the_creator_may_post_is_refused_before_any_call(tmp_path):
    rt, _ = connect("trailrunnerjo")  # creator_info: max_video_post_duration_sec = 300
    # One frame a second keeps the file small; its frame rate is listed as a problem too.
    long = make_video(tmp_path / "long.mp4", seconds=301, fps=1, width=360, height=360)
    at = upload(open_page("publish"), long)
    problems = "\n".join(t.value for t in at.text if t.value.startswith("•"))
    assert "5 min 01 s long" in problems and "at most 5 min 00 s" in problems
    assert "Trim it to 5 min 00 s or less." in problems
    at.selectbox(key="publish_privacy").set_value("PUBLIC_TO_EVERYONE").run()
    assert at.button(key="publish_post").disabled
    assert sum(calls(rt, p) for p in INIT_PATHS) == 0


def test_an_interrupted_upload_resumes_with_the_same_link_not_a_new_post(video):
    rt, _ = connect()
    requests.post(
        f"{rt.settings.api_base_url}/_sandbox/faults",
        json={"kind": "server_error", "path": "/upload/video/", "count": 4},
        timeout=10,
    ).raise_for_status()  # every attempt at the only chunk fails
    at = _ready_form(open_page("publish"), video)
    at.button(key="publish_post").click().run()
    assert not at.exception, at.exception
    assert any(w.value.startswith("**Upload not finished**") for w in at.warning)
    assert any("Upload interrupted" in t.value for t in at.text)
    at.button(key="publish_resume").click().run()
    assert not at.exception, at.exception
    advance(rt, 30)
    at.run()
    assert [s.value for s in at.success] == ["**Posted** · TikTok status: PUBLISH_COMPLETE"]
    assert calls(rt, "/v2/post/publish/video/init/") == 1


def test_a_typed_url_that_is_not_https_is_never_previewed_nor_read_from_disk(tmp_path):
    # st.video takes a string that is not a URL as a path on the server: a typed path made
    # the server read that file and serve it to the browser; anything else crashed the page.
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the browser")
    connect()
    at = open_page("publish")
    at.radio(key="publish_source").set_value("url").run()
    for typed in (str(secret), "javascript:alert(1)//<script>", "file:///etc/passwd", "https://"):
        at.text_input(key="publish_url").input(typed).run()
        assert not at.exception, (typed, at.exception)
        assert len(at.get("video")) == 0, typed
        assert at.button(key="publish_post").disabled
    at.text_input(key="publish_url").input("https://cdn.example.com/v.mp4").run()
    videos = at.get("video")
    assert len(videos) == 1 and videos[0].proto.url == "https://cdn.example.com/v.mp4"


def test_typed_photo_urls_are_never_read_from_disk(tmp_path):
    picture = tmp_path / "private.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    connect()
    at = open_page("publish")
    at.radio(key="publish_mode").set_value("photo").run()
    before = len(at.get("image"))  # the creator's avatar
    at.text_area(key="publish_photo_urls").input(f"{picture}\njavascript:x").run()
    assert not at.exception, at.exception
    assert len(at.get("image")) == before
    assert "Only links that start with https:// are previewed." in texts(at)
    at.text_area(key="publish_photo_urls").input("https://cdn.example.com/a.jpg").run()
    assert not at.exception and len(at.get("image")) == before + 1
    assert at.get("image")[-1].value == ["https://cdn.example.com/a.jpg"]
